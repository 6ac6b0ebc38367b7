"""The encoder-decoder Transformer example: reverses sequences of up to 16 digits."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from example_runs import (
    comparable,
    cuda,
    kill_after_checkpoint,
    run_example,
    run_failing,
    run_torchrun,
)

SHORT = ("--steps", "12", "--checkpoint-every", "4", "--eval-size", "64")


def test_dry_run(tmp_path: Path) -> None:
    metrics = run_example("transformer", tmp_path, "--dry-run")
    assert metrics["steps"] == 20 and 0 <= metrics["exact_match"] <= 1


@pytest.mark.slow
def test_quality_bar_with_defaults(tmp_path: Path) -> None:
    metrics = run_example("transformer", tmp_path)
    assert metrics["max_length"] >= 16
    assert metrics["exact_match"] >= 0.99, metrics
    assert (tmp_path / "training.png").is_file() and (tmp_path / "cross_attention.png").is_file()


def test_same_seed_same_metrics(tmp_path: Path) -> None:
    first = run_example("transformer", tmp_path / "a", *SHORT)
    second = run_example("transformer", tmp_path / "b", *SHORT)
    assert comparable(first) == comparable(second)


def test_killed_run_resumes_to_the_same_metrics(tmp_path: Path) -> None:
    whole = run_example("transformer", tmp_path / "whole", *SHORT)
    kill_after_checkpoint("transformer", tmp_path / "resumed", *SHORT)
    resumed = run_example("transformer", tmp_path / "resumed", *SHORT, "--resume")
    assert comparable(resumed) == comparable(whole)


def test_two_processes_keep_identical_parameters(tmp_path: Path) -> None:
    run_torchrun("transformer", tmp_path, "--steps", "6", "--eval-size", "32")
    import json

    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["processes"] == 2
    digests = metrics["parameter_digests"]
    assert len(digests) == 2 and digests[0] == digests[1]


@pytest.mark.parametrize("args", [("--steps", "0"), ("--lr", "5"), ("--device", "tpu")])
def test_bad_option_is_one_line_error(args: tuple[str, ...]) -> None:
    result = run_failing("transformer", *args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_unavailable_device_is_one_line_error() -> None:
    result = run_failing("transformer", "--device", "cuda")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@cuda
def test_cuda(tmp_path: Path) -> None:
    metrics = run_example("transformer", tmp_path, "--device", "cuda", "--dry-run")
    assert metrics["device"] == "cuda"
