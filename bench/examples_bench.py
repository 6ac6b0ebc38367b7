"""Time each example to its quality bar, and its training speed.

Each example runs once with its default options, as a reader would run it, in a
subprocess. The script prints per example: whether it reached its bars and each bar's value
and threshold (read from the ``bars`` of its metrics.json, the record its tests check), the
wall and CPU time of the whole run (the time to the bar: the defaults are sized to reach
it), training steps per second and, for GPT, tokens per second. On a GPU
(``--device cuda --compile``) it adds GPT's model FLOP/s as a fraction of the GPU's peak
dense bf16 FLOP/s, looked up by device name (or given with --peak-tflops).

    .venv/bin/python bench/examples_bench.py [--only gpt] [--device cuda --compile]

Wall times on a shared machine are inflated; the CPU time says how much work it was.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Example:
    name: str
    extra_args: list[str] = field(default_factory=list)
    program: str = ""                          # examples/<program>/<program>.py; default: name

    def __post_init__(self) -> None:
        self.program = self.program or self.name


def bars_met(metrics: dict) -> bool:
    """The verdict the example itself recorded: every bar in metrics.json passed (the tests
    re-check each from its value and threshold)."""
    return bool(metrics["bars"]) and all(b["passed"] for b in metrics["bars"].values())


def bar_lines(metrics: dict) -> list[str]:
    """Each bar as "name: value rule threshold", from metrics.json."""
    return [f"{name}: {b['value']:.4g} {b['rule']} {b['threshold']:.4g}"
            + ("" if b["passed"] else "  MISSED") for name, b in metrics["bars"].items()]


# The one list of examples, in the order of the site's topics.
EXAMPLES = [
    Example("attention"),
    Example("transformer"),
    Example("gpt"),
    Example("vae"),
    Example("gan"),
    Example("gan-ring", ["--data", "ring"], program="gan"),
    Example("diffusion"),
    Example("diffusion-ring", ["--data", "ring"], program="diffusion"),
    Example("flow_matching"),
    Example("flow_matching-ring", ["--data", "ring"], program="flow_matching"),
]

# Peak dense bf16 tensor-core FLOP/s from the vendors' data sheets (no sparsity).
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100 SXM": 989.0, "H100 80GB HBM3": 989.0,
                    "H100 PCIe": 756.0, "H100 NVL": 835.0, "A100": 312.0, "L40S": 362.0,
                    "L4": 121.0, "A10": 125.0, "RTX 4090": 165.0}


def peak_tflops(override: float | None) -> tuple[float | None, str]:
    if override:
        return override, "given"
    import torch

    name = torch.cuda.get_device_name()
    for key, value in PEAK_BF16_TFLOPS.items():
        if key in name:
            return value, name
    return None, name


def gpt_flops_per_token(metrics: dict) -> float:
    """6 N (forward + backward through the weights) + 12 L T d (attention scores and sums),
    the estimate of the PaLM paper (Chowdhery et al. 2022, appendix B) that nanoGPT uses."""
    return 6 * metrics["parameters"] + 12 * metrics["layers"] * metrics["block_size"] * \
        metrics["width"]


def run(example: Example, options: list[str], out: Path) -> tuple[dict, float, float]:
    command = [sys.executable, str(ROOT / "examples" / example.program / f"{example.program}.py"),
               "--out", str(out), "--no-progress", *options, *example.extra_args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{example.name} failed:\n{result.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads((out / "metrics.json").read_text(encoding="utf-8")), wall, cpu


# nanoGPT's README configuration for a CPU ("I only have a macbook"), on shakespeare_char.
NANOGPT_CPU = ["--device=cpu", "--compile=False", "--eval_iters=20", "--log_interval=1",
               "--block_size=64", "--batch_size=12", "--n_layer=4", "--n_head=4",
               "--n_embd=128", "--max_iters=2000", "--lr_decay_iters=2000", "--dropout=0.0"]


def load_gpt_example():
    """examples/gpt/gpt.py as a module: its corpus, split and validation scoring."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpt_example",
                                                  ROOT / "examples" / "gpt" / "gpt.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_nanogpt(nanogpt: Path, folder: Path) -> dict:
    """nanoGPT's train.py with its README CPU configuration on the same Tiny Shakespeare file,
    prepared as its data/shakespeare_char/prepare.py prepares it (that script would download
    the same file; here it is already on disk), in a scratch folder: the checkout is only
    read. Returns its wall and CPU time, its own validation estimate and the validation loss
    of its checkpoint scored as examples/gpt/gpt.py scores its own model."""
    import pickle

    import numpy as np
    import torch

    gpt = load_gpt_example()
    text = gpt.SHAKESPEARE.read_text(encoding="utf-8")
    characters = sorted(set(text))
    index = {c: i for i, c in enumerate(characters)}
    split = int(len(text) * 0.9)
    data = folder / "data" / "shakespeare_char"
    data.mkdir(parents=True)
    for name, part in (("train", text[:split]), ("val", text[split:])):
        np.array([index[c] for c in part], dtype=np.uint16).tofile(data / f"{name}.bin")
    with open(data / "meta.pkl", "wb") as handle:
        pickle.dump({"vocab_size": len(characters), "itos": dict(enumerate(characters)),
                     "stoi": index}, handle)
    # train.py reads configurator.py and data/ from its working directory.
    (folder / "configurator.py").symlink_to(nanogpt / "configurator.py")
    command = [sys.executable, str(nanogpt / "train.py"),
               str(nanogpt / "config" / "train_shakespeare_char.py"), *NANOGPT_CPU,
               f"--out_dir={folder / 'out'}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"nanoGPT failed:\n{result.stderr[-2000:]}")
    estimates = [float(line.rsplit("val loss", 1)[1]) for line in result.stdout.splitlines()
                 if line.startswith("step ") and "val loss" in line]
    # Its checkpoint (the evaluation with the lowest estimate, the last one here), scored on
    # the whole validation split by the same code that scores ours.
    sys.path.insert(0, str(nanogpt))
    from model import GPT as NanoGPT  # noqa: E402  (nanoGPT's own model.py)
    from model import GPTConfig

    checkpoint = torch.load(folder / "out" / "ckpt.pt", map_location="cpu", weights_only=False)
    model = NanoGPT(GPTConfig(**checkpoint["model_args"]))
    model.load_state_dict({k.removeprefix("_orig_mod."): v
                           for k, v in checkpoint["model"].items()})

    class AllPositions(torch.nn.Module):
        """nanoGPT returns the last position's logits unless given targets."""

        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner(x, x)[0]

    validation = torch.tensor([index[c] for c in text[split:]])
    block = checkpoint["model_args"]["block_size"]
    scored = [float(gpt.token_losses(AllPositions(), validation, block, torch.device("cpu"),
                                     stride).mean()) for stride in (None, block // 2)]
    return {"wall": wall, "cpu": (after.ru_utime - before.ru_utime)
            + (after.ru_stime - before.ru_stime), "own_estimate": estimates[-1],
            "validation_loss": scored[0], "validation_loss_full_context": scored[1],
            "iterations": checkpoint["iter_num"], "tokens": 2000 * 12 * 64}


def side_by_side(ours: dict, wall: float, cpu: float, nanogpt: dict) -> None:
    """Our GPT and nanoGPT's CPU configuration, run one after the other on the same data."""
    tokens = ours["seconds"]["steps_timed"] * ours["tokens_per_step"]
    rows = [("ours (gpt.py defaults)", ours["validation_loss"],
             ours["validation_loss_full_context"], "-", wall, cpu, tokens / wall),
            ("nanoGPT (README CPU)", nanogpt["validation_loss"],
             nanogpt["validation_loss_full_context"], f"{nanogpt['own_estimate']:.3f}",
             nanogpt["wall"], nanogpt["cpu"], nanogpt["tokens"] / nanogpt["wall"])]
    print("\nGPT on Tiny Shakespeare, side by side (same file, same split, same machine, one "
          "after the other;\nvalidation loss: the whole split scored by gpt.py's token_losses, "
          "nats/char; full ctx: every\ncharacter with at least half a block of context; own "
          "est.: nanoGPT's last estimate, 20 random batches)")
    print(f"{'':<24} {'val loss':>9} {'full ctx':>9} {'own est.':>9} {'wall s':>8} "
          f"{'CPU s':>8} {'tokens/s':>9}")
    for name, loss, full, estimate, w, c, rate in rows:
        print(f"{name:<24} {loss:>9.3f} {full:>9.3f} {estimate:>9} {w:>8.1f} {c:>8.1f} "
              f"{rate:>9,.0f}")
    (_, a, fa, _, wa, ca, ra), (_, b, fb, _, wb, cb, rb) = rows
    print(f"{'ours / nanoGPT':<24} {a / b:>9.3f} {fa / fb:>9.3f} {'':>9} {wa / wb:>8.3f} "
          f"{ca / cb:>8.3f} {ra / rb:>9.3f}")
    print("(tokens/s: training tokens over the whole run's wall time, start-up and "
          "evaluation included)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "mps"])
    parser.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp16", "fp32"],
                        help="the examples' --precision (auto: bf16 or fp16 autocast on CUDA)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the models")
    parser.add_argument("--only", action="append", choices=[e.name for e in EXAMPLES],
                        help="run just this example (repeatable)")
    parser.add_argument("--peak-tflops", type=float, default=None,
                        help="the GPU's peak bf16 TFLOP/s, if its name is not in the table")
    parser.add_argument("--nanogpt", type=Path, default=os.environ.get("NANOGPT_DIR") or None,
                        help="a nanoGPT checkout (default: $NANOGPT_DIR): after our GPT, run "
                             "its README CPU configuration on the same data and compare")
    parser.add_argument("--keep", type=Path, default=None,
                        help="write each run's output under this folder (default: a "
                             "temporary one, deleted)")
    args = parser.parse_args()
    if args.nanogpt and not (args.nanogpt / "train.py").is_file():
        parser.error(f"--nanogpt {args.nanogpt}: no train.py there (a nanoGPT checkout?)")
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    print(f"examples bench: --device {args.device} --precision {args.precision}"
          f"{' --compile' if args.compile else ''}; {os.cpu_count()} CPU cores")
    print(f"{'example':<15} {'bars':<7} {'wall s':>7} {'CPU s':>7} {'steps/s':>8}  extra")
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or temporary
        for example in EXAMPLES:
            if args.only and example.name not in args.only:
                continue
            options = ["--device", args.device]
            if example.name != "attention":  # it trains nothing: no precision, no compile
                options += ["--precision", args.precision] + (["--compile"] * args.compile)
            metrics, wall, cpu = run(example, options, Path(folder) / example.name)
            seconds = metrics["seconds"]
            rate = (seconds["steps_timed"] / seconds["train_wall"]
                    if seconds.get("train_wall") else None)
            steps = f"{rate:.1f}" if rate else "-"
            extra = ""
            if example.name == "gpt" and rate:
                tokens = rate * metrics["tokens_per_step"]
                extra = f"{tokens:,.0f} tokens/s"
                if args.device == "cuda":
                    peak, source = peak_tflops(args.peak_tflops)
                    achieved = tokens * gpt_flops_per_token(metrics)
                    extra += f", {achieved / 1e12:.2f} TFLOP/s"
                    extra += (f" = {100 * achieved / (peak * 1e12):.2f}% of {peak:.0f} TFLOP/s "
                              f"peak bf16 ({source})" if peak else f" (no peak known for {source})")
            elif example.name == "transformer" and rate:
                extra = f"{rate * metrics['batch_size']:,.0f} sequences/s"
            print(f"{example.name:<15} {'met' if bars_met(metrics) else 'MISSED':<7} "
                  f"{wall:>7.1f} {cpu:>7.1f} {steps:>8}  {extra}", flush=True)
            for line in bar_lines(metrics):
                print(f"{'':<15} {line}")
            if example.name == "gpt" and args.nanogpt and args.device == "cpu":
                nanogpt = run_nanogpt(args.nanogpt.resolve(), Path(folder) / "nanogpt")
                side_by_side(metrics, wall, cpu, nanogpt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
