"""The attention example: hand-written attention equals PyTorch's kernel, causality holds."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from example_runs import cuda, run_example, run_failing


def test_dry_run(tmp_path: Path) -> None:
    metrics = run_example("attention", tmp_path, "--dry-run")
    assert metrics["checks"]["passed"]


def test_checks_and_worked_example_with_defaults(tmp_path: Path) -> None:
    metrics = run_example("attention", tmp_path)
    checks = metrics["checks"]
    assert checks["passed"]
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


def test_same_seed_same_metrics(tmp_path: Path) -> None:
    first = run_example("attention", tmp_path / "a", "--dry-run", "--seed", "3")
    second = run_example("attention", tmp_path / "b", "--dry-run", "--seed", "3")
    assert first == second


@pytest.mark.parametrize("args", [("--seed", "many"), ("--device", "tpu"), ("--bogus",)])
def test_bad_option_is_one_line_error(args: tuple[str, ...]) -> None:
    result = run_failing("attention", *args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "error" in result.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_unavailable_device_is_one_line_error() -> None:
    result = run_failing("attention", "--device", "cuda")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "CUDA" in result.stderr


@cuda
def test_cuda(tmp_path: Path) -> None:
    metrics = run_example("attention", tmp_path, "--device", "cuda")
    assert metrics["checks"]["passed"]
