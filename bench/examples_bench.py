"""Time each example to its quality bar, and its training speed.

Each example runs once with its default options, as a reader would run it, in a
subprocess. The script prints per example: whether it reached its bar (the same bar its
test asserts), the wall and CPU time of the whole run (the time to the bar: the defaults
are sized to reach it), training steps per second and, for GPT, tokens per second. On a
GPU (``--device cuda --bf16 --compile``) it adds GPT's model FLOP/s as a fraction of the
GPU's peak dense bf16 FLOP/s, looked up by device name (or given with --peak-tflops).

    .venv/bin/python bench/examples_bench.py [--only gpt] [--device cuda --bf16 --compile]

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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Example:
    name: str
    bar: str                                   # in words, as the README states it
    reached: Callable[[dict], bool]            # the same condition the test asserts
    summary: Callable[[dict], str]             # the metric the bar is about
    extra_args: list[str] = field(default_factory=list)
    program: str = ""                          # examples/<program>/<program>.py; default: name

    def __post_init__(self) -> None:
        self.program = self.program or self.name


def judged(metrics: dict) -> str:
    """The generative examples' headline: the judge's Fréchet distance or energy distance."""
    judge = metrics["judge"]
    key, name, digits = (("frechet_distance", "FD", 1) if "frechet_distance" in judge["samples"]
                         else ("energy_distance", "ED", 4))
    values = [judge[part][key] for part in ("samples", "real_vs_real", "gaussian_fit")]
    return f"{name} {values[0]:.{digits}f} (real {values[1]:.{digits}f}, " \
           f"gauss {values[2]:.{digits}f})"


def all_bars(metrics: dict) -> bool:
    return bool(metrics["bars"]) and all(metrics["bars"].values())


# The one list of examples, in the order of the site's topics.
EXAMPLES = [
    Example("attention", "equals SDPA to 1e-5, causal mask leaks nothing",
            lambda m: m["checks"]["passed"],
            lambda m: f"max |diff| {max(v for k, v in m['checks'].items() if 'diff' in k):.1e}"),
    Example("transformer", "exact match >= 99% on lengths 1-16",
            lambda m: m["exact_match"] >= 0.99 and m["max_length"] >= 16,
            lambda m: f"exact match {100 * m['exact_match']:.2f}%"),
    Example("gpt", "validation loss <= bigram - 0.5 nats",
            lambda m: m["validation_loss"] <= m["bigram_validation_loss"] - 0.5,
            lambda m: f"val {m['validation_loss']:.3f}, bigram "
                      f"{m['bigram_validation_loss']:.3f}"),
    Example("vae", "test -ELBO >= 10% below the best independent-pixel model", all_bars,
            lambda m: f"-ELBO {m['test_neg_elbo']:.2f} vs {m['independent_pixel_test_nll']:.2f}"),
    Example("gan", "10 classes >= 4%, FD nearer real-vs-real than Gaussian", all_bars, judged),
    Example("gan-ring", "every mode of the 8-Gaussian ring covered", all_bars, judged,
            ["--data", "ring"], program="gan"),
    Example("diffusion", "as the GAN, DDPM ancestral sampling", all_bars, judged),
    Example("diffusion-ring", "energy distance <= 2x real-vs-real, every mode", all_bars,
            judged, ["--data", "ring"], program="diffusion"),
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "mps"])
    parser.add_argument("--bf16", action="store_true",
                        help="bf16 autocast on CUDA (the examples' default there)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the models")
    parser.add_argument("--only", action="append", choices=[e.name for e in EXAMPLES],
                        help="run just this example (repeatable)")
    parser.add_argument("--peak-tflops", type=float, default=None,
                        help="the GPU's peak bf16 TFLOP/s, if its name is not in the table")
    args = parser.parse_args()
    options = ["--device", args.device]
    if args.device == "cuda" and not args.bf16:
        options.append("--no-bf16")
    if args.compile:
        options.append("--compile")
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    print(f"examples bench: {' '.join(options)}; {os.cpu_count()} CPU cores")
    print(f"{'example':<15} {'bar':<8} {'metric':<40} {'wall s':>7} {'CPU s':>7} "
          f"{'steps/s':>8}  extra")
    with tempfile.TemporaryDirectory() as folder:
        for example in EXAMPLES:
            if args.only and example.name not in args.only:
                continue
            compile_options = [o for o in options if not (
                o == "--compile" and example.name == "attention")]
            if example.name == "attention":
                compile_options = [o for o in compile_options if o != "--no-bf16"]
            metrics, wall, cpu = run(example, compile_options, Path(folder) / example.name)
            timing = metrics.get("timing", {})
            if not timing and "seconds" in metrics:  # the generative examples
                timing = {"steps_per_second": metrics["steps"] / metrics["seconds"]["train_wall"]}
            steps = f"{timing['steps_per_second']:.1f}" if timing else "-"
            extra = ""
            if example.name == "gpt":
                tokens = timing["steps_per_second"] * timing["tokens_per_step"]
                extra = f"{tokens:,.0f} tokens/s"
                if args.device == "cuda":
                    peak, source = peak_tflops(args.peak_tflops)
                    achieved = tokens * gpt_flops_per_token(metrics)
                    extra += f", {achieved / 1e12:.2f} TFLOP/s"
                    extra += (f" = {100 * achieved / (peak * 1e12):.2f}% of {peak:.0f} TFLOP/s "
                              f"peak bf16 ({source})" if peak else f" (no peak known for {source})")
            elif example.name == "transformer":
                extra = f"{timing['steps_per_second'] * metrics['batch_size']:,.0f} sequences/s"
            print(f"{example.name:<15} {'met' if example.reached(metrics) else 'MISSED':<8} "
                  f"{example.summary(metrics):<40} {wall:>7.1f} {cpu:>7.1f} {steps:>8}  {extra}",
                  flush=True)
            print(f"{'':<15} bar: {example.bar}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
