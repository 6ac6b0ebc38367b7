"""What every example does the same way (examples/README.md, "Conventions"), checked for each.

One row of EXAMPLES per program; a new example joins by adding its row. Each test runs the
program as a reader would, in a subprocess: the same seed gives the same metrics, a run
killed after a checkpoint and resumed ends with the metrics of an uninterrupted one,
``torchrun`` with two processes keeps the parameters identical on both, a bad option is a
one-line error, metrics.json carries the common keys, and on a GPU (when there is one) the
same holds there.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from example_runs import (
    COMMON_KEYS,
    ROOT,
    comparable,
    cuda,
    kill_after_checkpoint,
    program,
    run_example,
    run_failing,
    run_torchrun,
    torch,
)


@dataclass(frozen=True)
class Example:
    name: str
    short: tuple[str, ...]             # a few seconds of work, with checkpoints if it trains
    torchrun: tuple[str, ...] = ()     # the arguments of the two-process run
    bad_options: tuple[tuple[str, ...], ...] = ()   # beyond those every example refuses
    trains: bool = True                # has --steps, --resume, checkpoints

    def __str__(self) -> str:
        return self.name


EXAMPLES = [
    Example("attention", ("--dry-run",), ("--dry-run",), trains=False),
    Example("transformer", ("--steps", "12", "--checkpoint-every", "4", "--eval-size", "64"),
            ("--steps", "6", "--eval-size", "32"), (("--lr", "5"),)),
    Example("gpt", ("--steps", "12", "--checkpoint-every", "4", "--width", "32", "--layers", "1"),
            ("--steps", "6", "--width", "32", "--layers", "1"),
            (("--lr", "5"), ("--width", "30", "--heads", "4"),
             ("--data", "/nonexistent/text.txt"))),
    # The generators' dry run (20 steps, a small evaluation) checkpoints mid-training.
    Example("vae", ("--dry-run", "--checkpoint-every", "4"), ("--dry-run",),
            (("--data", "idx"), ("--dropout", "1.5"))),
    Example("gan", ("--dry-run", "--checkpoint-every", "4"), ("--dry-run",),
            (("--data", "idx", "--data-dir", "/nonexistent"), ("--codes", "-1"))),
    Example("diffusion", ("--dry-run", "--checkpoint-every", "4"), ("--dry-run",),
            (("--diffusion-steps", "10"), ("--sample-steps", "5000"), ("--ema", "1.5"))),
    Example("flow_matching", ("--dry-run", "--checkpoint-every", "4"), ("--dry-run",),
            (("--ema", "1.5"), ("--lr", "0"), ("--sampler", "rk4"))),
]
TRAINING = [e for e in EXAMPLES if e.trains]
EVERY_EXAMPLE_REFUSES = (("--seed", "many"), ("--device", "tpu"), ("--bogus",))
EVERY_TRAINER_REFUSES = (("--steps", "0"), ("--checkpoint-every", "-1"), ("--precision", "fp8"))


@pytest.fixture(scope="module")
def short_runs(tmp_path_factory: pytest.TempPathFactory):
    """Each example's short run, run once and shared by the tests that compare with it."""
    runs: dict[str, dict] = {}

    def get(example: Example) -> dict:
        if example.name not in runs:
            out = tmp_path_factory.mktemp(f"{example.name}-short")
            runs[example.name] = run_example(example.name, out, *example.short)
        return runs[example.name]

    return get


@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_metrics_carry_the_common_keys(example: Example, short_runs) -> None:
    metrics = short_runs(example)
    assert list(metrics)[:len(COMMON_KEYS)] == list(COMMON_KEYS)
    assert metrics["device"] == "cpu" and metrics["world_size"] == 1 and metrics["seed"] == 0
    assert isinstance(metrics["steps"], int)
    assert metrics["bars"], "every example states at least one quality bar"
    for record in metrics["bars"].values():
        assert set(record) == {"value", "rule", "threshold", "passed"}
        assert record["rule"] in (">=", "<=") and isinstance(record["passed"], bool)
    assert metrics["seconds"]["total_wall"] > 0
    if example.trains:
        assert metrics["seconds"]["steps_timed"] == metrics["steps"]


