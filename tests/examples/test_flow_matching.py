"""examples/flow_matching: the judge's bars with default options, and what only flow matching does.

The conventions every example keeps (seeds, resume, torchrun, errors, CUDA) are checked in
test_examples_common.py.
"""

from __future__ import annotations

import pytest
from example_runs import DIGIT_BARS, RING_BARS, assert_judged, run_example


@pytest.mark.slow
def test_digits_clear_the_judges_bar(tmp_path):
    m = run_example("flow_matching", tmp_path)
    assert_judged(m, DIGIT_BARS)
    assert m["sampler"] == "heun" and m["network_calls_per_sample"] == 2 * m["sample_steps"]
    for figure in m["figures"]:
        assert (tmp_path / figure).stat().st_size < 150_000
    # Quality against steps: one Euler step is the average of the data's velocities, a blur the
    # judge does not recognise; a few Heun steps are far better.
    euler, heun = m["steps_sweep"]["euler"], m["steps_sweep"]["heun"]
    assert euler[0]["steps"] == 1 and euler[0]["recognisable"] < heun[3]["recognisable"]


@pytest.mark.slow
def test_ring_clears_the_judges_bar(tmp_path):
    m = run_example("flow_matching", tmp_path, "--data", "ring")
    assert_judged(m, RING_BARS)
    assert {"ring.png", "ring-paths.png", "ring-steps.png"} == set(m["figures"])


@pytest.mark.parametrize("data", ["digits", "ring", "moons"])
def test_dry_run_writes_metrics_and_figures(tmp_path, data):
    m = run_example("flow_matching", tmp_path, "--dry-run", "--data", data)
    assert m["steps"] == 20 and m["data"] == data
    assert {p.name for p in tmp_path.glob("*.png")} == set(m["figures"])


def test_euler_uses_one_network_call_a_step(tmp_path):
    m = run_example("flow_matching", tmp_path, "--dry-run", "--data", "ring",
                    "--sampler", "euler", "--sample-steps", "7")
    assert m["sampler"] == "euler" and m["network_calls_per_sample"] == 7
    for method, calls in (("euler", 1), ("heun", 2)):
        for row in m["steps_sweep"][method]:
            assert row["network_calls"] == calls * row["steps"]


def test_samplers_integrate_a_known_velocity_field():
    """dx/dt = -x from x(0) = 1 gives x(1) = e^-1: Euler's error is O(h), Heun's O(h^2)."""
    import math
    import sys

    from example_runs import EXAMPLES, torch

    sys.path.insert(0, str(EXAMPLES / "flow_matching"))
    import flow_matching

    def field(x, t):
        return -x

    x0 = torch.ones(1, 1, dtype=torch.float64)
    errors = {method: [abs(float(flow_matching.sample(field, x0, n, method)[0]) - math.exp(-1))
                       for n in (10, 20)] for method in ("euler", "heun")}
    assert errors["euler"][0] / errors["euler"][1] == pytest.approx(2, rel=0.1)
    assert errors["heun"][0] / errors["heun"][1] == pytest.approx(4, rel=0.1)
    assert errors["heun"][1] < errors["euler"][1] / 50
