"""examples/diffusion: the quality bars with default options, and the example conventions."""

from __future__ import annotations

import json

import pytest
from example_runs import (
    assert_digit_bars,
    comparable,
    cuda,
    kill_after_checkpoint,
    run_example,
    run_failing,
    run_torchrun,
)

pytest.importorskip("torch")
# A few seconds: a short chain (T = 100) keeps sampling cheap in the plumbing tests.
SHORT = ("--steps", "300", "--checkpoint-every", "20", "--diffusion-steps", "100")


@pytest.mark.slow
def test_digits_every_class_and_fd_nearer_real_than_gaussian(tmp_path):
    m = run_example("diffusion", tmp_path)
    assert_digit_bars(m)
    for figure in ("samples.png", "trajectory.png"):
        assert (tmp_path / figure).stat().st_size < 150_000


@pytest.mark.slow
def test_ring_energy_distance_within_twice_real_vs_real(tmp_path):
    m = run_example("diffusion", tmp_path, "--data", "ring")
    assert m["bars"] == {"every_mode_covered": True, "energy_within_2x_real": True}
    energy = m["judge"]["samples"]["energy_distance"]
    assert energy <= 2 * m["judge"]["real_vs_real"]["energy_distance"]


@pytest.fixture(scope="module")
def short_run(tmp_path_factory) -> dict:
    return run_example("diffusion", tmp_path_factory.mktemp("diffusion-short"), *SHORT)


@pytest.mark.parametrize("data", ["digits", "ring", "moons"])
def test_dry_run_writes_metrics_and_figures(tmp_path, data):
    m = run_example("diffusion", tmp_path, "--dry-run", "--data", data)
    assert m["steps"] == 3 and m["data"] == data
    assert {p.name for p in tmp_path.glob("*.png")} == set(m["figures"])


def test_ddim_samples_with_fewer_network_calls(tmp_path):
    m = run_example("diffusion", tmp_path, "--dry-run", "--sampler", "ddim", "--sample-steps", "10")
    assert m["sampler"] == "ddim" and m["network_calls_per_sample"] == 10


def test_same_seed_same_metrics(tmp_path, short_run):
    again = run_example("diffusion", tmp_path, *SHORT)
    assert comparable(again) == comparable(short_run)


def test_killed_run_resumes_to_identical_metrics(tmp_path, short_run):
    kill_after_checkpoint("diffusion", tmp_path, *SHORT)
    resumed = run_example("diffusion", tmp_path, *SHORT, "--resume")
    assert comparable(resumed) == comparable(short_run)


def test_torchrun_two_processes_keep_identical_parameters(tmp_path):
    run_torchrun("diffusion", tmp_path, "--steps", "40", "--diffusion-steps", "100")
    m = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert m["world_size"] == 2
    assert len(m["parameter_digests"]) == 2 and len(set(m["parameter_digests"])) == 1


@pytest.mark.parametrize("args", [["--diffusion-steps", "10"], ["--sample-steps", "5000"],
                                  ["--ema", "1.5"], ["--device", "tpu"]])
def test_bad_input_is_one_line(args):
    result = run_failing("diffusion", *args)
    assert result.returncode == 2
    # One line, "<program>: error: ..." (argparse's own errors come after its usage line).
    assert "Traceback" not in result.stderr and "error: " in result.stderr.strip().splitlines()[-1]


@cuda
def test_cuda_run(tmp_path):
    m = run_example("diffusion", tmp_path, "--device", "cuda", *SHORT)
    assert m["device"].startswith("cuda")
