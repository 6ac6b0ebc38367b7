"""The character-level GPT example: beats a bigram model; the KV cache changes nothing."""

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

SHORT = ("--steps", "12", "--checkpoint-every", "4", "--width", "32", "--layers", "1")


def test_dry_run(tmp_path: Path) -> None:
    metrics = run_example("gpt", tmp_path, "--dry-run")
    assert metrics["steps"] == 10
    assert metrics["kv_cache_equals_no_cache_greedy"]
    assert metrics["kv_cache_equals_no_cache_sampled"]


@pytest.mark.slow
def test_quality_bar_with_defaults(tmp_path: Path) -> None:
    metrics = run_example("gpt", tmp_path)
    # The bigram model is fitted to the same training text by the same run.
    assert metrics["validation_loss"] <= metrics["bigram_validation_loss"] - 0.5, metrics
    assert metrics["kv_cache_equals_no_cache_greedy"]
    assert metrics["kv_cache_equals_no_cache_sampled"]
    assert len(metrics["samples"]) == 3
    assert (tmp_path / "loss.png").is_file()


def test_same_seed_same_metrics(tmp_path: Path) -> None:
    first = run_example("gpt", tmp_path / "a", *SHORT)
    second = run_example("gpt", tmp_path / "b", *SHORT)
    assert comparable(first) == comparable(second)


def test_killed_run_resumes_to_the_same_metrics(tmp_path: Path) -> None:
    whole = run_example("gpt", tmp_path / "whole", *SHORT)
    kill_after_checkpoint("gpt", tmp_path / "resumed", *SHORT)
    resumed = run_example("gpt", tmp_path / "resumed", *SHORT, "--resume")
    assert comparable(resumed) == comparable(whole)


def test_two_processes_keep_identical_parameters(tmp_path: Path) -> None:
    run_torchrun("gpt", tmp_path, "--steps", "6", "--width", "32", "--layers", "1")
    import json

    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["processes"] == 2
    digests = metrics["parameter_digests"]
    assert len(digests) == 2 and digests[0] == digests[1]


@pytest.mark.parametrize("args", [("--steps", "0"), ("--lr", "5"),
                                  ("--width", "30", "--heads", "4"),
                                  ("--data", "/nonexistent/text.txt")])
def test_bad_option_is_one_line_error(args: tuple[str, ...]) -> None:
    result = run_failing("gpt", *args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_unavailable_device_is_one_line_error() -> None:
    result = run_failing("gpt", "--device", "cuda")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_own_text_file(tmp_path: Path) -> None:
    text = tmp_path / "text.txt"
    text.write_text("abcabd (xyz) " * 400, encoding="utf-8")
    metrics = run_example("gpt", tmp_path / "out", "--data", str(text), "--dry-run")
    assert metrics["corpus"] == str(text) and metrics["vocabulary"] == 10


@cuda
def test_cuda(tmp_path: Path) -> None:
    metrics = run_example("gpt", tmp_path, "--device", "cuda", "--dry-run")
    assert metrics["device"] == "cuda"
