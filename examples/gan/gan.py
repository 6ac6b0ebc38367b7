"""A generative adversarial network (Goodfellow et al., 2014) on 8x8 digits or on 2-D points.

Two networks play a game. The generator G turns noise z ~ N(0, I) into a sample G(z); the
discriminator D(x) is a logit that says how real x looks, with sigma(D(x)) the probability "real".
The original minimax objective is

    min_G max_D  E_data[log sigma(D(x))] + E_z[log(1 - sigma(D(G(z))))].

For D this is ordinary logistic regression, real against fake. For G, minimising
log(1 - sigma(D(G(z)))) gives almost no gradient early on, when D rejects every sample with
confidence (the curve is flat near sigma = 0). In practice G instead maximises log sigma(D(G(z))),
the *non-saturating* loss: same fixed point, strong gradient exactly when G is losing. Both are
here (--loss nonsaturating, the default, or --loss minimax); with softplus(u) = log(1 + e^u):

    D loss              = softplus(-D(x)) + softplus(D(G(z)))
    G loss, minimax     = -softplus(D(G(z)))             (= log(1 - sigma(D(G(z)))))
    G loss, non-sat.    =  softplus(-D(G(z)))            (= -log sigma(D(G(z))))

One more ingredient makes small GANs train reliably: the R1 penalty (Mescheder et al., 2018),
(gamma / 2) E_data |grad_x D(x)|^2, which stops D from growing steep walls around the few real
points it has seen; without it (--r1 0) D memorises the 1,347 training digits and G collapses.

On the ring a continuous G of one Gaussian must also lay a thin bridge of samples between
neighbouring modes. A one-hot code c joined to z lets G jump instead, but nothing makes it use
the code: InfoGAN (Chen et al., 2016) does, by maximising a lower bound on the mutual
information between the code and the sample,

    I(c; G(z, c)) >= E_{c, z}[log Q(c | G(z, c))] + H(c),

with Q a classifier trained with G to name the code from the sample. G's loss gains
--info * cross_entropy(Q(G(z, c)), c); each code then has to draw something Q can tell apart,
and a mode each is the easiest way (--info 0, the default for digits, leaves it out).

The losses above say little about sample quality (D's loss hovers near log 4 when the game is
balanced, whatever G draws), so samples are scored by the shared judge (examples/judge.py): a
copying test, precision and recall, an unbiased two-sample distance, and for digits the share a
classifier recognises and the share of each class; for the ring, which modes the samples cover.

Run: python examples/gan/gan.py [--data digits|ring|moons|idx] [--steps N] ...; see
examples/README.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

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


def mlp(sizes: list[int], out: nn.Module | None = None) -> nn.Sequential:
    """Linear layers with LeakyReLU(0.2) between them (and OUT after the last, if given)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.LeakyReLU(0.2))
    if out is not None:
        layers.append(out)
    return nn.Sequential(*layers)


