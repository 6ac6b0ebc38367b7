"""examples/diffusion: the quality bars with default options, and what only diffusion does.

The conventions every example keeps (seeds, resume, torchrun, errors, CUDA) are checked in
test_examples_common.py.
"""

from __future__ import annotations

import pytest
from example_runs import assert_bars, assert_digit_bars, run_example


@pytest.mark.slow
def test_digits_every_class_and_fd_nearer_real_than_gaussian(tmp_path):
    m = run_example("diffusion", tmp_path)
    assert_digit_bars(m)
    for figure in ("samples.png", "trajectory.png"):
        assert (tmp_path / figure).stat().st_size < 150_000


@pytest.mark.slow
def test_ring_energy_distance_within_twice_real_vs_real(tmp_path):
    m = run_example("diffusion", tmp_path, "--data", "ring")
    assert_bars(m, "every_mode_covered", "energy_within_2x_real")
    energy = m["judge"]["samples"]["energy_distance"]
    assert energy <= 2 * m["judge"]["real_vs_real"]["energy_distance"]


@pytest.mark.parametrize("data", ["digits", "ring", "moons"])
def test_dry_run_writes_metrics_and_figures(tmp_path, data):
    m = run_example("diffusion", tmp_path, "--dry-run", "--data", data)
    assert m["steps"] == 3 and m["data"] == data
    assert {p.name for p in tmp_path.glob("*.png")} == set(m["figures"])


def test_ddim_samples_with_fewer_network_calls(tmp_path):
    m = run_example("diffusion", tmp_path, "--dry-run", "--sampler", "ddim", "--sample-steps", "10")
    assert m["sampler"] == "ddim" and m["network_calls_per_sample"] == 10
