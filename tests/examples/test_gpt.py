"""The character-level GPT example: beats a bigram model; the KV cache changes nothing.

Its shared behaviour (seeds, resume, torchrun, errors, CUDA) is in test_examples_common.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from example_runs import assert_bars, run_example


def test_dry_run(tmp_path: Path) -> None:
    metrics = run_example("gpt", tmp_path, "--dry-run")
    assert metrics["steps"] == 10
    assert metrics["kv_cache_equals_no_cache_greedy"]
    assert metrics["kv_cache_equals_no_cache_sampled"]


@pytest.mark.slow
def test_quality_bar_with_defaults(tmp_path: Path) -> None:
    metrics = run_example("gpt", tmp_path)
    # The bigram model is fitted to the same training text by the same run.
    assert_bars(metrics, "below_bigram_by_half_a_nat")
    assert metrics["validation_loss"] <= metrics["bigram_validation_loss"] - 0.5, metrics
    assert metrics["kv_cache_equals_no_cache_greedy"]
    assert metrics["kv_cache_equals_no_cache_sampled"]
    assert len(metrics["samples"]) == 3
    assert (tmp_path / "loss.png").is_file()


def test_own_text_file(tmp_path: Path) -> None:
    text = tmp_path / "text.txt"
    text.write_text("abcabd (xyz) " * 400, encoding="utf-8")
    metrics = run_example("gpt", tmp_path / "out", "--data", str(text), "--dry-run")
    assert metrics["corpus"] == str(text) and metrics["vocabulary"] == 10
