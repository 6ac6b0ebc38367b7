"""The plumbing every example shares, so each example's own file is only its model,
data, training loop and evaluation.

What it gives an example:

* the same command-line options everywhere (``add_options``), with one-line errors;
* ``start()``: device choice, seeding, and ``torchrun`` / DistributedDataParallel set-up
  (NCCL on GPUs, gloo on CPU) read from the environment torchrun provides;
* a ``Session`` with bf16 autocast on CUDA, ``torch.compile`` on request, DDP wrapping,
  atomic checkpoints that restore every random state (so a killed run resumes to exactly
  the result of an uninterrupted one), per-step random generators, a progress bar on
  rank 0, and metrics printed and written as ``metrics.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

CHECKPOINT = "checkpoint.pt"


def add_options(parser: argparse.ArgumentParser, *, steps: int, checkpoint_every: int = 100
                ) -> None:
    """The options every example takes; ``steps`` is the default length of training."""
    one_line_errors(parser)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                        help="where to run (auto: cuda, then mps, then cpu)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--steps", type=positive_int, default=steps,
                        help=f"training steps (default {steps})")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for metrics.json, figures and checkpoints "
                             "(default runs/<example>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the checkpoint in --out if there is one")
    parser.add_argument("--checkpoint-every", type=positive_int, default=checkpoint_every,
                        help=f"steps between checkpoints (default {checkpoint_every})")
    parser.add_argument("--dry-run", action="store_true",
                        help="a few steps on little data: a smoke test, not a result")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--no-bf16", dest="bf16", action="store_false",
                        help="on CUDA, train in float32 instead of bf16 autocast")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bar")


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


def clock() -> tuple[float, float]:
    """(wall, CPU) seconds now. Both are reported: on a shared machine wall time is inflated,
    CPU time much less."""
    return time.perf_counter(), time.process_time()


def seconds_since(started: tuple[float, float], trained_at: tuple[float, float]
                  ) -> dict[str, float]:
    """The ``seconds`` of metrics.json: training, and the whole run up to now."""
    now = clock()
    return {"train_wall": round(trained_at[0] - started[0], 2),
            "train_cpu": round(trained_at[1] - started[1], 2),
            "total_wall": round(now[0] - started[0], 2),
            "total_cpu": round(now[1] - started[1], 2)}


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


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass
class Session:
    """One training run: where it runs, which process it is, where its files go."""

    args: argparse.Namespace
    name: str
    device: torch.device
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def out(self) -> Path:
        return self.args.out

    @property
    def bf16(self) -> bool:
        return self.device.type == "cuda" and self.args.bf16

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast on CUDA (matrix products in bf16, reductions in float32)."""
        if self.bf16:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The model to train: on the device, compiled if asked, under DDP if distributed.

        Keep the unwrapped model for evaluation, sampling and checkpoints.
        """
        wrapped: torch.nn.Module = model
        if self.world_size > 1:
            device_ids = [self.local_rank] if self.device.type == "cuda" else None
            wrapped = DistributedDataParallel(model, device_ids=device_ids)
        if self.args.compile:
            wrapped = torch.compile(wrapped)
        return wrapped

    def generator(self, step: int, stream: int = 0) -> torch.Generator:
        """A random generator fixed by (seed, step, rank, stream).

        Drawing each step's batch from its own generator makes the data independent of
        how many steps ran before a restart, and different on each rank.
        """
        seed = ((self.args.seed * 1_000_003 + step) * 1_009 + self.rank) * 101 + stream
        return torch.Generator().manual_seed(seed % 2**63)

    def all_reduce_mean(self, value: torch.Tensor) -> torch.Tensor:
        if self.world_size > 1:
            value = value.detach().clone()
            dist.all_reduce(value, op=dist.ReduceOp.SUM)
            value /= self.world_size
        return value

    def parameter_digests(self, model: torch.nn.Module) -> list[str]:
        """A hash of the model's parameters from every rank (identical under correct DDP)."""
        import hashlib

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
        """Write state plus every RNG state atomically (rank 0; other ranks wait)."""
        if self.is_main:
            state = {**state, "rng": {
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
        """The saved state when --resume was given and a checkpoint exists, else None."""
        path = self.out / CHECKPOINT
        if not (self.args.resume and path.is_file()):
            return None
        state = torch.load(path, map_location="cpu", weights_only=False)
        rng = state.pop("rng")
        torch.set_rng_state(rng["torch"])
        np.random.set_state(rng["numpy"])
        random.setstate(rng["python"])
        if rng["cuda"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        return state

    # -- output -----------------------------------------------------------------------

    def progress(self, total: int, initial: int = 0) -> Any:
        from tqdm import tqdm

        return tqdm(total=total, initial=initial, desc=self.name, unit="step",
                    disable=not (self.is_main and self.args.progress), dynamic_ncols=True)

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        """Print the final metrics and write them to <out>/metrics.json (rank 0)."""
        if not self.is_main:
            return
        text = json.dumps(metrics, indent=2, sort_keys=True)
        print(text)
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "metrics.json").write_text(text + "\n", encoding="utf-8")

    def barrier(self) -> None:
        if self.world_size > 1:
            dist.barrier()

    def close(self) -> None:
        if self.world_size > 1 and dist.is_initialized():
            dist.destroy_process_group()


def start(args: argparse.Namespace, name: str) -> Session:
    """Set up the run described by ``args``: device, processes, seeds, output folder."""
    args.out = args.out or Path("runs") / name
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(args.device)
    if world_size > 1:
        if device.type == "cuda":
            if local_rank >= torch.cuda.device_count():
                fail(f"rank {rank} wants cuda:{local_rank} but only "
                     f"{torch.cuda.device_count()} GPU(s) are visible")
            device = torch.device("cuda", local_rank)
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if args.compile and device.type == "mps":
        fail("--compile is not supported on mps")
    # The same seed on every rank: the models start identical, the data differ by rank.
    seed_everything(args.seed)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return Session(args, name, device, rank, world_size, local_rank)


@contextlib.contextmanager
def session(args: argparse.Namespace, name: str) -> Iterator[Session]:
    """``start`` as a context manager that always tears the process group down."""
    run = start(args, name)
    try:
        yield run
        # Every rank leaves together: a rank tearing gloo down while another still works
        # (rank 0 draws figures) can abort with "terminate called without an active exception".
        run.barrier()
    finally:
        run.close()
