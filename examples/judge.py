"""The judge: one yardstick for every generative example, built so that a cheat fails it.

A generator's own loss says little about its samples, and a single summary number can be fooled: a
program that returns its training set scores perfectly on any distance to real data, and one that
returns the ten class means scores well on any statistic of means and covariances. So samples are
judged on four separate questions, each against held-out real data, each with its real-vs-real
value measured as a distribution over re-splits of the held-out data (never one draw):

1. Is it copying? (Meehan, Chaudhuri & Dasgupta, 2020.) Let d(x) be the distance from x to its
   nearest training example. Held-out real data were never seen in training, so the d of fresh
   samples from a model that generalises should look like the d of held-out data; a model that
   memorises puts its samples closer. Space is cut into cells (k-means on the training data); in
   each cell j with enough of both, the Mann-Whitney statistic compares the two sets of d,
        U_j = #{(q, p): d(q) > d(p)} + #ties / 2,
        Z_j = (U_j - m n / 2) / sqrt(m n (m + n + 1) / 12)
   (q: m samples, p: n held-out points in the cell), and the cells are combined by Stouffer's rule
   with weights w_j = the cell's share of held-out points, Z = sum_j w_j Z_j / sqrt(sum_j w_j^2),
   which is N(0, 1) when samples and held-out data have the same distances. Samples are copying
   when Z < -2.33: a one-sided test at significance level ALPHA = 0.01.
2. Precision and recall (Kynkäänniemi et al., 2019). Around every real point put a ball reaching
   its k-th nearest real neighbour (k = 3); precision is the share of samples inside some real
   ball (are samples realistic?), recall the share of real points inside some ball around a
   sample, built the same way from the samples (is all of the real data's variety produced?).
   Measured in the judge's feature space and in pixel space.
3. A two-sample distance with no bias: for digits the kernel inception distance (KID, Binkowski et
   al., 2018), the unbiased estimate of the squared maximum mean discrepancy in the judge's
   features with the kernel k(x, y) = (x.y / d + 1)^3,
        MMD^2_u = sum_{i != j} k(x_i, x_j) / m(m-1) + sum_{i != j} k(y_i, y_j) / n(n-1)
                  - 2 sum_{i,j} k(x_i, y_j) / mn,
   and for points the energy distance as a U-statistic,
        E_u = 2 mean |x_i - y_j| - sum_{i != j} |x_i - x_j| / m(m-1)
                                 - sum_{i != j} |y_i - y_j| / n(n-1),
   with a permutation test (Szekely & Rizzo, 2004). Both have expectation exactly 0 when the two
   distributions agree, so real-vs-real values scatter around 0 and a bar compares like with like.
4. Recognisability (digits): the share of samples that a classifier trained on the real training
   digits assigns to one class with probability >= 0.9, against the same share for held-out digits;
   and the share of each predicted class (a collapsed generator misses classes).

Sample sizes change precision, recall and the distances, so every comparison uses the same sizes
as its real-vs-real reference: the held-out digits are re-split SPLITS times into two halves; the
reference half is compared with the other half (real vs real) and with an equal number of samples.

`python examples/judge.py` prints the calibration: real-vs-real distributions and the score of
every fake generator in `fake_digits` and `fake_points` on every bar; examples/README.md records it.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable

import runtime
import torch
from offline_data import ImageData, PointData
from torch import nn
from torch.nn import functional as F

JUDGE_SEED = 1234  # the judge never depends on the example's --seed: runs are judged alike
CONFIDENT = 0.9  # a sample is "recognised" when the judge gives one class at least this probability
ALPHA = 0.01  # significance level of the copying test (one-sided)
Z_ALPHA = 2.3263  # the standard normal's 1 - ALPHA quantile
NEIGHBOURS = 3  # k of the k-nearest-neighbour balls of precision and recall
SPLITS = 20  # re-splits of the held-out data behind every real-vs-real distribution

# The bars' levels, calibrated by `python examples/judge.py` (figures in examples/README.md).
DIGIT_LEVELS = {"precision_features": 0.70, "recall_features": 0.60,
                "precision_pixels": 0.70, "recall_pixels": 0.50,
                "recognisable_vs_real": 0.80, "min_class_share": 0.04}
POINT_LEVELS = {"precision": 0.85, "recall": 0.85, "energy_p_value": ALPHA,
                "share_near_a_mode_vs_real": 0.95}


# ---------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------


def distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """All Euclidean distances between the rows of A and of B, in float64."""
    # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b: one matrix product (float64 keeps it exact enough).
    return torch.cdist(a.double(), b.double(), compute_mode="use_mm_for_euclid_dist")


def knn_radii(d: torch.Tensor, k: int = NEIGHBOURS) -> torch.Tensor:
    """From the distances D within one set: every point's distance to its k-th nearest other."""
    # k + 1 smallest: the nearest "neighbour" of a point is the point itself.
    return d.topk(k + 1, dim=1, largest=False).values[:, k]


