"""The encoder-decoder Transformer example: reverses sequences of up to 16 digits, checked on
strings it never trained on, at every length.

Its shared behaviour (seeds, resume, torchrun, errors, CUDA) is in test_examples_common.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from example_runs import EXAMPLES, assert_bars, run_example, torch


def load_transformer():
    spec = importlib.util.spec_from_file_location(
        "transformer_example", EXAMPLES / "transformer" / "transformer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_held_out_strings_are_never_trained_on() -> None:
    transformer = load_transformer()
    generator = torch.Generator().manual_seed(0)
    source, _, _ = transformer.batch(20_000, generator)
    assert not transformer.held_out(source).any()
    lengths = (source != transformer.PAD).sum(1)
    assert set(lengths.tolist()) == set(range(1, 17))      # every trained length is drawn
    held, _, target = transformer.batch(4000, generator, (3, 16), split="held_out")
    assert transformer.held_out(held).all()
    # About an eighth of the strings of each length from 3 up is held out.
    anything, _, _ = transformer.batch(40_000, generator, (3, 16), uniform=True, split="any")
    share = float(transformer.held_out(anything).float().mean())
    assert 0.11 < share < 0.14, share
    # The training set and the held-out set share no string.
    as_text = lambda rows: {tuple(r.tolist()) for r in rows}  # noqa: E731
    assert not as_text(source) & as_text(held)


def test_dry_run(tmp_path: Path) -> None:
    metrics = run_example("transformer", tmp_path, "--dry-run")
    assert metrics["steps"] == 20 and 0 <= metrics["exact_match"] <= 1
    assert metrics["held_out_lengths"] == [3, 16]
    assert set(metrics["length_generalisation"]["exact_match_by_length"]) <= {
        str(n) for n in range(17, 25)}


@pytest.mark.slow
def test_quality_bar_with_defaults(tmp_path: Path) -> None:
    metrics = run_example("transformer", tmp_path)
    assert metrics["max_length"] >= 16
    # Both bars: overall, and at the worst length, on strings never trained on.
    assert_bars(metrics, "exact_match", "worst_length_exact_match")
    assert metrics["worst_length_exact_match"] == min(metrics["exact_match_by_length"].values())
    assert len(metrics["exact_match_by_length"]) == 14
    # Length generalisation is reported, not barred.
    assert 0 <= metrics["length_generalisation"]["exact_match"] <= 1
    assert (tmp_path / "training.png").is_file() and (tmp_path / "cross_attention.png").is_file()
