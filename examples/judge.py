"""The judge: one honest yardstick for every generative example (VAE, GAN, diffusion).

A generator's own losses say little about its samples (a GAN's discriminator loss does not fall as
samples improve), so samples are judged by something trained independently inside the same run:

Images. A small MLP classifier is trained on the real training digits (never on samples). It gives
  * ``confident_share``: the share of samples it assigns to one class with probability >= 0.9;
  * ``class_shares``, ``min_class_share`` and ``evenness`` (entropy of the predicted-class histogram
    over log K; 1.0 is perfectly even): mode collapse shows up here as missing classes;
  * ``frechet_distance``: the Fréchet distance between Gaussians fitted to the classifier's hidden
    features of samples and of held-out real digits (FID's recipe, with an in-run feature extractor
    instead of Inception weights, which would need a download),
        FD = |mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^{1/2}).
  FD depends on the number of samples and the feature space, so a bare number means nothing; it is
  always set against two baselines computed in the same run with the same sample sizes:
  ``real_vs_real`` (one half of the held-out digits against the other: the best any model can hope
  for) and ``gaussian_fit`` (samples of an independent per-pixel Gaussian fitted to the training
  digits: blurry noise with the right mean and contrast per pixel).

Points. Two-dimensional samples are compared with held-out points by the energy distance
        E = 2 E|X - Y| - E|X - X'| - E|Y - Y'|,
  which is zero exactly when the distributions agree, averaged over several independent held-out
  sets, with the same two baselines (fresh real points; a single 2-D Gaussian fitted to the data).
  For a mixture of Gaussians it also counts which modes the samples cover.
"""

from __future__ import annotations

import math

import runtime
import torch
from offline_data import ImageData, PointData
from torch import nn
from torch.nn import functional as F

CONFIDENT = 0.9  # a sample is "recognised" when the judge gives one class at least this probability
MIN_CLASS_SHARE = 0.04  # the bar: no class below 4% of samples
JUDGE_SEED = 1234  # the judge never depends on the example's --seed: runs are judged alike


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to the rows of A and of B (float64 throughout)."""
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    # Tr((S_a S_b)^{1/2}) = sum of sqrt(eigenvalues of S_a^{1/2} S_b S_a^{1/2}), symmetric PSD.
    vals, vecs = torch.linalg.eigh(cov_a)
    root_a = vecs @ torch.diag(vals.clamp(min=0).sqrt()) @ vecs.T
    middle = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0)
    trace_term = cov_a.trace() + cov_b.trace() - 2 * middle.sqrt().sum()
    return float((mu_a - mu_b).pow(2).sum() + trace_term)


def energy_distance(x: torch.Tensor, y: torch.Tensor) -> float:
    """Energy distance (V-statistic): exactly 0 for identical sample sets, > 0 otherwise."""
    x, y = x.double(), y.double()
    xy = torch.cdist(x, y).mean()
    xx = torch.cdist(x, x).mean()
    yy = torch.cdist(y, y).mean()
    return float(2 * xy - xx - yy)


class Classifier(nn.Module):
    """Pixels -> 256 -> 128 hidden features (the FD feature space) -> class logits."""

    def __init__(self, dim: int, classes: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(dim, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU())
        self.head = nn.Linear(128, classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return features, self.head(features)


class DigitJudge:
    """Trained once per run on the real training images; scores any batch of generated images."""

    def __init__(self, data: ImageData, epochs: int = 40) -> None:
        self.data = data
        self.classes = int(max(data.train_labels.max(), data.test_labels.max())) + 1
        gen = torch.Generator().manual_seed(JUDGE_SEED)
        with torch.random.fork_rng(devices=[]):  # leave the example's own RNG stream untouched
            torch.manual_seed(JUDGE_SEED)
            self.net = Classifier(data.dim, self.classes)
        opt = torch.optim.Adam(self.net.parameters(), lr=2e-3, weight_decay=1e-4)
        x, y = data.train, data.train_labels
        for _ in range(epochs):
            for idx in torch.randperm(len(x), generator=gen).split(128):
                # Light pixel noise makes the judge less brittle on slightly-off samples.
                noisy = (x[idx] + 0.05 * torch.randn(x[idx].shape, generator=gen)).clamp(0, 1)
                loss = F.cross_entropy(self.net(noisy)[1], y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        self.net.eval()
        predicted = self.predict(data.test)[1].argmax(1)
        self.accuracy = float((predicted == data.test_labels).float().mean())
        # Held-out halves and Gaussian-fit samples, the same sizes as every generated comparison.
        half = len(data.test) // 2
        self.half = half
        self.ref_a, self.ref_b = data.test[:half], data.test[half : 2 * half]
        mean, std = data.train.mean(0), data.train.std(0)
        self.gaussian = (mean + std * torch.randn(2 * half, data.dim, generator=gen)).clamp(0, 1)
        self._feat_a = self.predict(self.ref_a)[0]
        self._feat_b = self.predict(self.ref_b)[0]

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(hidden features, class probabilities) of flattened images in [0, 1]."""
        pixels = torch.nan_to_num(images.detach().float().cpu(), nan=0.0).clamp(0, 1)
        features, logits = self.net(pixels)
        return features, logits.softmax(1)

    def _recognition(self, images: torch.Tensor) -> dict:
        probs = self.predict(images)[1]
        top, cls = probs.max(1)
        shares = torch.bincount(cls, minlength=self.classes).double() / len(cls)
        nonzero = shares[shares > 0]
        evenness = float(-(nonzero * nonzero.log()).sum() / math.log(self.classes))
        return {
            "confident_share": float((top >= CONFIDENT).double().mean()),
            "class_shares": [round(float(s), 4) for s in shares],
            "classes_present": int((shares > 0).sum()),
            "min_class_share": float(shares.min()),
            "evenness": evenness,
        }

    def _fd_against_halves(self, images: torch.Tensor) -> float:
        """Mean FD of two disjoint chunks of IMAGES against the two held-out halves."""
        if len(images) < 2 * self.half:
            raise ValueError(f"the judge needs at least {2 * self.half} samples, got {len(images)}")
        feats = self.predict(images[: 2 * self.half])[0]
        return 0.5 * (frechet_distance(feats[: self.half], self._feat_a)
                      + frechet_distance(feats[self.half :], self._feat_b))

    def baselines(self) -> dict:
        """What real held-out digits and a per-pixel Gaussian fit score on the same yardstick."""
        real = self._recognition(self.data.test)
        real["frechet_distance"] = frechet_distance(self._feat_a, self._feat_b)
        gauss = self._recognition(self.gaussian)
        gauss["frechet_distance"] = self._fd_against_halves(self.gaussian)
        return {"judge_accuracy": self.accuracy, "samples_compared": self.half,
                "real_vs_real": real, "gaussian_fit": gauss}

    def score(self, samples: torch.Tensor) -> dict:
        result = self._recognition(samples)
        result["frechet_distance"] = self._fd_against_halves(samples)
        return result

    @property
    def samples_needed(self) -> int:
        return 2 * self.half


