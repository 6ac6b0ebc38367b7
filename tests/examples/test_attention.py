"""The attention example: hand-written attention equals PyTorch's kernel, causality holds.

Its shared behaviour (seeds, one-line errors, torchrun, CUDA) is in test_examples_common.py.
"""

from __future__ import annotations

from pathlib import Path

from example_runs import assert_bars, run_example


def test_checks_and_worked_example_with_defaults(tmp_path: Path) -> None:
    metrics = run_example("attention", tmp_path)
    assert_bars(metrics, "equals_pytorch_sdpa", "causal_mask_leaks_nothing")
    checks = metrics["checks"]
    for key in ("sdpa_max_abs_diff_full", "sdpa_max_abs_diff_causal",
                "mha_max_abs_diff_full", "mha_max_abs_diff_causal"):
        assert checks[key] <= 1e-5, key
    assert checks["causal_max_change_from_later_positions"] == 0.0
    assert checks["causal_max_gradient_to_later_positions"] == 0.0
    example = metrics["worked_example"]
    for row in example["weights"] + example["causal_weights"]:
        assert abs(sum(row) - 1) < 1e-3
    for i, row in enumerate(example["causal_weights"]):
        assert all(w == 0 for w in row[i + 1:])
    assert (tmp_path / "attention_weights.png").stat().st_size > 0
