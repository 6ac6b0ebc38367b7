"""The plumbing every example shares, so each example's own file is only its model, loss,
training loop and evaluation.

What it gives an example:

* the same command-line options everywhere (``add_options``), with one-line errors;
* ``Options``, the few settings the runtime needs, built from the parsed arguments
  (``Options.from_args``) without changing them;
* ``session()``: device choice, seeding, and ``torchrun`` / DistributedDataParallel set-up
  (NCCL on GPUs, gloo on CPU) read from the environment torchrun provides;
* a ``Session`` with mixed precision on CUDA (bf16 autocast where the GPU computes in bf16
  natively, compute capability 8.0+; fp16 with a gradient scaler before that),
  ``torch.compile`` on request, DDP wrapping, atomic checkpoints that restore every random
  state (so a killed run resumes to exactly the result of an uninterrupted one), per-step
  random generators, a progress bar on rank 0 that also times training, and
  ``metrics.json`` with the keys every example shares: ``bars`` (each quality bar's value,
  rule, threshold and verdict), ``seconds``, ``device``, ``world_size``, ``seed``, ``steps``;
* ``bar()`` for one quality bar and ``weight_decay_groups()`` for AdamW.

Reproducibility: on the CPU the same seed gives bit-identical metrics, and a resumed run
equals an uninterrupted one (the tests check both). On CUDA the session asks PyTorch for
deterministic algorithms and sets ``CUBLAS_WORKSPACE_CONFIG`` as cuBLAS requires; kernels
that have no deterministic version only warn, so there the claim holds for what PyTorch
makes deterministic (``tests/examples/test_examples_common.py`` checks it on a GPU when
one is present).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import os
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

CHECKPOINT = "checkpoint.pt"
# What --dry-run trains at most: enough steps for checkpoints to fall mid-training.
DRY_RUN_STEPS = 20
PRECISIONS = ("auto", "bf16", "fp16", "fp32")


def clock() -> tuple[float, float]:
    """(wall, CPU) seconds now. Both are reported: on a shared machine wall time is inflated,
    CPU time much less."""
    return time.perf_counter(), time.process_time()


STARTED = clock()  # the run's clock starts when the example imports its runtime


# -- options ------------------------------------------------------------------------------


def add_options(parser: argparse.ArgumentParser, *, steps: int, checkpoint_every: int = 100,
                steps_help: str | None = None) -> None:
    """The options every training example takes; ``steps`` is the default length of training
    (``steps_help`` describes it when it depends on other options)."""
    add_run_options(parser)
    parser.add_argument("--steps", type=positive_int, default=steps,
                        help=steps_help or f"training steps (default {steps})")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the checkpoint in --out if there is one")
    parser.add_argument("--checkpoint-every", type=positive_int, default=checkpoint_every,
                        help=f"steps between checkpoints (default {checkpoint_every})")
    parser.add_argument("--dry-run", action="store_true",
                        help=f"at most {DRY_RUN_STEPS} steps and a small evaluation: "
                             "a smoke test, not a result")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help="auto: on CUDA bf16 autocast where the GPU supports it natively "
                             "(compute capability 8.0+), else fp16 with a gradient scaler; "
                             "float32 elsewhere")


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options of every example, training or not: device, seed, output, progress bar."""
    one_line_errors(parser)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                        help="where to run (auto: cuda, then mps, then cpu)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for metrics.json, figures and checkpoints "
                             "(default runs/<example>)")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bar")


@dataclass(frozen=True)
class Options:
    """What the runtime needs to know about a run. ``steps`` is what is recorded in
    metrics.json (an example's ``--dry-run`` may train fewer steps than ``--steps``)."""

    device: str = "auto"
    seed: int = 0
    steps: int = 0
    out: Path | None = None
    resume: bool = False
    checkpoint_every: int = 100
    compile: bool = False
    precision: str = "auto"
    progress: bool = True

    @classmethod
    def from_args(cls, args: argparse.Namespace, **changes: Any) -> Options:
        """The fields of ``args`` that the runtime knows, then ``changes``; ``args`` is read,
        never written."""
        known = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
                 if hasattr(args, f.name)}
        return cls(**{**known, **changes})