def precision_recall(samples: torch.Tensor, real: torch.Tensor, k: int = NEIGHBOURS,
                     d: torch.Tensor | None = None) -> tuple[float, float]:
    """Kynkäänniemi et al.'s k-NN precision and recall of SAMPLES against REAL.

    D, if given, holds the distances between the pooled points [samples; real].
    """
    if d is None:
        d = distances(torch.cat([samples, real]), torch.cat([samples, real]))
    m = len(samples)
    cross = d[:m, m:]  # (samples, real)
    precision = (cross <= knn_radii(d[m:, m:], k).unsqueeze(0)).any(1).double().mean()
    recall = (cross <= knn_radii(d[:m, :m], k).unsqueeze(1)).any(0).double().mean()
    return float(precision), float(recall)


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> float:
    """KID: unbiased MMD^2 with the cubic polynomial kernel (x.y / d + 1)^3."""
    x, y = x.double(), y.double()
    m, n, d = len(x), len(y), x.shape[1]

    def kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (a @ b.T / d + 1).pow(3)

    kxx, kyy = kernel(x, x), kernel(y, y)
    within_x = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    within_y = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return float(within_x + within_y - 2 * kernel(x, y).mean())


def energy_u(d: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """U-statistic energy distance for every column of S, from the pooled distance matrix D.

    D: (N, N) distances between the pooled points (diagonal 0); S: (N, P) indicators, 1 where a
    point belongs to the first set. Block sums come from quadratic forms: s'Ds sums the first set's
    pairs (both orders), (1-s)'D(1-s) the second's, s'D(1-s) the cross pairs.
    """
    m = s.sum(0)
    n = len(d) - m
    ds = d @ s  # (N, P)
    xx = (s * ds).sum(0)
    rows = d.sum(1) @ s  # s'D1
    xy = rows - xx
    yy = d.sum() - 2 * rows + xx
    return 2 * xy / (m * n) - xx / (m * (m - 1)) - yy / (n * (n - 1))


def energy_test(x: torch.Tensor, y: torch.Tensor, permutations: int = 500,
                seed: int = JUDGE_SEED) -> tuple[float, float]:
    """(E_u, p-value): how often a random relabelling of the pooled points gives E_u this large."""
    pooled = torch.cat([x, y]).double()
    d = distances(pooled, pooled)
    observed = torch.zeros(len(pooled), 1, dtype=torch.float64)
    observed[: len(x)] = 1
    gen = torch.Generator().manual_seed(seed)
    order = torch.stack([torch.randperm(len(pooled), generator=gen) for _ in range(permutations)])
    shuffled = (order < len(x)).double().T  # (N, P): a random len(x) of the points in the first set
    stat = float(energy_u(d, observed))
    null = energy_u(d, shuffled)
    return stat, float((1 + (null >= stat).sum()) / (permutations + 1))


def mann_whitney_z(q: torch.Tensor, p: torch.Tensor) -> float:
    """Z of the Mann-Whitney U statistic, #{d(q) > d(p)} (+ half the ties), under no difference."""
    m, n = len(q), len(p)
    greater = (q.unsqueeze(1) > p.unsqueeze(0)).double().sum()
    ties = (q.unsqueeze(1) == p.unsqueeze(0)).double().sum()
    u = greater + 0.5 * ties
    return float((u - m * n / 2) / math.sqrt(m * n * (m + n + 1) / 12))


class CopyingTest:
    """Meehan et al.'s test of data copying, cells combined by Stouffer's rule (see the top)."""

    def __init__(self, train: torch.Tensor, cells: int, min_per_cell: int = 5) -> None:
        from sklearn.cluster import KMeans
        from sklearn.neighbors import NearestNeighbors

        points = train.double().numpy()
        self.index = NearestNeighbors(n_neighbors=1).fit(points)  # exact nearest neighbours
        # Cells: k-means on the training data (k-means++ starts, 3 restarts, seeded).
        fit = KMeans(n_clusters=cells, n_init=3, random_state=JUDGE_SEED).fit(points)
        self.centres = torch.tensor(fit.cluster_centers_, dtype=torch.float64)
        self.min_per_cell = min_per_cell

    def distances(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Every row's distance to its nearest training example, and its cell."""
        d = torch.tensor(self.index.kneighbors(x.double().numpy())[0][:, 0])
        return d, distances(x, self.centres).argmin(1)

    def z(self, samples: torch.Tensor, held_out: torch.Tensor) -> float:
        """Z < -Z_ALPHA: SAMPLES sit closer to the training data than HELD_OUT data do."""
        (d_q, cell_q), (d_p, cell_p) = self.distances(samples), self.distances(held_out)
        total, weights = 0.0, 0.0
        for j in range(len(self.centres)):
            q, p = d_q[cell_q == j], d_p[cell_p == j]
            if min(len(q), len(p)) < self.min_per_cell:
                continue  # too few points here to say anything about copying in this cell
            w = len(p) / len(held_out)
            total += w * mann_whitney_z(q, p)
            weights += w * w
        return total / math.sqrt(weights) if weights else 0.0


def summary(values: list[float]) -> dict[str, float]:
    """Mean, standard deviation, min and max of a real-vs-real distribution."""
    v = torch.tensor(values, dtype=torch.float64)
    return {"mean": float(v.mean()), "std": float(v.std()) if len(v) > 1 else 0.0,
            "min": float(v.min()), "max": float(v.max())}


def clean(samples: torch.Tensor, low: float = -1e6, high: float = 1e6) -> torch.Tensor:
    """Samples as float32 on the CPU, NaN and infinities replaced: a broken model scores, badly."""
    x = samples.detach().float().cpu()
    return torch.nan_to_num(x, nan=0.0, posinf=high, neginf=low).clamp(low, high)


# ---------------------------------------------------------------------------------------------
# Digits
# ---------------------------------------------------------------------------------------------


class Classifier(nn.Module):
    """Pixels -> 256 -> 128 hidden features (the judge's feature space) -> class logits."""

    def __init__(self, dim: int, classes: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(dim, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU())
        self.head = nn.Linear(128, classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return features, self.head(features)


class DigitJudge:
    """Trained once per run on the real training images; scores any set of generated images."""

    def __init__(self, data: ImageData, epochs: int = 40, splits: int = SPLITS,
                 cells: int = 10) -> None:
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
        self.test_features, test_probs = self.predict(data.test)
        self.accuracy = float((test_probs.argmax(1) == data.test_labels).float().mean())
        # Re-splits of the held-out digits: SPLITS pairs of disjoint halves (reference, other).
        self.half = len(data.test) // 2
        orders = [torch.randperm(len(data.test), generator=gen) for _ in range(splits)]
        self.splits = [(o[: self.half], o[self.half : 2 * self.half]) for o in orders]
        self.copying = CopyingTest(data.train, cells)
        self._reference: dict | None = None

    samples_needed = 1000  # what every example hands the judge

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(hidden features, class probabilities) of flattened images in [0, 1]."""
        features, logits = self.net(clean(images).clamp(0, 1))
        return features, logits.softmax(1)

    def recognition(self, images: torch.Tensor) -> dict:
        """Recognised share and the share of every predicted class."""
        top, cls = self.predict(images)[1].max(1)
        shares = torch.bincount(cls, minlength=self.classes).double() / len(cls)
        return {"recognisable": float((top >= CONFIDENT).double().mean()),
                "class_shares": [round(float(s), 4) for s in shares],
                "min_class_share": float(shares.min())}

    def _against(self, candidate: torch.Tensor, ref: torch.Tensor) -> dict[str, float]:
        """Precision, recall (features and pixels) and KID of CANDIDATE against REF digits."""
        feats_c, feats_r = self.predict(candidate)[0], self.test_features[ref]
        pf, rf = precision_recall(feats_c, feats_r)
        pp, rp = precision_recall(clean(candidate).clamp(0, 1), self.data.test[ref])
        return {"precision_features": pf, "recall_features": rf, "precision_pixels": pp,
                "recall_pixels": rp, "kid": mmd2_unbiased(feats_c, feats_r)}

    def score(self, samples: torch.Tensor) -> dict:
        """Every statistic of SAMPLES (>= samples_needed flattened images in [0, 1])."""
        if len(samples) < self.samples_needed:
            raise ValueError(f"the judge needs {self.samples_needed} samples, got {len(samples)}")
        samples = clean(samples[: self.samples_needed]).clamp(0, 1)
        gen = torch.Generator().manual_seed(JUDGE_SEED)
        chunks = [torch.randperm(len(samples), generator=gen)[: self.half] for _ in self.splits]
        per_split = [self._against(samples[chunk], ref)
                     for chunk, (ref, _) in zip(chunks, self.splits, strict=True)]
        result: dict = {key: summary([s[key] for s in per_split]) for key in per_split[0]}
        result["copying_z"] = self.copying.z(samples, self.data.test)
        result.update(self.recognition(samples))
        return result

    def quality(self, samples: torch.Tensor) -> dict[str, float]:
        """A few headline numbers, for curves of quality against sampling steps."""
        score = self.score(samples)
        return {"precision": score["precision_features"]["mean"],
                "recall": score["recall_features"]["mean"], "recognisable": score["recognisable"],
                "kid": score["kid"]["mean"]}

    def reference(self) -> dict:
        """Held-out digits scored like samples, each statistic a distribution over re-splits.

        The candidate in split r is the other half, never the reference half it is compared with;
        the copying test in split r compares that half with the reference half (its Z is N(0, 1)).
        """
        if self._reference is None:
            test = self.data.test
            per_split = [{**self._against(test[other], ref),
                          "copying_z": self.copying.z(test[other], test[ref]),
                          "recognisable": self.recognition(test[other])["recognisable"]}
                         for ref, other in self.splits]
            ref = {key: summary([s[key] for s in per_split]) for key in per_split[0]}
            ref["copying_rejected_share"] = sum(
                s["copying_z"] < -Z_ALPHA for s in per_split) / len(per_split)
            whole = self.recognition(test)
            ref["recognisable_all"] = whole["recognisable"]
            ref["class_shares"] = whole["class_shares"]
            ref["min_class_share"] = whole["min_class_share"]
            self._reference = {"judge_accuracy": self.accuracy, "held_out": len(test),
                               "compared": self.half, "splits": len(self.splits), **ref}
        return self._reference

    def real_as_samples(self) -> dict:
        """The held-out digits in the shape of `score`'s result, for the bars: the distributions
        over re-splits, and the copying test of the first split (one test, as for samples)."""
        ref = self.reference()
        keys = ("precision_features", "recall_features", "precision_pixels", "recall_pixels", "kid")
        test = self.data.test
        reference_half, other_half = self.splits[0]
        return {**{k: ref[k] for k in keys},
                "copying_z": self.copying.z(test[other_half], test[reference_half]),
                **self.recognition(test)}


def passed(records: dict[str, dict]) -> dict[str, bool]:
    return {name: record["passed"] for name, record in records.items()}


def digit_bar_records(score: dict, reference: dict, levels: dict | None = None
                      ) -> dict[str, dict]:
    """The bar for generated digits, every part of which must hold (levels: DIGIT_LEVELS)."""
    lv = {**DIGIT_LEVELS, **(levels or {})}
    records = {"not_copying": runtime.bar(score["copying_z"], ">=", -Z_ALPHA)}
    for key in ("precision_features", "recall_features", "precision_pixels", "recall_pixels"):
        records[key] = runtime.bar(score[key]["mean"], ">=", lv[key])
    records["every_class_at_least_4pct"] = runtime.bar(score["min_class_share"], ">=",
                                               lv["min_class_share"])
    real_share = reference["recognisable_all"]
    records["recognisable_vs_real"] = runtime.bar(score["recognisable"], ">=",
                                          lv["recognisable_vs_real"] * real_share)
    return records


def digit_bars(score: dict, reference: dict, levels: dict | None = None) -> dict[str, bool]:
    return passed(digit_bar_records(score, reference, levels))


# ---------------------------------------------------------------------------------------------
# Points
# ---------------------------------------------------------------------------------------------


class PointJudge:
    """2-D samples against fresh held-out points: copying, precision/recall, energy test, modes."""

    def __init__(self, data: PointData, n: int = 1000, splits: int = SPLITS // 2,
                 cells: int = 16) -> None:
        self.data, self.n = data, n
        # Held-out sets come from seeds no training set uses: (reference, other) pairs.
        self.splits = [(data.sample(n, seed=10_000 + i), data.sample(n, seed=20_000 + i))
                       for i in range(splits)]
        self.held_out = data.sample(n, seed=40_000)  # the copying test's held-out points
        self.copying = CopyingTest(data.train, cells)
        self._reference: dict | None = None

    @property
    def samples_needed(self) -> int:
        return self.n

    @staticmethod
    def _against(candidate: torch.Tensor, ref: torch.Tensor) -> dict[str, float]:
        pooled = torch.cat([candidate, ref])
        d = distances(pooled, pooled)
        precision, recall = precision_recall(candidate, ref, d=d)
        labels = torch.zeros(len(pooled), 1, dtype=torch.float64)
        labels[: len(candidate)] = 1
        energy = float(energy_u(d, labels))
        return {"precision": precision, "recall": recall, "energy": energy}

    def _score(self, candidate: torch.Tensor, held_out: torch.Tensor,
               pairs: list[tuple[torch.Tensor, torch.Tensor]]) -> dict:
        per_split = [self._against(c, ref) for c, ref in pairs]
        result: dict = {key: summary([s[key] for s in per_split]) for key in per_split[0]}
        # The bar's energy test: the first split's, at the stated significance level.
        result["energy_p_value"] = energy_test(*pairs[0])[1]
        result["copying_z"] = self.copying.z(candidate, held_out)
        if self.data.modes is not None:
            result.update(mode_coverage(candidate, self.data.modes, self.data.mode_std))
        return result

    def score(self, samples: torch.Tensor) -> dict:
        if len(samples) < self.n:
            raise ValueError(f"the judge needs {self.n} points, got {len(samples)}")
        samples = clean(samples[: self.n])
        return self._score(samples, self.held_out, [(samples, ref) for ref, _ in self.splits])

    def quality(self, samples: torch.Tensor, splits: int = 2) -> dict[str, float]:
        """Precision, recall and energy distance on the first SPLITS splits only: cheap enough
        for curves of quality against sampling steps."""
        samples = clean(samples[: self.n])
        per_split = [self._against(samples, ref) for ref, _ in self.splits[:splits]]
        return {key: sum(s[key] for s in per_split) / len(per_split) for key in per_split[0]}

    def reference(self) -> dict:
        """Fresh real points scored like samples: each statistic a distribution over re-draws."""
        if self._reference is None:
            candidate = self.data.sample(self.n, seed=50_000)
            real = self._score(candidate, self.held_out, [(o, r) for r, o in self.splits])
            self._reference = {"points": self.n, "splits": len(self.splits), **real}
        return self._reference


def mode_coverage(samples: torch.Tensor, modes: torch.Tensor, std: float) -> dict:
    """Share of samples within 3 std of each mode; a mode is covered at >= 1/2 of its fair share."""
    dist = torch.cdist(samples.double(), modes.double())
    nearest_mode, which = dist.min(1)
    close = nearest_mode <= 3 * std
    shares = torch.bincount(which[close], minlength=len(modes)).double() / len(samples)
    return {"mode_shares": [round(float(s), 4) for s in shares],
            "modes_covered": int((shares >= 0.5 / len(modes)).sum()), "modes": len(modes),
            "share_near_a_mode": float(close.double().mean())}


def point_bar_records(score: dict, reference: dict, levels: dict | None = None
                      ) -> dict[str, dict]:
    """The bar for 2-D samples, every part of which must hold (levels: POINT_LEVELS)."""
    lv = {**POINT_LEVELS, **(levels or {})}
    records = {"not_copying": runtime.bar(score["copying_z"], ">=", -Z_ALPHA),
               "precision": runtime.bar(score["precision"]["mean"], ">=", lv["precision"]),
               "recall": runtime.bar(score["recall"]["mean"], ">=", lv["recall"]),
               "energy_test_not_rejected": runtime.bar(score["energy_p_value"], ">=",
                                               lv["energy_p_value"])}
    if "modes" in score:
        records["every_mode_covered"] = runtime.bar(score["modes_covered"], ">=", score["modes"])
        records["near_a_mode_vs_real"] = runtime.bar(
            score["share_near_a_mode"], ">=",
            lv["share_near_a_mode_vs_real"] * reference["share_near_a_mode"])
    return records


def point_bars(score: dict, reference: dict, levels: dict | None = None) -> dict[str, bool]:
    return passed(point_bar_records(score, reference, levels))


# ---------------------------------------------------------------------------------------------
# Fake generators: what the bars must reject (tests/examples/test_judge.py, and the calibration)
# ---------------------------------------------------------------------------------------------


def fake_digits(data: ImageData, n: int = 1000) -> dict[str, torch.Tensor]:
    """Cheats and failures, each N flattened images in [0, 1]."""
    gen = torch.Generator().manual_seed(JUDGE_SEED)
    train, labels = data.train, data.train_labels
    means = torch.stack([train[labels == c].mean(0) for c in range(10)])

    def pick(pool: torch.Tensor) -> torch.Tensor:
        return pool[torch.randint(len(pool), (n,), generator=gen)]

    shrunk = means[labels] + 0.4 * (train - means[labels])  # 60% of the way to the class mean
    mean, cov = train.double().mean(0), torch.cov(train.double().T)
    root = torch.linalg.cholesky(cov + 1e-6 * torch.eye(len(mean), dtype=torch.float64))
    gaussian = mean + torch.randn(n, len(mean), generator=gen, dtype=torch.float64) @ root.T
    threes = train[labels == 3]
    pairs = torch.randint(len(threes), (n, 2), generator=gen)
    return {
        "training set": train[torch.randperm(len(train), generator=gen)[:n]],
        "50 training digits repeated": train[:50].repeat(math.ceil(n / 50), 1)[:n],
        "shrunk 60% to class means": pick(shrunk),
        "Gaussian fit": gaussian.float().clamp(0, 1),
        "one class (mixes of two 3s)": 0.5 * (threes[pairs[:, 0]] + threes[pairs[:, 1]]),
        "uniform noise": torch.rand(n, data.dim, generator=gen),
    }


def fake_points(data: PointData, n: int = 1000) -> dict[str, torch.Tensor]:
    """Cheats and failures for 2-D data, each N points."""
    gen = torch.Generator().manual_seed(JUDGE_SEED)
    train = data.train
    mean, cov = train.double().mean(0), torch.cov(train.double().T)
    gaussian = mean + torch.randn(n, 2, generator=gen, dtype=torch.float64) @ \
        torch.linalg.cholesky(cov).T
    fakes = {"training set": train[torch.randperm(len(train), generator=gen)[:n]],
             "Gaussian fit": gaussian.float()}
    if data.modes is not None:
        real = data.sample(4 * n, seed=60_000)
        which = torch.cdist(real, data.modes).argmin(1)
        fakes["collapsed to 3 modes"] = real[which < 3][:n]
        # Every mode, but each squeezed to a third of its width: too sharp, not missing.
        fakes["modes 3x too narrow"] = (data.modes[which] + (real - data.modes[which]) / 3)[:n]
    return fakes


# ---------------------------------------------------------------------------------------------
# Calibration: python examples/judge.py
# ---------------------------------------------------------------------------------------------


def _row(name: str, score: dict, bars: dict[str, bool], keys: list[str]) -> str:
    cells = []
    for key in keys:
        value = score[key]
        cells.append(f"{value['mean']:.3f}±{value['std']:.3f}" if isinstance(value, dict)
                     else f"{value:.3f}")
    failed = ", ".join(k for k, ok in bars.items() if not ok) or "-"
    return f"| {name} | " + " | ".join(cells) + f" | {failed} |"


def calibrate(write: Callable[[str], None] = print) -> None:
    from offline_data import load_digits_split, load_points

    data = load_digits_split()
    judge = DigitJudge(data)
    ref = judge.reference()
    write(f"digits: judge accuracy {judge.accuracy:.3f}; {len(judge.splits)} re-splits of "
          f"{ref['held_out']} held-out digits into halves of {ref['compared']}")
    write(f"real-vs-real copying Z: {ref['copying_z']}; rejected share at alpha={ALPHA}: "
          f"{ref['copying_rejected_share']:.2f}; recognisable (all held-out) "
          f"{ref['recognisable_all']:.3f}")
    keys = ["precision_features", "recall_features", "precision_pixels", "recall_pixels", "kid",
            "copying_z", "recognisable", "min_class_share"]
    write("| candidate | " + " | ".join(keys) + " | bars failed |")
    write("|" + " --- |" * (len(keys) + 2))
    real = judge.real_as_samples()
    write(_row("held-out digits", real, digit_bars(real, ref), keys))
    for name, fake in fake_digits(data).items():
        score = judge.score(fake)
        write(_row(name, score, digit_bars(score, ref), keys))
    for name in ("ring", "moons"):
        points = load_points(name)
        pj = PointJudge(points)
        ref = pj.reference()
        keys = ["precision", "recall", "energy", "energy_p_value", "copying_z"]
        if points.modes is not None:
            keys += ["share_near_a_mode", "modes_covered"]
        rejected = sum(energy_test(o, r, seed=i)[1] < ALPHA for i, (r, o) in enumerate(pj.splits))
        write(f"\n{name}: the energy test rejects {rejected} of {len(pj.splits)} real-vs-real "
              f"pairs at alpha = {ALPHA}")
        write("| candidate | " + " | ".join(keys) + " | bars failed |")
        write("|" + " --- |" * (len(keys) + 2))
        write(_row("fresh real points", ref, point_bars(ref, ref), keys))
        for fake_name, fake in fake_points(points).items():
            score = pj.score(fake)
            write(_row(fake_name, score, point_bars(score, ref), keys))


if __name__ == "__main__":
    torch.set_num_threads(1)
    calibrate()
    sys.exit(0)