@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_same_seed_same_metrics_other_seed_other_metrics(example: Example, short_runs,
                                                         tmp_path: Path) -> None:
    again = run_example(example.name, tmp_path / "again", *example.short)
    assert comparable(again) == comparable(short_runs(example))
    other = run_example(example.name, tmp_path / "other", *example.short, "--seed", "1")
    unseeded = lambda m: {k: v for k, v in comparable(m).items() if k != "seed"}  # noqa: E731
    assert unseeded(other) != unseeded(again)


@pytest.mark.parametrize("example", TRAINING, ids=str)
def test_killed_run_resumes_to_the_same_metrics(example: Example, short_runs,
                                                tmp_path: Path) -> None:
    kill_after_checkpoint(example.name, tmp_path, *example.short)
    resumed = run_example(example.name, tmp_path, *example.short, "--resume")
    assert comparable(resumed) == comparable(short_runs(example))
    assert resumed["seconds"]["steps_timed"] < resumed["steps"]   # it did resume


@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_torchrun_two_processes(example: Example, tmp_path: Path) -> None:
    metrics = run_torchrun(example.name, tmp_path, *example.torchrun)
    assert metrics["world_size"] == 2
    if example.trains:  # DDP averaged the gradients: both ranks hold the same parameters
        digests = metrics["parameter_digests"]
        assert len(digests) == 2 and digests[0] == digests[1]


def load_program(name: str) -> ModuleType:
    """The example's module, imported in this process (its main() is not run)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", program(name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_bad_option_is_one_line_error(example: Example, capsys: pytest.CaptureFixture) -> None:
    """Each refusal is exit status 2 and one line on stderr. main(argv) runs in this process:
    parsing fails before any work, and a subprocess for each would only time torch's import
    (the unavailable-device test below runs the program as a subprocess)."""
    main = load_program(example.name).main
    refused = EVERY_EXAMPLE_REFUSES + (EVERY_TRAINER_REFUSES if example.trains else ())
    for args in refused + example.bad_options:
        with pytest.raises(SystemExit) as exit_status:
            main(["--out", "/nonexistent/out", *args])
        assert exit_status.value.code == 2, args
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and "error: " in lines[0], (args, lines)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_unavailable_device_is_one_line_error(example: Example) -> None:
    result = run_failing(example.name, "--device", "cuda")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "CUDA" in lines[0], result.stderr


@cuda
@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_cuda_reproducible_and_resumes(example: Example, tmp_path: Path) -> None:
    """On a GPU: mixed precision as the runtime chooses it, deterministic algorithms; the
    same seed gives the same metrics, and a killed run resumes to them."""
    first = run_example(example.name, tmp_path / "a", "--device", "cuda", *example.short)
    assert first["device"] == "cuda"
    second = run_example(example.name, tmp_path / "b", "--device", "cuda", *example.short)
    assert comparable(first) == comparable(second)
    if example.trains:
        kill_after_checkpoint(example.name, tmp_path / "c", "--device", "cuda", *example.short)
        resumed = run_example(example.name, tmp_path / "c", "--device", "cuda",
                              *example.short, "--resume")
        assert comparable(resumed) == comparable(first)


def test_without_pytorch_the_example_tests_skip_with_a_reason(tmp_path: Path) -> None:
    """In an environment without PyTorch and the other examples' packages (a site-only
    install), collecting tests/examples skips every module with its reason, no errors."""
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(textwrap.dedent("""
        import sys
        BLOCKED = {"torch", "numpy", "sklearn", "matplotlib", "tqdm", "scipy"}
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        sys.meta_path.insert(0, Block())
    """), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                             str(ROOT / "tests" / "examples")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    # Exit status 5: nothing was collected to run, since every module skipped.
    assert result.returncode in (0, 5), result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert "skipped" in summary and "error" not in summary and "passed" not in summary, summary
    assert "the examples need PyTorch" in result.stdout, result.stdout