def digit_bar_records(score: dict, baselines: dict) -> dict:
    """The bar for generated digits, as metrics.json records bars (``runtime.bar``): every
    class >= 4%, and FD nearer real-vs-real than the Gaussian fit, i.e. below their midpoint."""
    real = baselines["real_vs_real"]["frechet_distance"]
    gauss = baselines["gaussian_fit"]["frechet_distance"]
    return {
        "all_classes_at_least_4pct": runtime.bar(score["min_class_share"], ">=", MIN_CLASS_SHARE),
        "fd_closer_to_real_than_gaussian": runtime.bar(score["frechet_distance"], "<=",
                                                       (real + gauss) / 2),
    }


def digit_bars(score: dict, baselines: dict) -> dict:
    """Which of the digit bars pass."""
    return {name: record["passed"] for name, record in digit_bar_records(score, baselines).items()}


class PointJudge:
    """Energy distance to fresh held-out points, averaged over REPEATS sets of N points each."""

    def __init__(self, data: PointData, n: int = 1000, repeats: int = 8) -> None:
        self.data, self.n, self.repeats = data, n, repeats
        # Held-out sets come from seeds no training set uses.
        self.refs = [data.sample(n, seed=10_000 + i) for i in range(repeats)]
        others = [data.sample(n, seed=20_000 + i) for i in range(repeats)]
        mean, cov = data.train.double().mean(0), torch.cov(data.train.double().T)
        gen = torch.Generator().manual_seed(JUDGE_SEED)
        z = torch.randn(n * repeats, 2, generator=gen, dtype=torch.float64)
        gaussian = (mean + z @ torch.linalg.cholesky(cov).T).float()
        self._baselines = {
            "points_compared": n,
            "repeats": repeats,
            "real_vs_real": self.score(torch.cat(others)),
            "gaussian_fit": self.score(gaussian),
        }

    @property
    def samples_needed(self) -> int:
        return self.n * self.repeats

    def baselines(self) -> dict:
        return self._baselines

    def score(self, samples: torch.Tensor) -> dict:
        samples = torch.nan_to_num(samples.detach().float().cpu(), nan=0.0, posinf=1e6, neginf=-1e6)
        if len(samples) < self.samples_needed:
            raise ValueError(f"the judge needs at least {self.samples_needed} points")
        chunks = samples[: self.samples_needed].split(self.n)
        pairs = zip(chunks, self.refs, strict=True)
        result = {"energy_distance": sum(energy_distance(c, r) for c, r in pairs) / self.repeats}
        if self.data.modes is not None:
            result.update(mode_coverage(samples, self.data.modes, self.data.mode_std))
        return result


def mode_coverage(samples: torch.Tensor, modes: torch.Tensor, std: float) -> dict:
    """Share of samples within 3 std of each mode; a mode is covered at >= 1/4 of its fair share."""
    dist = torch.cdist(samples.double(), modes.double())
    nearest, which = dist.min(1)
    close = nearest <= 3 * std
    shares = torch.bincount(which[close], minlength=len(modes)).double() / len(samples)
    fair = 1.0 / len(modes)
    return {
        "mode_shares": [round(float(s), 4) for s in shares],
        "modes_covered": int((shares >= fair / 4).sum()),
        "modes": len(modes),
        "share_near_a_mode": float(close.double().mean()),
    }


def point_bar_records(score: dict, baselines: dict, energy_factor: float | None = None) -> dict:
    """Bars for 2-D samples (``runtime.bar``): every mode covered; optionally energy distance
    <= factor x real."""
    bars = {}
    if "modes" in score:
        bars["every_mode_covered"] = runtime.bar(score["modes_covered"], ">=", score["modes"])
    if energy_factor is not None:
        real = baselines["real_vs_real"]["energy_distance"]
        bars[f"energy_within_{energy_factor:g}x_real"] = runtime.bar(
            score["energy_distance"], "<=", energy_factor * real)
    return bars


def point_bars(score: dict, baselines: dict, energy_factor: float | None = None) -> dict:
    """Which of the 2-D bars pass."""
    return {name: record["passed"]
            for name, record in point_bar_records(score, baselines, energy_factor).items()}
