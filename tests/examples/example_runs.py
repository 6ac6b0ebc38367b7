"""Run examples the way a reader would: as programs, in subprocesses.

Importing this module skips the test module that imports it when PyTorch is not installed
(the examples need it; ``make .venv/.test`` installs it), with that reason in the report.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="the examples need PyTorch: make .venv/.test")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
# CPU threads per example process: the two cores of the machine CI runs on, or one when
# pytest-xdist runs a worker on each core (two threads of one example would then contend with
# the other worker for the same cores and slow both down).
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": os.environ.get(
    "OMP_NUM_THREADS", "1" if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1
    else "2")}
# The keys every example's metrics.json carries (examples/README.md, "Conventions").
COMMON_KEYS = ("bars", "seconds", "device", "world_size", "seed", "steps")


def program(name: str) -> Path:
    return EXAMPLES / name / f"{name}.py"


def command_line(name: str, out: Path, *args: str) -> list[str]:
    """A run on the CPU unless the arguments name a device, without a progress bar."""
    device = () if "--device" in args else ("--device", "cpu")
    return [sys.executable, str(program(name)), *device, "--out", str(out), "--no-progress",
            *args]


def run_example(name: str, out: Path, *args: str, timeout: float = 600) -> dict:
    """Run an example to the end and return its metrics.json."""
    command = command_line(name, out, *args)
    result = subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"
    return json.loads((out / "metrics.json").read_text(encoding="utf-8"))


def run_failing(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(program(name)), *args], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=120)


def kill_after_checkpoint(name: str, out: Path, *args: str, timeout: float = 300) -> None:
    """Start an example and SIGKILL it once it has written a checkpoint."""
    process = subprocess.Popen(command_line(name, out, *args), cwd=ROOT, env=ENV,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = out / "checkpoint.pt"
    deadline = time.monotonic() + timeout
    try:
        while not checkpoint.exists():
            if process.poll() is not None:
                pytest.fail(f"{name} ended before writing a checkpoint")
            if time.monotonic() > deadline:
                pytest.fail(f"{name} wrote no checkpoint in {timeout} s")
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL, "killed mid-training, not finished"
    assert not (out / "metrics.json").exists()


def run_torchrun(name: str, out: Path, *args: str, timeout: float = 600) -> dict:
    """The example under torchrun with 2 CPU processes (gloo); returns its metrics.json."""
    env = {**ENV, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", *command_line(name, out, *args)[1:]]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    return json.loads((out / "metrics.json").read_text(encoding="utf-8"))


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")


def comparable(metrics: dict) -> dict:
    """Everything but the timings (``seconds``): no two runs share those, and
    reproducibility is about everything else."""
    return {k: v for k, v in metrics.items() if k != "seconds"}


def assert_bars(metrics: dict, *names: str) -> None:
    """metrics.json's bars are exactly NAMES, each recorded as runtime.bar records it, and
    every one passed; the test re-checks each verdict from its value and threshold."""
    bars = metrics["bars"]
    assert sorted(bars) == sorted(names), bars
    for name, record in bars.items():
        assert set(record) == {"value", "rule", "threshold", "passed"}, record
        holds = (record["value"] >= record["threshold"] if record["rule"] == ">="
                 else record["value"] <= record["threshold"])
        assert record["passed"] is holds, (name, record)
        assert holds, (name, record)


# The judge's bars (examples/judge.py), as every generative example records them.
DIGIT_BARS = ("not_copying", "precision_features", "recall_features", "precision_pixels",
              "recall_pixels", "every_class_at_least_4pct", "recognisable_vs_real")
RING_BARS = ("not_copying", "precision", "recall", "energy_test_not_rejected",
             "every_mode_covered", "near_a_mode_vs_real")


def assert_judged(metrics: dict, bars: tuple[str, ...], *extra: str) -> None:
    """The judge's bars BARS (and the example's own EXTRA bars) all recorded and passed, and
    the judge's real-vs-real reference reported as a distribution over re-splits."""
    assert_bars(metrics, *bars, *extra)
    judge = metrics["judge"]
    assert set(judge) >= {"samples", "real"}
    real = judge["real"]
    assert real["splits"] >= 10
    spread = real["kid"] if "kid" in real else real["energy"]
    assert set(spread) == {"mean", "std", "min", "max"} and spread["std"] > 0
