"""Flow matching (Lipman et al., 2023), in its rectified-flow form (Liu et al., 2023), on 8x8 digits
or on 2-D points.

The idea. Move noise into data along a velocity field: draw x_0 ~ p_0 = N(0, I) and solve the
ordinary differential equation
    dx/dt = v(x, t),   t from 0 to 1,
so that x_1 is distributed as the data. Flow matching learns v by plain regression, without
simulating the ODE during training and without a noising chain.

The path. Pair a noise draw x_0 with a data point x_1 and join them by a straight line,
    x_t = (1 - t) x_0 + t x_1,      whose velocity is   d x_t / dt = x_1 - x_0.
Over all pairs these lines sweep out a path of distributions p_t from p_0 (noise) to p_1 (data).
The velocity field that moves p_t along it is, at each point, the average velocity of the lines
passing through that point at that time,
    v(x, t) = E[x_1 - x_0 | x_t = x].

The loss (conditional flow matching). v is not known, but the conditional expectation is exactly
what least squares estimates, so regressing on each pair's own velocity has the same minimiser:
    L = E_{t ~ U(0, 1), x_0, x_1} |v_theta(x_t, t) - (x_1 - x_0)|^2.
Lines of different pairs cross, so v_theta learns curved paths even though each target is
straight; the fewer the crossings, the straighter the learnt paths and the fewer steps sampling
needs. (The path is the same family of Gaussian paths as diffusion's, x_t = a_t x_1 + b_t x_0, with
a_t = t and b_t = 1 - t; the difference is what the network predicts and how the loss weighs t.)

Sampling integrates the learnt ODE from t = 0 to 1 in n steps of h = 1/n:
    Euler:  x <- x + h v(x, t)                                   (1 network call, error O(h))
    Heun:   k_1 = v(x, t),  k_2 = v(x + h k_1, t + h),
            x <- x + h (k_1 + k_2) / 2                           (2 calls, error O(h^2))
The network is an MLP whose every residual block is told the time by FiLM (a scale and shift of
its normalised input, computed from t). Samples come from an exponential moving average of the
weights and are scored by the shared judge (examples/judge.py).

Run: python examples/flow_matching/flow_matching.py [--data digits|ring|moons|idx]
[--sampler euler|heun] [--sample-steps N] ...; see examples/README.md.
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # examples/: runtime, judge, data

import runtime  # noqa: E402
from figures import image_grid, save_curves, save_grid, save_paths, save_points  # noqa: E402
from judge import DigitJudge, PointJudge, digit_bar_records, point_bar_records  # noqa: E402
from offline_data import (  # noqa: E402
    IMAGE_DATASETS,
    POINT_DATASETS,
    DataError,
    load_images,
    load_points,
)

SWEEP = (1, 2, 4, 8, 16, 32)  # steps of each sampler in the quality-against-steps figure

# ---------------------------------------------------------------------------------------------
# The model: a velocity field v_theta(x, t)
# ---------------------------------------------------------------------------------------------


def time_features(t: torch.Tensor, dim: int = 64) -> torch.Tensor:
    """Sinusoidal features of t in [0, 1], scaled by 1000 like a step number: (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device) / half)
    angles = 1000 * t.float().unsqueeze(1) * freqs
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class FiLMBlock(nn.Module):
    """h <- h + W_2 silu(W_1 (LN(h) (1 + scale) + shift)), with (scale, shift) = A e(t)."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden, elementwise_affine=False)
        self.film = nn.Linear(hidden, 2 * hidden)
        self.fc1, self.fc2 = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(emb).chunk(2, dim=1)  # (B, hidden) each
        return h + self.fc2(F.silu(self.fc1(self.norm(h) * (1 + scale) + shift)))


class VelocityField(nn.Module):
    """v_theta(x, t): (B, D) points or flattened images and (B,) times -> (B, D) velocities."""

    def __init__(self, dim: int, hidden: int, blocks: int) -> None:
        super().__init__()
        self.time = nn.Sequential(nn.Linear(64, hidden), nn.SiLU(), nn.Linear(hidden, hidden),
                                  nn.SiLU())
        self.inp = nn.Linear(dim, hidden)
        self.blocks = nn.ModuleList(FiLMBlock(hidden) for _ in range(blocks))
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.SiLU(), nn.Linear(hidden, dim))
        nn.init.zeros_(self.out[-1].weight)  # start from v = 0: no motion until it is learnt
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        emb = self.time(time_features(t))
        h = self.inp(x)
        for block in self.blocks:
            h = block(h, emb)
        return self.out(h)


# ---------------------------------------------------------------------------------------------
# The loss and the samplers
# ---------------------------------------------------------------------------------------------


def flow_matching_loss(net: nn.Module, x1: torch.Tensor, x0: torch.Tensor,
                       t: torch.Tensor) -> torch.Tensor:
    """|v_theta(x_t, t) - (x_1 - x_0)|^2 with x_t = (1 - t) x_0 + t x_1 (mean over batch, dims)."""
    tt = t.unsqueeze(1)
    xt = (1 - tt) * x0 + tt * x1
    return (net(xt, t).float() - (x1 - x0)).pow(2).mean()


@torch.no_grad()
def sample(net: nn.Module, x0: torch.Tensor, steps: int, method: str,
           keep: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Integrate dx/dt = v(x, t) from X0 at t = 0 to t = 1 in STEPS equal steps (Euler or Heun).

    Returns x_1 and the positions of the first KEEP points at every step, (steps + 1, keep, D).
    """
    x, h = x0, 1.0 / steps
    path = [x[:keep].cpu()]
    for i in range(steps):
        t = torch.full((len(x),), i * h, device=x.device)
        k1 = net(x, t)
        if method == "heun":
            k2 = net(x + h * k1, t + h)
            x = x + h * (k1 + k2) / 2
        else:
            x = x + h * k1
        path.append(x[:keep].cpu())
    return x, torch.stack(path)


