"""The encoder-decoder Transformer example: reverses sequences of up to 16 digits.

Its shared behaviour (seeds, resume, torchrun, errors, CUDA) is in test_examples_common.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from example_runs import assert_bars, run_example


def test_dry_run(tmp_path: Path) -> None:
    metrics = run_example("transformer", tmp_path, "--dry-run")
    assert metrics["steps"] == 20 and 0 <= metrics["exact_match"] <= 1


@pytest.mark.slow
def test_quality_bar_with_defaults(tmp_path: Path) -> None:
    metrics = run_example("transformer", tmp_path)
    assert metrics["max_length"] >= 16
    assert_bars(metrics, "exact_match")
    assert metrics["exact_match"] >= 0.99, metrics
    assert (tmp_path / "training.png").is_file() and (tmp_path / "cross_attention.png").is_file()