def one_line_errors(parser: argparse.ArgumentParser) -> None:
    """Make a bad option a single line on stderr (argparse prints its usage too)."""
    parser.error = fail  # type: ignore[method-assign]


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def fail(message: str) -> None:
    """A clear one-line error and exit status 2, never a traceback."""
    print(f"{Path(sys.argv[0]).name}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


# -- quality bars and optimiser groups ------------------------------------------------------


def bar(value: float, rule: str, threshold: float) -> dict[str, Any]:
    """One quality bar as metrics.json records it: the measured value, the rule (">=" or
    "<="), the threshold, and whether it passed. The tests and the benchmark read these."""
    if rule not in (">=", "<="):
        raise ValueError(f"rule {rule!r}: use '>=' or '<='")
    value, threshold = float(value), float(threshold)
    passed = value >= threshold if rule == ">=" else value <= threshold
    return {"value": value, "rule": rule, "threshold": threshold, "passed": bool(passed)}


def all_passed(bars: dict[str, dict[str, Any]]) -> bool:
    return bool(bars) and all(b["passed"] for b in bars.values())


def weight_decay_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW parameter groups: decay on the weight matrices of linear layers only.

    Decay pulls a weight towards zero; for a matrix that limits the size of the map it
    applies, but norms' gains, biases and embedding rows have no such role (decaying a
    LayerNorm's gain towards 0 fights the normalisation), so they are left alone. A matrix
    tied to an embedding (a GPT's output layer) counts as the embedding.
    """
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    matrices = {id(m.weight) for m in model.modules() if isinstance(m, nn.Linear)} - embeddings
    decay = [p for p in model.parameters() if id(p) in matrices]
    rest = [p for p in model.parameters() if id(p) not in matrices]
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": rest, "weight_decay": 0.0}]


# -- devices and seeds --------------------------------------------------------------------


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        fail("--device cuda: no CUDA device is available (try --device cpu)")
    if name == "mps" and not (getattr(torch.backends, "mps", None)
                              and torch.backends.mps.is_available()):
        fail("--device mps: Apple's MPS backend is not available (try --device cpu)")
    return torch.device(name)


def autocast_dtype(device: torch.device, precision: str) -> torch.dtype | None:
    """The dtype of autocast for --precision on this device, or None for float32.

    bf16 keeps float32's exponent range, so it needs no loss scaling, but only GPUs of
    compute capability 8.0+ (Ampere) multiply in bf16 natively; on older ones fp16 with a
    gradient scaler is the fast choice. The CPU and MPS default to float32.
    """
    if precision == "fp32" or (precision == "auto" and device.type != "cuda"):
        return None
    if device.type == "cuda":
        native_bf16 = torch.cuda.get_device_capability(device) >= (8, 0)
        if precision == "auto":
            return torch.bfloat16 if native_bf16 else torch.float16
        if precision == "bf16" and not native_bf16:
            fail("--precision bf16: this GPU has no native bf16 (compute capability < 8.0); "
                 "use --precision fp16 or fp32")
    if precision == "fp16" and device.type != "cuda":
        fail("--precision fp16 needs CUDA (its gradient scaler is for GPUs)")
    return torch.bfloat16 if precision == "bf16" else torch.float16


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# -- the session --------------------------------------------------------------------------


@dataclass
class Session:
    """One run: where it runs, which process it is, where its files go, how long it took."""

    options: Options
    name: str
    device: torch.device
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    amp: torch.dtype | None = None
    scaler: torch.amp.GradScaler = field(init=False)
    _timings: dict[str, float] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        # Scales fp16 losses so that small gradients do not underflow; with any other
        # precision it is disabled and scale(), step() and update() pass straight through.
        self.scaler = torch.amp.GradScaler("cuda" if self.device.type == "cuda" else "cpu",
                                           enabled=self.amp == torch.float16)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def out(self) -> Path:
        return self.options.out or Path("runs") / self.name

    def autocast(self) -> contextlib.AbstractContextManager:
        """Mixed precision (matrix products in bf16 or fp16, reductions in float32), or
        nothing in float32."""
        if self.amp is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp)

    def wrap(self, model: nn.Module) -> nn.Module:
        """The model to train: compiled if asked, under DDP if distributed.

        Keep the unwrapped model for evaluation, sampling and checkpoints.
        """
        wrapped: nn.Module = model
        if self.world_size > 1:
            device_ids = [self.local_rank] if self.device.type == "cuda" else None
            wrapped = DistributedDataParallel(model, device_ids=device_ids)
        if self.options.compile:
            wrapped = torch.compile(wrapped)
        return wrapped

    def generator(self, step: int, stream: int = 0) -> torch.Generator:
        """A random generator fixed by (seed, step, rank, stream).

        Drawing each step's batch from its own generator makes the data independent of
        how many steps ran before a restart, and different on each rank.
        """
        seed = ((self.options.seed * 1_000_003 + step) * 1_009 + self.rank) * 101 + stream
        return torch.Generator().manual_seed(seed % 2**63)

    def all_reduce_mean(self, value: torch.Tensor) -> torch.Tensor:
        if self.world_size > 1:
            value = value.detach().clone()
            dist.all_reduce(value, op=dist.ReduceOp.SUM)
            value /= self.world_size
        return value

    def parameter_digests(self, model: nn.Module) -> list[str]:
        """A hash of the model's parameters from every rank (identical under correct DDP)."""
        digest = hashlib.sha256()
        for tensor in model.state_dict().values():
            digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
        if self.world_size == 1:
            return [digest.hexdigest()]
        gathered: list[Any] = [None] * self.world_size
        dist.all_gather_object(gathered, digest.hexdigest())
        return gathered

    # -- checkpoints ------------------------------------------------------------------

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        """Write state, the gradient scaler and every RNG state atomically (rank 0; the
        other ranks wait)."""
        if self.is_main:
            state = {**state, "scaler": self.scaler.state_dict(), "rng": {
                "torch": torch.get_rng_state(), "numpy": np.random.get_state(),
                "python": random.getstate(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            }}
            self.out.mkdir(parents=True, exist_ok=True)
            temporary = self.out / (CHECKPOINT + ".tmp")
            torch.save(state, temporary)
            os.replace(temporary, self.out / CHECKPOINT)  # a kill never leaves half a file
        self.barrier()

    def load_checkpoint(self) -> dict[str, Any] | None:
        """The saved state when resuming and a checkpoint exists, else None."""
        path = self.out / CHECKPOINT
        if not (self.options.resume and path.is_file()):
            return None
        state = torch.load(path, map_location="cpu", weights_only=False)
        rng = state.pop("rng")
        torch.set_rng_state(rng["torch"])
        np.random.set_state(rng["numpy"])
        random.setstate(rng["python"])
        if rng["cuda"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        scaler = state.pop("scaler", None)
        if scaler:
            self.scaler.load_state_dict(scaler)
        return state

    # -- progress, timing and output -------------------------------------------------------

    @contextlib.contextmanager
    def progress(self, total: int, initial: int = 0) -> Iterator[Any]:
        """The training loop's progress bar (rank 0). Training is timed while it is open:
        ``seconds`` in metrics.json reports that time and the steps it covered."""
        from tqdm import tqdm

        started = clock()
        with tqdm(total=total, initial=initial, desc=self.name, unit="step",
                  disable=not (self.is_main and self.options.progress),
                  dynamic_ncols=True) as bar:
            yield bar
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        ended = clock()
        self._timings.update(train_wall=ended[0] - started[0], train_cpu=ended[1] - started[1],
                             steps_timed=total - initial)

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Time a block (sampling, say): ``seconds`` reports it as ``<name>_wall``."""
        started = time.perf_counter()
        yield
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self._timings[f"{name}_wall"] = time.perf_counter() - started

    def seconds(self) -> dict[str, float]:
        """Training (after a resume: the part this process ran) and the whole run so far."""
        now = clock()
        timed = {key: round(value, 2) for key, value in self._timings.items()}
        return {**timed, "total_wall": round(now[0] - STARTED[0], 2),
                "total_cpu": round(now[1] - STARTED[1], 2)}

    def write_metrics(self, metrics: dict[str, Any], bars: dict[str, dict[str, Any]]) -> None:
        """Print the metrics and write <out>/metrics.json (rank 0), with the keys every
        example shares first."""
        if not self.is_main:
            return
        common = {"bars": bars, "seconds": self.seconds(), "device": self.device.type,
                  "world_size": self.world_size, "seed": self.options.seed,
                  "steps": self.options.steps}
        text = json.dumps({**common, **metrics}, indent=2)
        print(text)
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "metrics.json").write_text(text + "\n", encoding="utf-8")

    def barrier(self) -> None:
        if self.world_size > 1:
            dist.barrier()

    def close(self) -> None:
        if self.world_size > 1 and dist.is_initialized():
            dist.destroy_process_group()


def start(options: Options, name: str) -> Session:
    """Set up the run: device, processes, precision, determinism, seeds."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if options.precision not in PRECISIONS:
        fail(f"--precision {options.precision}: choose from {', '.join(PRECISIONS)}")
    device = pick_device(options.device)
    if device.type == "cuda":
        # cuBLAS is deterministic only with a fixed workspace, set before its first use.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        # TF32 matrix products: float32's range with a 10-bit mantissa, deterministic.
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if world_size > 1:
        if device.type == "cuda":
            if local_rank >= torch.cuda.device_count():
                fail(f"rank {rank} wants cuda:{local_rank} but only "
                     f"{torch.cuda.device_count()} GPU(s) are visible")
            device = torch.device("cuda", local_rank)
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if options.compile and device.type == "mps":
        fail("--compile is not supported on mps")
    amp = autocast_dtype(device, options.precision)
    # The same seed on every rank: the models start identical, the data differ by rank.
    seed_everything(options.seed)
    return Session(options, name, device, rank, world_size, local_rank, amp)


@contextlib.contextmanager
def session(options: Options, name: str) -> Iterator[Session]:
    """``start`` as a context manager that always tears the process group down."""
    run = start(options, name)
    try:
        yield run
        # Every rank leaves together: a rank tearing gloo down while another still works
        # (rank 0 draws figures) can abort with "terminate called without an active exception".
        run.barrier()
    finally:
        run.close()