class Generator(nn.Module):
    """z -> a sample. Images end in a sigmoid (pixels in [0, 1]), points are free.

    z is Gaussian noise joined to a one-hot code drawn uniformly from CODES values (none if
    CODES is 0). A continuous map of one Gaussian must put samples in the gaps between
    separated classes or modes; the code gives G a way to jump between them (nobody tells it
    which code means what).
    """

    def __init__(self, noise: int, codes: int, hidden: int, depth: int, dim: int,
                 images: bool) -> None:
        super().__init__()
        self.noise, self.codes = noise, codes
        self.net = mlp([noise + codes] + [hidden] * depth + [dim],
                       nn.Sigmoid() if images else None)

    def latent(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """N draws of z on the CPU: (N, noise + codes)."""
        z = torch.randn(n, self.noise, generator=generator)
        if not self.codes:
            return z
        code = torch.randint(self.codes, (n,), generator=generator)
        return torch.cat([z, F.one_hot(code, self.codes).float()], dim=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Discriminator(nn.Module):
    """A sample -> one logit, "how real does this look"."""

    def __init__(self, dim: int, hidden: int, depth: int) -> None:
        super().__init__()
        self.net = mlp([dim] + [hidden] * depth + [1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


class CodeNamer(nn.Module):
    """Q(c | x) of InfoGAN: a sample -> logits over the CODES values of the code."""

    def __init__(self, dim: int, hidden: int, codes: int) -> None:
        super().__init__()
        self.net = mlp([dim, hidden, hidden, codes])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def discriminator_loss(d: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                       r1: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Logistic loss, real against fake, plus the R1 penalty on real samples. Returns both."""
    real = real.detach().requires_grad_(r1 > 0)
    real_logits = d(real)
    loss = F.softplus(-real_logits).mean() + F.softplus(d(fake.detach())).mean()
    penalty = torch.zeros((), device=real.device)
    if r1 > 0:
        (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
        penalty = 0.5 * r1 * grad.pow(2).sum(1).mean()
    return loss + penalty, penalty


def generator_loss(d: nn.Module, fake: torch.Tensor, kind: str) -> torch.Tensor:
    logits = d(fake)
    if kind == "minimax":  # minimise log(1 - sigma(D(G(z)))), the game as first written
        return -F.softplus(logits).mean()
    return F.softplus(-logits).mean()  # non-saturating: minimise -log sigma(D(G(z)))


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

# Defaults that differ between images and 2-D points; each can be set on the command line.
DEFAULTS = {
    "images": {"steps": 8000, "noise": 32, "codes": 10, "hidden": 256, "depth": 2,
               "batch_size": 128, "r1": 1.0, "info": 0.0},
    "points": {"steps": 3000, "noise": 12, "codes": 8, "hidden": 128, "depth": 3,
               "batch_size": 256, "r1": 2.0, "info": 1.0},
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    runtime.add_options(parser, steps=DEFAULTS["images"]["steps"], checkpoint_every=500,
                        steps_help="training steps (images 8000, points 3000)")
    parser.add_argument("--data", choices=IMAGE_DATASETS + POINT_DATASETS, default="digits",
                        help="digits (default), idx (MNIST-style files, see --data-dir), "
                             "ring (8 Gaussians) or moons")
    parser.add_argument("--data-dir", help="folder with train-images-idx3-ubyte[.gz] and labels")
    parser.add_argument("--loss", choices=("nonsaturating", "minimax"), default="nonsaturating",
                        help="the generator's loss (default: non-saturating)")
    parser.add_argument("--lr", type=float, default=2e-4, help="Adam, both networks")
    for name, kind in (("noise", int), ("codes", int), ("hidden", int), ("depth", int),
                       ("batch_size", int), ("r1", float), ("info", float)):
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind,
                            help=f"images: {DEFAULTS['images'][name]}, "
                                 f"points: {DEFAULTS['points'][name]}")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads (default 1: this small model trains faster on one "
                             "thread per process than on two; 0: PyTorch's choice)")
    return parser


def parse(argv: list[str] | None) -> argparse.Namespace:
    """Parse twice: --data decides the defaults of the other options (--steps included)."""
    parser = build_parser()
    known, _ = parser.parse_known_args(argv)
    kind = "images" if known.data in IMAGE_DATASETS else "points"
    parser.set_defaults(**DEFAULTS[kind])  # options given on the command line still win
    return parser.parse_args(argv)


def average_gradients(run: runtime.Session, *modules: nn.Module) -> None:
    """What DDP does, spelled out: R1's double backward is outside what DDP supports."""
    for module in modules:
        for p in module.parameters():
            if p.grad is not None:
                p.grad.copy_(run.all_reduce_mean(p.grad))


def train(g: Generator, d: Discriminator, q: CodeNamer | None, train_data: torch.Tensor,
          args: argparse.Namespace, run: runtime.Session) -> list[dict]:
    """Alternate one discriminator step and one generator step (with Q, InfoGAN's code
    namer, when Q is given); returns the logged history."""
    steps = run.options.steps
    # beta1 = 0.5: the usual GAN setting; momentum chases a moving opponent badly.
    opt_g = torch.optim.Adam(g.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=args.lr, betas=(0.5, 0.999))
    parts: dict[str, nn.Module | torch.optim.Optimizer] = {
        "g": g, "d": d, "opt_g": opt_g, "opt_d": opt_d}
    g_side, g_optimizers = [g], [opt_g]  # what the generator's step updates
    if q is not None:  # Q learns alongside G: both lower the same cross-entropy
        opt_q = torch.optim.Adam(q.parameters(), lr=args.lr, betas=(0.5, 0.999))
        parts |= {"q": q, "opt_q": opt_q}
        g_side.append(q)
        g_optimizers.append(opt_q)
    history: list[dict] = []
    start = 0
    if (state := run.load_checkpoint()) is not None:
        for key, obj in parts.items():
            obj.load_state_dict(state[key])
        start, history = state["step"], state["history"]
    log_every = max(1, steps // 20)
    # --compile: G always; D only without R1, whose double backward torch.compile lacks.
    g_fwd = torch.compile(g) if args.compile else g
    d_fwd = torch.compile(d) if args.compile and args.r1 == 0 else d

    with run.progress(steps, start) as bar:
        for step in range(start, steps):
            gen = run.generator(step)  # batch and noise: a function of (seed, step, rank)
            real = train_data[torch.randint(len(train_data), (args.batch_size,), generator=gen)]
            z = g.latent(args.batch_size, gen).to(run.device)
            with run.autocast():
                fake = g_fwd(z)  # (B, D), D = 64 pixels or 2 coordinates
                # 1. Discriminator: one step of logistic regression, real vs. fake (+ R1).
                d_loss, penalty = discriminator_loss(d_fwd, real, fake, args.r1)
            opt_d.zero_grad(set_to_none=True)
            run.scaler.scale(d_loss).backward()
            average_gradients(run, d)
            run.scaler.step(opt_d)
            # 2. Generator: one step against the updated discriminator; with InfoGAN, G and Q
            #    also lower -log Q(c | G(z, c)), the code's cross-entropy.
            with run.autocast():
                g_loss = generator_loss(d_fwd, fake, args.loss)
                if q is not None:
                    code = z[:, g.noise:].argmax(1)  # the one-hot part of the latent
                    g_loss = g_loss + args.info * F.cross_entropy(q(fake).float(), code)
            for optimizer in g_optimizers:
                optimizer.zero_grad(set_to_none=True)
            run.scaler.scale(g_loss).backward()
            average_gradients(run, *g_side)
            for optimizer in g_optimizers:
                run.scaler.step(optimizer)
            run.scaler.update()
            bar.update(1)
            if (step + 1) % log_every == 0 or step + 1 == steps:
                record = {"step": step + 1, "d_loss": d_loss.item(), "g_loss": g_loss.item(),
                          "r1_penalty": penalty.item()}
                history.append(record)
                bar.set_postfix(d=f"{record['d_loss']:.3f}", g=f"{record['g_loss']:.3f}",
                                refresh=False)
            if (step + 1) % run.options.checkpoint_every == 0 or step + 1 == steps:
                run.save_checkpoint({**{key: obj.state_dict() for key, obj in parts.items()},
                                     "step": step + 1, "history": history})
    return history


def evaluate(g: Generator, data, images: bool, args: argparse.Namespace,
             run: runtime.Session) -> tuple[dict, dict, torch.Tensor]:
    """The judge's scores of G's samples against held-out real data.
    Returns (metrics, bars, samples)."""
    g.eval()
    judge = (DigitJudge(data, epochs=2 if args.dry_run else 40) if images
             else PointJudge(data))
    noise = g.latent(judge.samples_needed, torch.Generator().manual_seed(args.seed))
    with torch.no_grad():
        samples = g(noise.to(run.device)).float().cpu()
    score, reference = judge.score(samples), judge.reference()
    bars = digit_bar_records(score, reference) if images else point_bar_records(score, reference)
    metrics = {"example": "gan", "data": data.name, "loss": args.loss, "codes": args.codes,
               "info": args.info,
               "judge": {"samples": score, "real": reference}}
    return metrics, bars, samples


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    images = args.data in IMAGE_DATASETS
    if args.codes < 0:
        runtime.fail(f"--codes {args.codes}: must be 0 (no code) or more")
    if args.info < 0:
        runtime.fail(f"--info {args.info}: must be 0 (no InfoGAN term) or more")
    if args.info > 0 and args.codes < 2:
        runtime.fail(f"--info {args.info} needs a code to name: --codes 2 or more")
    try:
        data = load_images(args.data, args.data_dir) if images else load_points(args.data)
    except DataError as err:
        runtime.fail(str(err))
    steps = min(args.steps, runtime.DRY_RUN_STEPS) if args.dry_run else args.steps
    options = runtime.Options.from_args(args, steps=steps)
    with runtime.session(options, "gan") as run:
        if run.device.type == "cpu" and args.threads > 0:
            torch.set_num_threads(args.threads)
        dim = data.dim if images else 2
        g = Generator(args.noise, args.codes, args.hidden, args.depth, dim, images
                      ).to(run.device)
        d = Discriminator(dim, args.hidden, args.depth).to(run.device)
        q = CodeNamer(dim, args.hidden, args.codes).to(run.device) if args.info > 0 else None
        history = train(g, d, q, data.train.to(run.device), args, run)
        digests = run.parameter_digests(nn.ModuleDict({"g": g, "d": d}))
        if run.is_main:  # rank 0 alone evaluates; the others wait for it at the session's end
            metrics, bars, samples = evaluate(g, data, images, args, run)
            run.out.mkdir(parents=True, exist_ok=True)
            figure = "samples.png" if images else f"{args.data}.png"
            if images:
                save_grid(run.out / figure, image_grid(samples[:100], 10, 10, data.shape),
                          f"GAN samples ({args.loss} loss), {options.steps} steps")
            else:
                save_points(run.out / figure,
                            [("real (held out)", data.sample(2000, seed=30_000)),
                             ("GAN samples", samples)], data.train,
                            f"GAN on {args.data} ({args.loss} loss), {options.steps} steps",
                            modes=data.modes)
            run.write_metrics({**metrics, "history": history, "figures": [figure],
                               "parameter_digests": digests}, bars)
    return 0


if __name__ == "__main__":
    sys.exit(main())
