"""examples/gan: the quality bars with default options, and what only the GAN does.

The conventions every example keeps (seeds, resume, torchrun, errors, CUDA) are checked in
test_examples_common.py.
"""

from __future__ import annotations

import math

import pytest
from example_runs import (
    DIGIT_BARS,
    RING_BARS,
    assert_judged,
    comparable,
    kill_after_checkpoint,
    run_example,
    run_failing,
)


@pytest.mark.slow
def test_digits_clear_the_judges_bar(tmp_path):
    m = run_example("gan", tmp_path)
    assert_judged(m, DIGIT_BARS)
    assert (tmp_path / "samples.png").stat().st_size < 150_000


@pytest.mark.slow
def test_ring_clears_the_judges_bar_distance_included(tmp_path):
    m = run_example("gan", tmp_path, "--data", "ring")
    assert_judged(m, RING_BARS)  # energy_test_not_rejected: the distance bar
    assert m["judge"]["samples"]["modes_covered"] == 8
    assert (tmp_path / "ring.png").stat().st_size < 150_000


@pytest.mark.parametrize("data", ["digits", "ring", "moons"])
def test_dry_run_writes_metrics_and_figures(tmp_path, data):
    m = run_example("gan", tmp_path, "--dry-run", "--data", data)
    assert m["steps"] == 20 and m["data"] == data
    assert {p.name for p in tmp_path.glob("*.png")} == set(m["figures"])


def test_minimax_loss_runs(tmp_path):
    m = run_example("gan", tmp_path, "--dry-run", "--loss", "minimax")
    assert m["loss"] == "minimax" and math.isfinite(m["history"][-1]["g_loss"])


def test_infogan_run_resumes_to_the_same_metrics(tmp_path):
    """The ring's default InfoGAN term adds Q and its optimiser to the checkpoint: a run killed
    after a checkpoint resumes to the metrics of one that was never stopped."""
    short = ("--data", "ring", "--dry-run", "--checkpoint-every", "4")
    whole = run_example("gan", tmp_path / "whole", *short)
    assert whole["codes"] == 8 and whole["info"] == 1.0
    kill_after_checkpoint("gan", tmp_path / "killed", *short)
    resumed = run_example("gan", tmp_path / "killed", *short, "--resume")
    assert resumed["seconds"]["steps_timed"] < resumed["steps"]  # it did resume
    assert comparable(resumed) == comparable(whole)


@pytest.mark.parametrize("args", [("--info", "-1"), ("--data", "ring", "--codes", "0")])
def test_infogan_options_are_checked(args):
    result = run_failing("gan", *args)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "--info" in lines[0], result.stderr