def network_calls(method: str, steps: int) -> int:
    return 2 * steps if method == "heun" else steps


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

# Defaults that differ between images and 2-D points; each can be set on the command line.
DEFAULTS = {
    "images": {"steps": 3000, "hidden": 256, "blocks": 3, "batch_size": 128},
    "points": {"steps": 6000, "hidden": 128, "blocks": 3, "batch_size": 256},
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    runtime.add_options(parser, steps=DEFAULTS["images"]["steps"], checkpoint_every=500,
                        steps_help="training steps (images 3000, points 6000: the ring's "
                                   "sharp modes need the longer fit)")
    parser.add_argument("--data", choices=IMAGE_DATASETS + POINT_DATASETS, default="digits",
                        help="digits (default), idx (MNIST-style files, see --data-dir), "
                             "ring (8 Gaussians) or moons")
    parser.add_argument("--data-dir", help="folder with train-images-idx3-ubyte[.gz] and labels")
    parser.add_argument("--hidden", type=runtime.positive_int,
                        help="width (images 256, points 128)")
    parser.add_argument("--blocks", type=runtime.positive_int, help="residual FiLM blocks (3)")
    parser.add_argument("--batch-size", type=runtime.positive_int, help="images 128, points 256")
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (Adam)")
    parser.add_argument("--ema", type=float, default=0.999,
                        help="decay of the weight average that samples (0.999)")
    parser.add_argument("--sampler", choices=("euler", "heun"), default="heun",
                        help="ODE solver (heun: second order, two network calls a step)")
    parser.add_argument("--sample-steps", type=runtime.positive_int, default=10,
                        help="solver steps from noise to a sample (10)")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads (default 1: one process per core; 0: PyTorch's choice)")
    return parser


def parse(argv: list[str] | None) -> argparse.Namespace:
    """Parse twice: --data decides the defaults of the other options."""
    parser = build_parser()
    known, _ = parser.parse_known_args(argv)
    parser.set_defaults(**DEFAULTS["images" if known.data in IMAGE_DATASETS else "points"])
    return parser.parse_args(argv)


def train(net: VelocityField, ema: VelocityField, train_data: torch.Tensor,
          args: argparse.Namespace, run: runtime.Session) -> list[dict]:
    """Regress the straight-line velocity; keep the weight average EMA. Returns the history."""
    steps = run.options.steps
    trained = run.wrap(net)  # DDP under torchrun: gradients averaged over ranks
    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr)
    history: list[dict] = []
    start = 0
    running = torch.zeros((), device=run.device)  # the loss summed on the device since the last log
    if (state := run.load_checkpoint()) is not None:
        net.load_state_dict(state["net"])
        ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        start, history, running = state["step"], state["history"], state["running"].to(run.device)
    log_every = max(1, steps // 20)
    warm = max(1, steps // 20)

    with run.progress(steps, start) as bar:
        for step in range(start, steps):
            # Warm up for 5% of the steps, then decay along a cosine to 5% of the peak.
            cosine = 0.5 * (1 + math.cos(math.pi * max(0, step - warm) / steps))
            for group in optimizer.param_groups:
                group["lr"] = args.lr * min((step + 1) / warm, 0.05 + 0.95 * cosine)
            gen = run.generator(step)  # batch, noise, times: a function of (seed, step, rank)
            x1 = train_data[torch.randint(len(train_data), (args.batch_size,), generator=gen)]
            x0 = torch.randn(x1.shape, generator=gen).to(run.device)
            t = torch.rand(args.batch_size, generator=gen).to(run.device)
            with run.autocast():
                loss = flow_matching_loss(trained, x1, x0, t)
            optimizer.zero_grad(set_to_none=True)
            run.scaler.scale(loss).backward()
            run.scaler.step(optimizer)
            run.scaler.update()
            with torch.no_grad():  # ema <- decay * ema + (1 - decay) * weights
                for avg, p in zip(ema.parameters(), net.parameters(), strict=True):
                    avg.lerp_(p, 1 - args.ema)
            running += loss.detach()  # no .item() here: the host waits only when it logs
            bar.update(1)
            if (step + 1) % log_every == 0 or step + 1 == steps:
                done = (step + 1) - (history[-1]["step"] if history else 0)
                history.append({"step": step + 1, "loss": running.item() / done})
                running.zero_()
                bar.set_postfix(loss=f"{history[-1]['loss']:.4f}", refresh=False)
            if (step + 1) % run.options.checkpoint_every == 0 or step + 1 == steps:
                run.save_checkpoint({"net": net.state_dict(), "ema": ema.state_dict(),
                                     "optimizer": optimizer.state_dict(), "step": step + 1,
                                     "history": history, "running": running.cpu()})
    return history


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


def evaluate(ema: VelocityField, data, images: bool, args: argparse.Namespace,
             run: runtime.Session) -> tuple[dict, dict, torch.Tensor, torch.Tensor]:
    """Sample with the weight average, judge the samples, and measure quality against steps.

    Returns (metrics, bars, samples, path of the first 300 samples)."""
    ema.eval()
    dim = data.dim if images else 2
    judge = DigitJudge(data, epochs=2 if args.dry_run else 40) if images else PointJudge(data)
    to_image = (lambda x: ((x.float().cpu() + 1) / 2).clamp(0, 1)) if images else \
        (lambda x: x.float().cpu())
    noise = torch.randn(judge.samples_needed, dim,
                        generator=torch.Generator().manual_seed(args.seed)).to(run.device)
    with run.timed("sample"):
        samples, path = sample(ema, noise, args.sample_steps, args.sampler, keep=300)
    samples = to_image(samples)
    score, reference = judge.score(samples), judge.reference()
    bars = digit_bar_records(score, reference) if images else point_bar_records(score, reference)
    # The same noise through each solver at each number of steps: quality against network calls.
    sweep: dict[str, list[dict]] = {}
    for method in ("euler", "heun"):
        sweep[method] = [{"steps": steps, "network_calls": network_calls(method, steps),
                          **judge.quality(to_image(sample(ema, noise, steps, method)[0]))}
                         for steps in (SWEEP[:2] if args.dry_run else SWEEP)]
    metrics = {"example": "flow_matching", "data": data.name, "sampler": args.sampler,
               "sample_steps": args.sample_steps,
               "network_calls_per_sample": network_calls(args.sampler, args.sample_steps),
               "judge": {"samples": score, "real": reference}, "steps_sweep": sweep}
    return metrics, bars, samples, path


def save_figures(out: Path, data, images: bool, samples: torch.Tensor, path: torch.Tensor,
                 metrics: dict, args: argparse.Namespace, steps: int) -> list[str]:
    """samples.png, paths.png (x_t along the way) and steps.png for images; <data>.png,
    <data>-paths.png (the learnt paths) and <data>-steps.png for points."""
    label = f"{args.sampler}, {args.sample_steps} steps"
    sweep = metrics["steps_sweep"]
    keys = ["precision", "recall", "recognisable"] if images else ["precision", "recall", "energy"]
    real = metrics["judge"]["real"]
    if images:
        reference = [real["precision_features"]["mean"], real["recall_features"]["mean"],
                     real["recognisable_all"]]
        save_grid(out / "samples.png", image_grid(samples[:100], 10, 10, data.shape),
                  f"Flow matching samples ({label}), {steps} training steps")
        columns = list(dict.fromkeys(round(f * (len(path) - 1)) for f in
                                     (0, 0.2, 0.4, 0.6, 0.7, 0.8, 0.9, 1.0)))
        frames = ((path[columns, :8] + 1) / 2).clamp(0, 1).transpose(0, 1)  # (8, times, D)
        save_grid(out / "paths.png",
                  image_grid(frames.reshape(-1, data.dim), 8, len(columns), data.shape),
                  "x_t from noise (t = 0, left) to a digit (t = 1, right)",
                  cell=(data.shape[0] + 1, data.shape[1] + 1),
                  col_labels=[f"t={c / (len(path) - 1):.1f}" for c in columns])
        names = ["samples.png", "paths.png"]
    else:
        reference = [real["precision"]["mean"], real["recall"]["mean"], real["energy"]["mean"]]
        save_points(out / f"{args.data}.png",
                    [("real (held out)", data.sample(2000, seed=30_000)),
                     (f"flow matching ({label})", samples)],
                    data.train, f"Flow matching on {args.data}, {steps} training steps",
                    modes=data.modes)
        save_paths(out / f"{args.data}-paths.png", path, data.train,
                   f"Learnt paths: 300 samples, {label}")
        names = [f"{args.data}.png", f"{args.data}-paths.png"]
    panels = [(key, {method: ([r["network_calls"] for r in rows], [r[key] for r in rows])
                     for method, rows in sweep.items()}) for key in keys]
    steps_figure = "steps.png" if images else f"{args.data}-steps.png"
    save_curves(out / steps_figure, panels, "Quality against network calls per sample",
                "network calls per sample", reference)
    return [*names, steps_figure]


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    images = args.data in IMAGE_DATASETS
    if not 0 <= args.ema < 1:
        runtime.fail(f"--ema {args.ema}: must be in [0, 1)")
    if not args.lr > 0:
        runtime.fail(f"--lr {args.lr}: must be positive")
    try:
        data = load_images(args.data, args.data_dir) if images else load_points(args.data)
    except DataError as err:
        runtime.fail(str(err))
    steps = min(args.steps, runtime.DRY_RUN_STEPS) if args.dry_run else args.steps
    options = runtime.Options.from_args(args, steps=steps)
    with runtime.session(options, "flow_matching") as run:
        if run.device.type == "cpu" and args.threads > 0:
            torch.set_num_threads(args.threads)
        dim = data.dim if images else 2
        to_model = (lambda x: 2 * x - 1) if images else (lambda x: x)  # images in [-1, 1]
        net = VelocityField(dim, args.hidden, args.blocks).to(run.device)
        ema = copy.deepcopy(net).requires_grad_(False)
        history = train(net, ema, to_model(data.train).to(run.device), args, run)
        digests = run.parameter_digests(nn.ModuleDict({"net": net, "ema": ema}))
        if run.is_main:  # rank 0 alone evaluates; the others wait for it at the session's end
            metrics, bars, samples, path = evaluate(ema, data, images, args, run)
            run.out.mkdir(parents=True, exist_ok=True)
            figures = save_figures(run.out, data, images, samples, path, metrics, args,
                                   options.steps)
            run.write_metrics({**metrics, "history": history, "figures": figures,
                               "parameter_digests": digests}, bars)
    return 0


if __name__ == "__main__":
    sys.exit(main())
