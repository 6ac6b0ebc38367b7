"""The shared judge of generated samples and the offline data it reads: is the yardstick right?"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

import judge  # noqa: E402
import offline_data  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    return offline_data.load_digits_split()


@pytest.fixture(scope="module")
def digit_judge(digits):
    return judge.DigitJudge(digits)


def test_digit_split_is_fixed_and_disjoint(digits):
    again = offline_data.load_digits_split()
    assert torch.equal(digits.test, again.test)
    assert (len(digits.train), len(digits.test)) == (1347, 450)
    assert digits.train.min() >= 0 and digits.train.max() <= 1 and digits.levels == 17
    # No held-out digit is a copy of a training digit's row index (the split is a permutation).
    assert len(digits.train) + len(digits.test) == 1797


def test_classifier_is_accurate_on_held_out_digits(digit_judge):
    assert digit_judge.accuracy >= 0.95


def test_real_digits_sit_near_real_baseline_far_below_gaussian_fit(digits, digit_judge):
    base = digit_judge.baselines()
    real, gauss = base["real_vs_real"], base["gaussian_fit"]
    assert gauss["frechet_distance"] > 4 * real["frechet_distance"]
    # Unseen-by-the-FD real digits (training digits) score like held-out ones, and pass the bars.
    score = digit_judge.score(digits.train[: digit_judge.samples_needed])
    assert score["frechet_distance"] < 2 * real["frechet_distance"]
    assert all(judge.digit_bars(score, base).values())
    assert real["confident_share"] > 0.85 and real["classes_present"] == 10


def test_judge_catches_mode_collapse_and_noise(digits, digit_judge):
    base = digit_judge.baselines()
    # A "generator" that only ever draws the digit 3: classes missing, bar failed.
    threes = digits.train[digits.train_labels == 3]
    collapsed = threes.repeat(4, 1)[: digit_judge.samples_needed]
    score = digit_judge.score(collapsed)
    assert score["classes_present"] < 4
    assert not judge.digit_bars(score, base)["all_classes_at_least_4pct"]
    # Pure uniform noise is further from real digits than the Gaussian fit.
    noise = torch.rand(digit_judge.samples_needed, 64, generator=torch.Generator().manual_seed(0))
    noisy = digit_judge.score(noise)
    assert noisy["frechet_distance"] > base["gaussian_fit"]["frechet_distance"]
    assert not judge.digit_bars(noisy, base)["fd_closer_to_real_than_gaussian"]


def test_frechet_distance_matches_closed_form():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(20_000, 3, generator=gen, dtype=torch.float64)
    assert judge.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    # N(0, I) against N(m, 4I): |m|^2 + 3 * (1 + 4 - 2*2) = |m|^2 + 3.
    shift = torch.tensor([1.0, 2.0, 0.0], dtype=torch.float64)
    b = 2 * torch.randn(20_000, 3, generator=gen, dtype=torch.float64) + shift
    assert judge.frechet_distance(a, b) == pytest.approx(5.0 + 3.0, rel=0.05)


def test_energy_distance_zero_for_identical_positive_otherwise():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(500, 2, generator=gen)
    assert judge.energy_distance(x, x) == pytest.approx(0.0, abs=1e-12)
    assert judge.energy_distance(x, x + 1.0) > 0.5


@pytest.mark.parametrize("name", offline_data.POINT_DATASETS)
def test_point_judge_baselines(name):
    data = offline_data.load_points(name)
    pj = judge.PointJudge(data)
    base = pj.baselines()
    real = base["real_vs_real"]["energy_distance"]
    assert 0 < real < base["gaussian_fit"]["energy_distance"] / 5
    # Fresh real points pass the diffusion bar (within 2x of real-vs-real).
    score = pj.score(data.sample(pj.samples_needed, seed=99))
    assert all(judge.point_bars(score, base, energy_factor=2).values())
    if name == "ring":
        assert base["real_vs_real"]["modes_covered"] == 8
        assert base["gaussian_fit"]["modes_covered"] == 0
        # Half the modes dropped: coverage says so.
        half = data.sample(3 * pj.samples_needed, seed=5)
        angle = torch.atan2(half[:, 1], half[:, 0])
        score_half = pj.score(half[angle > 0][: pj.samples_needed])
        assert score_half["modes_covered"] <= 5
        assert not judge.point_bars(score_half, base)["every_mode_covered"]


def test_point_samples_are_independent_draws():
    a = offline_data.sample_points("moons", 100, seed=1)
    b = offline_data.sample_points("moons", 100, seed=2)
    assert not torch.allclose(a, b)
    assert torch.equal(a, offline_data.sample_points("moons", 100, seed=1))


def test_idx_round_trip_and_loader(tmp_path, digits):
    images = (digits.train[:60].reshape(-1, 8, 8) * 255).round().to(torch.uint8).numpy()
    labels = digits.train_labels[:60].numpy().astype(np.uint8)
    offline_data.write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    offline_data.write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    assert np.array_equal(offline_data.read_idx(tmp_path / "train-images-idx3-ubyte.gz"), images)
    data = offline_data.load_images("idx", str(tmp_path))
    assert data.shape == (8, 8) and data.levels == 256
    assert len(data.train) == 45 and len(data.test) == 15
    assert data.train.max() <= 1 and data.train.min() >= 0


def test_idx_errors_are_one_line(tmp_path):
    with pytest.raises(offline_data.DataError, match="no train-images"):
        offline_data.load_images("idx", str(tmp_path))
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x01\x02\x03\x04garbage")
    with pytest.raises(offline_data.DataError, match="not an IDX file"):
        offline_data.read_idx(tmp_path / "train-images-idx3-ubyte")
    with gzip.open(tmp_path / "bad.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 1, 0, 0, 0, 9]) + b"\x00" * 3)
    with pytest.raises(offline_data.DataError, match="promises 9 values"):
        offline_data.read_idx(tmp_path / "bad.gz")
    with pytest.raises(offline_data.DataError, match="needs --data-dir"):
        offline_data.load_images("idx", None)
