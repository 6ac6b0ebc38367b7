"""A denoising diffusion model (DDPM, Ho et al., 2020) on 8x8 digits or on 2-D points.

Forward process. Data x_0 is destroyed by T small Gaussian steps with variances beta_1..beta_T,
    q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I),
which compose into one jump from the data: with alpha_t = 1 - beta_t, abar_t = prod_{s<=t} alpha_s,
    q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I),
    i.e.  x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps,  eps ~ N(0, I).
After T = 1000 steps of the linear schedule beta = 1e-4 .. 0.02, x_T is pure N(0, I) noise.

Objective. A network eps_theta(x_t, t) learns to tell which noise was added; DDPM's simplified loss
    L = E_{x_0, t, eps} |eps - eps_theta(sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, t)|^2
is a reweighted variational bound, and it is a plain regression: no adversary, no collapse.

Ancestral sampling walks the chain back from x_T ~ N(0, I):
    x_{t-1} = (x_t - beta_t / sqrt(1 - abar_t) * eps_theta(x_t, t)) / sqrt(alpha_t) + sigma_t z,
with sigma_t^2 = beta_t and fresh z ~ N(0, I) (none at the last step): T network calls a sample.
DDIM (Song et al., 2021; --sampler ddim --sample-steps 50) reuses the same network
deterministically on a subsequence of the steps: predict x_0 from eps, then jump to the earlier
time along the same noise direction,
    x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t),
    x_s    = sqrt(abar_s) x0_hat + sqrt(1 - abar_s) eps.

Weights are averaged over training (an exponential moving average, as in DDPM) and the average
is what samples. Samples are scored by the shared judge: for digits a classifier trained on real
digits (class coverage, Fréchet distance against baselines), for 2-D points the energy distance to
held-out points.

Run: python examples/diffusion/diffusion.py [--data digits|ring|moons|idx] [--sampler ddim] ...;
see examples/README.md.
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # examples/: runtime, judge, data

import runtime  # noqa: E402
from figures import image_grid, save_grid, save_points  # noqa: E402
from judge import DigitJudge, PointJudge, digit_bar_records, point_bar_records  # noqa: E402
from offline_data import (  # noqa: E402
    IMAGE_DATASETS,
    POINT_DATASETS,
    DataError,
    load_images,
    load_points,
)

ENERGY_FACTOR = 2.0  # the 2-D bar: energy distance within 2x of the real-vs-real baseline


class Schedule:
    """beta_t, alpha_t and abar_t for t = 0..T-1 (the text's t = 1..T), as tensors."""

    def __init__(self, steps: int, device: torch.device | str = "cpu") -> None:
        # Linear from 1e-4 to 0.02 at T = 1000 (DDPM); rescaled so that a shorter chain destroys
        # the data as thoroughly (T >= 50 keeps every beta below 0.4).
        scale = 1000 / steps
        self.steps = steps
        self.beta = torch.linspace(1e-4 * scale, 0.02 * scale, steps, dtype=torch.float64)
        self.alpha = 1 - self.beta
        self.abar = self.alpha.cumprod(0)
        for name in ("beta", "alpha", "abar"):
            setattr(self, name, getattr(self, name).float().to(device))

    def noise(self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Sample q(x_t | x_0) in one jump."""
        abar = self.abar[t].unsqueeze(1)
        return abar.sqrt() * x0 + (1 - abar).sqrt() * eps


def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features of the step number, as for Transformer positions."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device) / half)
    angles = t.float().unsqueeze(1) * freqs
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class NoisePredictor(nn.Module):
    """eps_theta(x_t, t): an MLP with residual blocks, h <- h + W silu(h).

    The step's embedding is added to the input features once; the residual stream carries it.
    (Adding it again before every block trained worse on the ring: blurred modes.)
    """

    def __init__(self, dim: int, hidden: int, blocks: int = 3, time_dim: int = 64) -> None:
        super().__init__()
        self.time_dim = time_dim
        self.time = nn.Sequential(nn.Linear(time_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.inp = nn.Linear(dim, hidden)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.SiLU(), nn.Linear(hidden, hidden))
            for _ in range(blocks))
        self.out = nn.Sequential(nn.SiLU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        emb = self.time(time_embedding(t, self.time_dim))  # (B,) -> (B, hidden)
        h = self.inp(x) + emb
        for block in self.blocks:
            h = h + block(h)
        return self.out(h)


@torch.no_grad()
def sample_ddpm(net: nn.Module, sched: Schedule, n: int, dim: int, generator: torch.Generator,
                device: torch.device | str,
                keep: tuple[int, ...] = ()) -> tuple[torch.Tensor, dict]:
    """Ancestral sampling, x_T -> x_0. Returns x_0 and {t: x_t} for the steps in KEEP."""
    x = torch.randn(n, dim, generator=generator).to(device)
    trajectory = {}
    for t in reversed(range(sched.steps)):
        if t + 1 in keep:
            trajectory[t + 1] = x.cpu()
        eps = net(x, torch.full((n,), t, device=device))
        mean = (x - sched.beta[t] / (1 - sched.abar[t]).sqrt() * eps) / sched.alpha[t].sqrt()
        if t > 0:
            x = mean + sched.beta[t].sqrt() * torch.randn(n, dim, generator=generator).to(device)
        else:
            x = mean
    trajectory[0] = x.cpu()
    return x, trajectory


@torch.no_grad()
def sample_ddim(net: nn.Module, sched: Schedule, n: int, dim: int, generator: torch.Generator,
                device: torch.device | str, steps: int,
                keep: tuple[int, ...] = ()) -> tuple[torch.Tensor, dict]:
    """Deterministic DDIM (eta = 0) on STEPS evenly spaced times of the same chain."""
    times = torch.linspace(sched.steps - 1, 0, steps).round().long().tolist()
    x = torch.randn(n, dim, generator=generator).to(device)
    trajectory = {}
    for i, t in enumerate(times):
        if t + 1 in keep or (i == 0 and sched.steps in keep):
            trajectory[t + 1] = x.cpu()
        eps = net(x, torch.full((n,), t, device=device))
        x0 = (x - (1 - sched.abar[t]).sqrt() * eps) / sched.abar[t].sqrt()
        if i + 1 < len(times):
            abar_s = sched.abar[times[i + 1]]
            x = abar_s.sqrt() * x0 + (1 - abar_s).sqrt() * eps
        else:
            x = x0
    trajectory[0] = x.cpu()
    return x, trajectory


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

# Defaults that differ between images and 2-D points; each can be set on the command line.
DEFAULTS = {
    "images": {"steps": 8000, "hidden": 256, "batch_size": 128},
    "points": {"steps": 6000, "hidden": 128, "batch_size": 256},
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    runtime.add_options(parser, steps=DEFAULTS["images"]["steps"], checkpoint_every=1000)
    parser.add_argument("--data", choices=IMAGE_DATASETS + POINT_DATASETS, default="digits",
                        help="digits (default), idx (MNIST-style files, see --data-dir), "
                             "ring (8 Gaussians) or moons")
    parser.add_argument("--data-dir", help="folder with train-images-idx3-ubyte[.gz] and labels")
    parser.add_argument("--hidden", type=runtime.positive_int,
                        help="width of the noise predictor (images 256, points 128)")
    parser.add_argument("--batch-size", type=runtime.positive_int,
                        help="images 128, points 256")
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (Adam)")
    parser.add_argument("--diffusion-steps", type=runtime.positive_int, default=1000,
                        help="T, the length of the noising chain (1000)")
    parser.add_argument("--ema", type=float, default=0.999,
                        help="decay of the weight average that samples (0.999)")
    parser.add_argument("--sampler", choices=("ddpm", "ddim"), default="ddpm",
                        help="ddpm: ancestral, T network calls; ddim: deterministic, fewer")
    parser.add_argument("--sample-steps", type=runtime.positive_int, default=50,
                        help="network calls per DDIM sample (50)")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads (default 1: one process per core; 0: PyTorch's "
                             "choice)")
    return parser


def parse(argv: list[str] | None) -> argparse.Namespace:
    """Parse twice: --data decides the defaults of the other options."""
    parser = build_parser()
    known, _ = parser.parse_known_args(argv)
    kind = "images" if known.data in IMAGE_DATASETS else "points"
    parser.set_defaults(**DEFAULTS[kind])  # options given on the command line still win
    return parser.parse_args(argv)


def train(net: NoisePredictor, ema: NoisePredictor, sched: Schedule, train_data: torch.Tensor,
          args: argparse.Namespace, run: runtime.Session) -> list[dict]:
    """Regress the added noise; keep the weight average EMA up to date. Returns the history."""
    steps = run.options.steps
    trained = run.wrap(net)  # DDP under torchrun: gradients averaged over ranks
    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr)
    history: list[dict] = []
    start = 0
    if (state := run.load_checkpoint()) is not None:
        net.load_state_dict(state["net"])
        ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        start, history = state["step"], state["history"]
    log_every = max(1, steps // 20)

    with run.progress(steps, start) as bar:
        for step in range(start, steps):
            # Warm up for 5% of the steps, then decay along a cosine to 5% of the peak.
            warm = max(1, steps // 20)
            cosine = 0.5 * (1 + math.cos(math.pi * max(0, step - warm) / steps))
            for group in optimizer.param_groups:
                group["lr"] = args.lr * min((step + 1) / warm, 0.05 + 0.95 * cosine)
            gen = run.generator(step)  # batch, times, noise: a function of (seed, step, rank)
            x0 = train_data[torch.randint(len(train_data), (args.batch_size,), generator=gen)]
            t = torch.randint(sched.steps, (args.batch_size,), generator=gen).to(run.device)
            eps = torch.randn(x0.shape, generator=gen).to(run.device)
            with run.autocast():
                # L = |eps - eps_theta(sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, t)|^2
                loss = (trained(sched.noise(x0, t, eps), t).float() - eps).pow(2).mean()
            optimizer.zero_grad(set_to_none=True)
            run.scaler.scale(loss).backward()
            run.scaler.step(optimizer)
            run.scaler.update()
            with torch.no_grad():  # ema <- decay * ema + (1 - decay) * weights
                for avg, p in zip(ema.parameters(), net.parameters(), strict=True):
                    avg.lerp_(p, 1 - args.ema)
            bar.update(1)
            if (step + 1) % log_every == 0 or step + 1 == steps:
                history.append({"step": step + 1, "loss": loss.item()})
                bar.set_postfix(loss=f"{history[-1]['loss']:.4f}", refresh=False)
            if (step + 1) % run.options.checkpoint_every == 0 or step + 1 == steps:
                run.save_checkpoint({"net": net.state_dict(), "ema": ema.state_dict(),
                                     "optimizer": optimizer.state_dict(),
                                     "step": step + 1, "history": history})
    return history


def evaluate(ema: NoisePredictor, sched: Schedule, data, images: bool, from_model,
             args: argparse.Namespace, run: runtime.Session
             ) -> tuple[dict, dict, torch.Tensor, dict]:
    """Sample with the weight average and judge the samples. Returns (metrics, bars, samples,
    trajectory)."""
    dim = data.dim if images else 2
    judge = (DigitJudge(data, epochs=2 if args.dry_run else 40) if images
             else PointJudge(data))
    n = max(1000, judge.samples_needed) if images else judge.samples_needed
    keep = tuple(int(f * sched.steps) for f in (1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05))
    gen = torch.Generator().manual_seed(args.seed)
    with run.timed("sample"):
        if args.sampler == "ddpm":
            samples, trajectory = sample_ddpm(ema, sched, n, dim, gen, run.device, keep)
        else:
            samples, trajectory = sample_ddim(ema, sched, n, dim, gen, run.device,
                                              args.sample_steps, keep)
    samples = from_model(samples.float().cpu())
    score, baselines = judge.score(samples), judge.baselines()
    bars = (digit_bar_records(score, baselines) if images
            else point_bar_records(score, baselines, energy_factor=ENERGY_FACTOR))
    metrics = {
        "example": "diffusion",
        "data": data.name,
        "sampler": args.sampler,
        "network_calls_per_sample": (sched.steps if args.sampler == "ddpm"
                                     else args.sample_steps),
        "judge": {"samples": score, **baselines},
    }
    return metrics, bars, samples, trajectory


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    images = args.data in IMAGE_DATASETS
    diffusion_steps = min(args.diffusion_steps, 100) if args.dry_run else args.diffusion_steps
    if diffusion_steps < 50:
        runtime.fail(f"--diffusion-steps {args.diffusion_steps}: use at least 50")
    if args.sample_steps > diffusion_steps:
        runtime.fail(f"--sample-steps {args.sample_steps}: at most --diffusion-steps")
    if not 0 <= args.ema < 1:
        runtime.fail(f"--ema {args.ema}: must be in [0, 1)")
    try:
        data = load_images(args.data, args.data_dir) if images else load_points(args.data)
    except DataError as err:
        runtime.fail(str(err))
    options = runtime.Options.from_args(args, steps=min(args.steps, 3) if args.dry_run
                                        else args.steps)
    with runtime.session(options, "diffusion") as run:
        if run.device.type == "cpu" and args.threads > 0:
            torch.set_num_threads(args.threads)
        dim = data.dim if images else 2
        # Images are scaled to [-1, 1] so that data and noise have comparable size.
        to_model = (lambda x: 2 * x - 1) if images else (lambda x: x)
        from_model = (lambda x: ((x + 1) / 2).clamp(0, 1)) if images else (lambda x: x)
        sched = Schedule(diffusion_steps, run.device)
        net = NoisePredictor(dim, args.hidden).to(run.device)
        ema = copy.deepcopy(net).requires_grad_(False)
        history = train(net, ema, sched, to_model(data.train).to(run.device), args, run)
        digests = run.parameter_digests(nn.ModuleDict({"net": net, "ema": ema}))
        if run.is_main:  # rank 0 alone evaluates; the others wait for it at the session's end
            metrics, bars, samples, trajectory = evaluate(ema, sched, data, images, from_model,
                                                          args, run)
            run.out.mkdir(parents=True, exist_ok=True)
            figures = save_figures(run.out, data, samples, trajectory, from_model, args,
                                   options.steps)
            run.write_metrics({**metrics, "history": history, "figures": figures,
                               "parameter_digests": digests}, bars)
    return 0


def save_figures(out: Path, data, samples: torch.Tensor, trajectory: dict,
                 from_model, args: argparse.Namespace, steps: int) -> list[str]:
    """samples.png and trajectory.png (images), or <data>.png and <data>-trajectory.png."""
    times = sorted(trajectory, reverse=True)  # T ... 0
    if args.data in IMAGE_DATASETS:
        save_grid(out / "samples.png", image_grid(samples[:100], 10, 10, data.shape),
                  f"Diffusion samples ({args.sampler}), {steps} training steps")
        rows = 8
        # Row r, column c: sample r at time times[c], from pure noise (left) to a digit (right).
        frames = torch.stack([from_model(trajectory[t][:rows]) for t in times], dim=1)
        cell = (data.shape[0] + 1, data.shape[1] + 1)
        save_grid(out / "trajectory.png",
                  image_grid(frames.reshape(rows * len(times), -1), rows, len(times), data.shape),
                  "Denoising: x_t from t = T (left) to t = 0 (right)", cell=cell,
                  col_labels=[f"t={t}" for t in times])
        return ["samples.png", "trajectory.png"]
    figure = f"{args.data}.png"
    save_points(out / figure, [("real (held out)", data.sample(2000, seed=30_000)),
                               (f"diffusion samples ({args.sampler})", samples)],
                data.train, f"Diffusion on {args.data}, {steps} training steps",
                modes=data.modes)
    shown = list(dict.fromkeys([times[0], *times[-5:]]))  # T, then where the modes form
    save_points(out / f"{args.data}-trajectory.png", [(f"t={t}", trajectory[t]) for t in shown],
                data.train, "Denoising: x_t from t = T to t = 0, over the data (grey)",
                limit=3.5)
    return [figure, f"{args.data}-trajectory.png"]


if __name__ == "__main__":
    sys.exit(main())
