"""A variational autoencoder (Kingma & Welling, 2014) that learns to draw 8x8 digits, on a CPU.

The model. A latent code z ~ p(z) = N(0, I) is decoded into a distribution over images p(x | z);
here every pixel gets its own categorical distribution over the 17 grey levels the digits have,

    p(x | z) = prod_i Cat(x_i ; softmax(decoder(z)_i)).

The true posterior p(z | x) is intractable, so an encoder proposes q(z | x) = N(mu(x), diag s(x)^2)
and training maximises the evidence lower bound (ELBO) on log p(x):

    log p(x) >= E_q[log p(x | z)] - KL(q(z | x) || p(z)) = -(reconstruction + KL),

    reconstruction = -E_q[log p(x | z)]        (estimated with one z per image while training)
    KL             = 1/2 sum_j (mu_j^2 + s_j^2 - 1 - log s_j^2)      (exact for two Gaussians)

The reparameterization trick, z = mu + s * eps with eps ~ N(0, I), makes the sampled z a smooth
function of the encoder's outputs, so gradients reach the encoder through the reconstruction term.

Both terms are logged separately: reconstruction says how much of each image the code carries,
KL how many nats that code costs. The bar is honest because it uses the same likelihood: the test
negative ELBO (an upper bound on the VAE's negative log-likelihood, in nats per image) is compared
with the best model that treats pixels independently (a smoothed categorical histogram per pixel,
fitted to the same training digits in the same run, smoothing chosen on the test digits in its
favour). The VAE must be at least 10% better. Samples are also scored by the shared judge.

Run: python examples/vae/vae.py [--steps N] [--device cuda] ...; see examples/README.md.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # examples/: runtime, judge, data

import runtime  # noqa: E402
from figures import image_grid, save_grid  # noqa: E402
from judge import DigitJudge, digit_bars  # noqa: E402
from offline_data import DataError, ImageData, load_images  # noqa: E402

BAR_IMPROVEMENT = 0.10  # the test negative ELBO must beat the independent-pixel model by 10%


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


class Encoder(nn.Module):
    """q(z | x) = N(mu(x), diag exp(log_var(x))): one MLP, two heads."""

    def __init__(self, pixels: int, hidden: int, latent: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(pixels, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.mu = nn.Linear(hidden, latent)
        self.log_var = nn.Linear(hidden, latent)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.mu(h), self.log_var(h)


class Decoder(nn.Module):
    """p(x | z): logits of a categorical distribution over LEVELS grey levels for every pixel.

    Dropout is the regulariser: 1,347 training digits are few, and without it the decoder learns
    them by heart (training ELBO falls, test ELBO rises).
    """

    def __init__(self, latent: int, hidden: int, pixels: int, levels: int, dropout: float) -> None:
        super().__init__()
        self.pixels, self.levels = pixels, levels
        self.net = nn.Sequential(
            nn.Linear(latent, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, pixels * levels))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, self.pixels, self.levels)


class VAE(nn.Module):
    def __init__(self, pixels: int, levels: int, hidden: int, latent: int, dropout: float) -> None:
        super().__init__()
        self.levels, self.latent = levels, latent
        self.encoder = Encoder(pixels, hidden, latent)
        self.decoder = Decoder(latent, hidden, pixels, levels, dropout)

    def to_input(self, x_levels: torch.Tensor) -> torch.Tensor:
        return x_levels.float() / (self.levels - 1)

    def forward(self, x_levels: torch.Tensor, z_samples: int = 1) -> tuple[torch.Tensor, ...]:
        """Per-image (reconstruction, KL) in nats; their sum is the negative ELBO.

        X_LEVELS holds integer grey levels (0..levels-1). The reconstruction term is averaged over
        Z_SAMPLES draws of z: still an unbiased estimate of the same ELBO, with less noise.
        """
        mu, log_var = self.encoder(self.to_input(x_levels))  # (B, latent) each
        kl = 0.5 * (mu.pow(2) + log_var.exp() - 1 - log_var).sum(1)  # (B,)
        reconstruction = torch.zeros_like(kl)
        for _ in range(z_samples):
            z = mu + (0.5 * log_var).exp() * torch.randn_like(mu)  # reparameterization
            logits = self.decoder(z)  # (B, pixels, levels)
            # -log p(x | z) = sum over pixels of the cross-entropy of the true level.
            nll = F.cross_entropy(logits.transpose(1, 2), x_levels, reduction="none").sum(1)
            reconstruction = reconstruction + nll / z_samples
        return reconstruction, kl

    def mean_image(self, z: torch.Tensor) -> torch.Tensor:
        """The expected intensity in [0, 1] of every pixel under p(x | z)."""
        probs = self.decoder(z).softmax(-1)
        grey = torch.linspace(0, 1, self.levels, device=z.device)
        return probs @ grey

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode z ~ N(0, I). Figures and the judge see each pixel's mean: sampling every pixel
        independently as well would add salt-and-pepper noise that the model itself calls
        independent of everything else."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent, generator=generator).to(device)
        return self.mean_image(z)


# ---------------------------------------------------------------------------------------------
# The baseline the bar is measured against
# ---------------------------------------------------------------------------------------------


def independent_pixel_nll(train_levels: torch.Tensor, test_levels: torch.Tensor,
                          levels: int) -> dict:
    """Best per-pixel categorical model: histogram of each pixel + additive smoothing alpha.

    The smoothing is chosen on the test set itself, which favours the baseline: the VAE's margin
    is, if anything, understated.
    """
    counts = F.one_hot(train_levels, levels).sum(0).double()  # (pixels, levels)
    best = None
    for alpha in (0.01, 0.03, 0.1, 0.3, 1.0, 3.0):
        log_p = ((counts + alpha) / (counts + alpha).sum(1, keepdim=True)).log()
        nll = float(-log_p.gather(1, test_levels.T).sum(0).mean())
        if best is None or nll < best["test_nll"]:
            best = {"test_nll": nll, "smoothing": alpha}
    return best


# ---------------------------------------------------------------------------------------------
# Evaluation and figures
# ---------------------------------------------------------------------------------------------


@torch.no_grad()
def test_elbo(model: VAE, x_levels: torch.Tensor, device: torch.device) -> dict:
    """Negative ELBO on held-out digits (10 z draws per image, fixed seed), in nats per image."""
    model.eval()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        reconstruction, kl = model(x_levels.to(device), z_samples=10)
    model.train()
    return {"test_neg_elbo": float((reconstruction + kl).mean()),
            "test_reconstruction": float(reconstruction.mean()), "test_kl": float(kl.mean())}


@torch.no_grad()
def save_figures(model: VAE, data: ImageData, out: Path, device: torch.device) -> list[str]:
    """samples.png, reconstructions.png and latent_walk.png under OUT."""
    model.eval()
    cell = (data.shape[0] + 1, data.shape[1] + 1)
    samples = model.sample(100, torch.Generator().manual_seed(0))
    save_grid(out / "samples.png", image_grid(samples, 10, 10, data.shape),
              "VAE samples: z ~ N(0, I), mean of p(x | z)")
    rows = min(5, len(data.test) // 10)  # pairs of rows: 10 real digits, their reconstructions
    real = data.test[: rows * 10].to(device)
    recon = model.mean_image(model.encoder(real)[0])
    pairs = torch.stack([real.view(rows, 10, -1), recon.view(rows, 10, -1)], dim=1)
    save_grid(out / "reconstructions.png",
              image_grid(pairs.reshape(rows * 20, -1), 2 * rows, 10, data.shape),
              "Held-out digits and their reconstructions", cell=cell,
              row_labels=["real", "recon."] * rows)
    # Walk a plane of latent space: the two directions that carry the most information (highest
    # average KL on held-out digits), from the 5% to the 95% quantile of the prior; others at 0.
    mu, log_var = model.encoder(data.test.to(device))
    kl_per_dim = 0.5 * (mu.pow(2) + log_var.exp() - 1 - log_var).mean(0)
    first, second = kl_per_dim.topk(2).indices.tolist()
    steps = torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(0.05, 0.95, 12))
    z = torch.zeros(12, 12, model.latent)
    z[:, :, first] = steps.view(-1, 1)
    z[:, :, second] = steps.view(1, -1)
    walk = model.mean_image(z.view(144, -1).to(device))
    save_grid(out / "latent_walk.png", image_grid(walk, 12, 12, data.shape),
              f"Latent walk: z[{first}] down, z[{second}] across")
    model.train()
    return ["samples.png", "reconstructions.png", "latent_walk.png"]


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


def train(model: VAE, train_levels: torch.Tensor, args: argparse.Namespace,
          run: runtime.Session) -> list[dict]:
    """Adam on the negative ELBO of random batches; returns the logged history."""
    steps = run.options.steps
    trained = run.wrap(model)  # DDP under torchrun: gradients averaged over ranks
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    history: list[dict] = []
    start = 0
    if (state := run.load_checkpoint()) is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start, history = state["step"], state["history"]
    log_every = max(1, steps // 20)

    with run.progress(steps, start) as bar:
        for step in range(start, steps):
            # Cosine decay from the peak rate to 5% of it: a pure function of the step.
            cosine = 0.5 * (1 + math.cos(math.pi * step / steps))
            for group in optimizer.param_groups:
                group["lr"] = args.lr * (0.05 + 0.95 * cosine)
            gen = run.generator(step)  # this step's batch: a function of (seed, step, rank)
            idx = torch.randint(len(train_levels), (args.batch_size,), generator=gen)
            with run.autocast():
                reconstruction, kl = trained(train_levels[idx].to(run.device))
            loss = (reconstruction + kl).float().mean()
            optimizer.zero_grad(set_to_none=True)
            run.scaler.scale(loss).backward()
            run.scaler.step(optimizer)
            run.scaler.update()
            bar.update(1)
            if (step + 1) % log_every == 0 or step + 1 == steps:
                record = {"step": step + 1, "neg_elbo": loss.item(),
                          "reconstruction": reconstruction.detach().float().mean().item(),
                          "kl": kl.detach().float().mean().item()}
                history.append(record)
                bar.set_postfix(neg_elbo=f"{record['neg_elbo']:.1f}",
                                kl=f"{record['kl']:.1f}", refresh=False)
            if (step + 1) % run.options.checkpoint_every == 0 or step + 1 == steps:
                run.save_checkpoint({"model": model.state_dict(),
                                     "optimizer": optimizer.state_dict(),
                                     "step": step + 1, "history": history})
    return history


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


def evaluate(model: VAE, data: ImageData, train_levels: torch.Tensor, test_levels: torch.Tensor,
             args: argparse.Namespace, run: runtime.Session) -> tuple[dict, dict]:
    """Test negative ELBO against the independent-pixel baseline, and the judge's scores.
    Returns (metrics, bars)."""
    baseline = independent_pixel_nll(train_levels, test_levels, data.levels)
    elbo = test_elbo(model, test_levels, run.device)
    judge = DigitJudge(data, epochs=2 if args.dry_run else 40)
    samples = model.sample(judge.samples_needed * 2, torch.Generator().manual_seed(args.seed))
    score, baselines = judge.score(samples), judge.baselines()
    improvement = 1 - elbo["test_neg_elbo"] / baseline["test_nll"]
    metrics = {
        "example": "vae",
        "data": data.name,
        **elbo,
        "independent_pixel_test_nll": baseline["test_nll"],
        "independent_pixel_smoothing": baseline["smoothing"],
        "improvement_over_independent_pixels": improvement,
        # The image bars belong to the GAN and diffusion; for the VAE they inform.
        "judge": {"samples": score, **baselines, "bars": digit_bars(score, baselines)},
    }
    bars = {"neg_elbo_10pct_better_than_independent_pixels":
            runtime.bar(improvement, ">=", BAR_IMPROVEMENT)}
    return metrics, bars


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    runtime.add_options(parser, steps=3000, checkpoint_every=500)
    parser.add_argument("--data", choices=("digits", "idx"), default="digits",
                        help="digits: scikit-learn's 8x8 digits; idx: MNIST-style files on disk")
    parser.add_argument("--data-dir", help="folder with train-images-idx3-ubyte[.gz] and labels")
    parser.add_argument("--batch-size", type=runtime.positive_int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (Adam)")
    parser.add_argument("--hidden", type=runtime.positive_int, default=256)
    parser.add_argument("--latent", type=runtime.positive_int, default=16, help="dimensions of z")
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads (default 1: this small model trains faster on one "
                             "thread per process than on two; 0: PyTorch's choice)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.latent < 2:
        runtime.fail("--latent must be at least 2 (the latent-walk figure spans two dimensions)")
    if not 0 <= args.dropout < 1:
        runtime.fail(f"--dropout {args.dropout}: must be in [0, 1)")
    try:
        data = load_images(args.data, args.data_dir)
    except DataError as err:
        runtime.fail(str(err))
    options = runtime.Options.from_args(args, steps=min(args.steps, 3) if args.dry_run
                                        else args.steps)
    with runtime.session(options, "vae") as run:
        if run.device.type == "cpu" and args.threads > 0:
            torch.set_num_threads(args.threads)
        # The likelihood is over the stored grey levels: back from [0, 1] to integers.
        train_levels = (data.train * (data.levels - 1)).round().long()
        test_levels = (data.test * (data.levels - 1)).round().long()
        model = VAE(data.dim, data.levels, args.hidden, args.latent, args.dropout).to(run.device)
        history = train(model, train_levels, args, run)
        digests = run.parameter_digests(model)
        if run.is_main:  # rank 0 alone evaluates; the others wait for it at the session's end
            metrics, bars = evaluate(model, data, train_levels, test_levels, args, run)
            run.out.mkdir(parents=True, exist_ok=True)
            figures = save_figures(model, data, run.out, run.device)
            run.write_metrics({**metrics, "history": history, "figures": figures,
                               "parameter_digests": digests}, bars)
    return 0


if __name__ == "__main__":
    sys.exit(main())
