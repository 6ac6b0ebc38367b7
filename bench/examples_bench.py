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
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    print(f"examples bench: --device {args.device} --precision {args.precision}"
          f"{' --compile' if args.compile else ''}; {os.cpu_count()} CPU cores")
    print(f"{'example':<15} {'bars':<7} {'wall s':>7} {'CPU s':>7} {'steps/s':>8}  extra")
    with tempfile.TemporaryDirectory() as folder:
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
