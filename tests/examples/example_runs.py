"""Run examples the way a reader would: as programs, in subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
# Two CPU threads per process: the machine CI runs on has two cores.
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": os.environ.get(
    "OMP_NUM_THREADS", "2")}


def program(name: str) -> Path:
    return EXAMPLES / name / f"{name}.py"


def run_example(name: str, out: Path, *args: str, timeout: float = 600
                ) -> dict:
    """Run an example to the end and return its metrics.json."""
    command = [sys.executable, str(program(name)), "--device", "cpu", "--out", str(out),
               "--no-progress", *args]
    result = subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"
    return json.loads((out / "metrics.json").read_text(encoding="utf-8"))


def run_failing(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(program(name)), *args], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=120)


def kill_after_checkpoint(name: str, out: Path, *args: str, timeout: float = 300) -> None:
    """Start an example and SIGKILL it once it has written a checkpoint."""
    command = [sys.executable, str(program(name)), "--device", "cpu", "--out", str(out),
               "--no-progress", *args]
    process = subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    checkpoint = out / "checkpoint.pt"
    deadline = time.monotonic() + timeout
    try:
        while not checkpoint.exists():
            if process.poll() is not None:
                pytest.fail(f"{name} ended before writing a checkpoint")
            if time.monotonic() > deadline:
                pytest.fail(f"{name} wrote no checkpoint in {timeout} s")
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL, "killed mid-training, not finished"
    assert not (out / "metrics.json").exists()


def run_torchrun(name: str, out: Path, *args: str, timeout: float = 600
                 ) -> subprocess.CompletedProcess:
    """The example under torchrun with 2 CPU processes (gloo)."""
    env = {**ENV, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", str(program(name)), "--device", "cpu", "--out", str(out),
               "--no-progress", *args]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    return result


cuda = pytest.mark.skipif(
    not __import__("torch").cuda.is_available(), reason="no CUDA device here")


def comparable(metrics: dict) -> dict:
    """Everything but the timings (``timing``, ``seconds``) and ``options``: no two runs
    share those, and reproducibility is about everything else."""
    return {k: v for k, v in metrics.items() if k not in ("timing", "seconds", "options")}


def assert_digit_bars(metrics: dict) -> None:
    """The GAN's and diffusion's bar on digits: every class at least 4% of the samples, and
    a Fréchet distance nearer the real-vs-real baseline than the Gaussian fit's."""
    assert metrics["bars"] == {"all_classes_at_least_4pct": True,
                               "fd_closer_to_real_than_gaussian": True}
    judge = metrics["judge"]
    samples = judge["samples"]
    assert samples["classes_present"] == 10 and samples["min_class_share"] >= 0.04
    fd = samples["frechet_distance"]
    assert fd - judge["real_vs_real"]["frechet_distance"] < \
        judge["gaussian_fit"]["frechet_distance"] - fd
