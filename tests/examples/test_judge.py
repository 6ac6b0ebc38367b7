"""The shared judge of generated samples and the offline data it reads: is the yardstick right?

A bar is only a bar if a cheat fails it: held-out real data must pass, and every fake generator
in judge.fake_digits / judge.fake_points must fail the part of the bar meant to catch it.
"""

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


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Small tensors: one thread is faster than two fighting over a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digits():
    return offline_data.load_digits_split()


@pytest.fixture(scope="module")
def digit_judge(digits):
    return judge.DigitJudge(digits)


@pytest.fixture(scope="module")
def fake_scores(digits, digit_judge):
    return {name: digit_judge.score(fake) for name, fake in judge.fake_digits(digits).items()}


def test_digit_split_is_fixed_and_disjoint(digits):
    again = offline_data.load_digits_split()
    assert torch.equal(digits.test, again.test)
    assert (len(digits.train), len(digits.test)) == (1347, 450)
    assert digits.train.min() >= 0 and digits.train.max() <= 1 and digits.levels == 17
    assert len(digits.train) + len(digits.test) == 1797  # the split is a permutation


def test_classifier_is_accurate_on_held_out_digits(digit_judge):
    assert digit_judge.accuracy >= 0.95


# -- the statistics ---------------------------------------------------------------------------


def test_precision_recall_of_a_set_with_itself_and_with_a_far_set():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(300, 5, generator=gen)
    assert judge.precision_recall(x, x) == (1.0, 1.0)
    assert judge.precision_recall(x + 100, x) == (0.0, 0.0)
    # Half the samples far away: precision halves, recall (the near half covers x) stays high.
    half = torch.cat([x[:150] + 0.01, x[150:] + 100])
    precision, recall = judge.precision_recall(half, x)
    assert precision == pytest.approx(0.5) and recall > 0.3


def test_kid_is_unbiased_near_zero_for_one_distribution_and_positive_for_two():
    gen = torch.Generator().manual_seed(0)
    def draw(shift: float = 0.0) -> torch.Tensor:
        return torch.randn(100, 8, generator=gen) + shift

    same = [judge.mmd2_unbiased(draw(), draw()) for _ in range(200)]
    spread = float(torch.tensor(same).std())
    assert abs(float(torch.tensor(same).mean())) < 4 * spread / 200 ** 0.5  # mean 0 within noise
    assert min(same) < 0  # unbiased: it does go below zero, unlike the biased estimate
    shifted = judge.mmd2_unbiased(draw(), draw(0.5))
    assert shifted > 5 * spread


def test_energy_u_statistic_matches_its_definition_and_permutation_test_rejects_a_shift():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(60, 2, generator=gen, dtype=torch.float64)
    y = torch.randn(40, 2, generator=gen, dtype=torch.float64) + 0.3
    dxy, dxx, dyy = torch.cdist(x, y), torch.cdist(x, x), torch.cdist(y, y)
    direct = 2 * dxy.mean() - dxx.sum() / (60 * 59) - dyy.sum() / (40 * 39)
    stat, _ = judge.energy_test(x, y, permutations=10)
    assert stat == pytest.approx(float(direct), rel=1e-9)
    a, b = torch.randn(500, 2, generator=gen), torch.randn(500, 2, generator=gen)
    assert judge.energy_test(a, b)[1] > judge.ALPHA
    assert judge.energy_test(a, b + 0.3)[1] < judge.ALPHA


def test_mann_whitney_z_matches_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    gen = torch.Generator().manual_seed(0)
    q, p = torch.rand(70, generator=gen), torch.rand(50, generator=gen) + 0.1
    u = scipy_stats.mannwhitneyu(q.numpy(), p.numpy(), method="asymptotic",
                                 use_continuity=False)
    expected = (u.statistic - 70 * 50 / 2) / (70 * 50 * 121 / 12) ** 0.5
    assert judge.mann_whitney_z(q, p) == pytest.approx(expected, rel=1e-9)


def test_copying_test_is_standard_normal_on_real_digits(digit_judge):
    """Its significance level is what it says: on held-out halves Z scatters as N(0, 1)."""
    ref = digit_judge.reference()
    z = ref["copying_z"]
    assert abs(z["mean"]) < 0.6 and 0.5 < z["std"] < 1.5
    assert ref["copying_rejected_share"] <= 0.1


# -- the digit bar: real passes, every fake fails ---------------------------------------------


def failed(bars: dict[str, bool]) -> set[str]:
    return {name for name, ok in bars.items() if not ok}


def test_real_held_out_digits_pass_every_bar(digit_judge):
    ref = digit_judge.reference()
    real = digit_judge.real_as_samples()
    assert failed(judge.digit_bars(real, ref)) == set()
    # ... and not just barely: every real-vs-real precision and recall clears its level.
    for key in ("precision_features", "recall_features", "precision_pixels", "recall_pixels"):
        assert ref[key]["min"] >= judge.DIGIT_LEVELS[key] + 0.1, key
    assert ref["recognisable"]["min"] >= judge.DIGIT_LEVELS["recognisable_vs_real"] * \
        ref["recognisable_all"]
    assert ref["kid"]["mean"] < ref["kid"]["std"]  # unbiased: real-vs-real KID centred on 0


# The part of the bar each cheat must fail (it may fail others too).
MUST_FAIL = {
    "training set": {"not_copying"},
    "50 training digits repeated": {"not_copying", "recall_features", "recall_pixels"},
    "shrunk 60% to class means": {"recall_features", "recall_pixels"},
    "Gaussian fit": {"recognisable"},
    "one class (mixes of two 3s)": {"every_class", "recall_features", "recall_pixels"},
    "uniform noise": {"precision_features", "precision_pixels", "recognisable"},
}


@pytest.mark.parametrize("name", sorted(MUST_FAIL))
def test_fake_digits_fail_the_bar(name, digit_judge, fake_scores):
    bars = judge.digit_bars(fake_scores[name], digit_judge.reference())
    for part in MUST_FAIL[name]:
        matching = [bar for bar in bars if bar.startswith(part)]
        assert len(matching) == 1, (part, bars)
        assert not bars[matching[0]], f"{name} passes {matching[0]}: {fake_scores[name]}"


def test_every_fake_is_in_the_table(digits):
    assert set(judge.fake_digits(digits)) == set(MUST_FAIL)


def test_score_needs_enough_samples_and_survives_nan(digit_judge):
    with pytest.raises(ValueError, match="needs"):
        digit_judge.score(torch.zeros(10, 64))
    broken = torch.full((digit_judge.samples_needed, 64), float("nan"))
    bars = judge.digit_bars(digit_judge.score(broken), digit_judge.reference())
    assert not all(bars.values())


# -- the 2-D bar ------------------------------------------------------------------------------

POINT_MUST_FAIL = {
    "training set": {"not_copying"},
    "Gaussian fit": {"precision", "energy_test", "near_a_mode"},
    "collapsed to 3 modes": {"recall", "every_mode_covered", "energy_test"},
    "modes 3x too narrow": {"recall"},
}


@pytest.fixture(scope="module")
def ring():
    data = offline_data.load_points("ring")
    return data, judge.PointJudge(data)


def test_ring_real_passes_and_fakes_fail(ring):
    data, pj = ring
    ref = pj.reference()
    assert failed(judge.point_bars(ref, ref)) == set()
    assert abs(ref["energy"]["mean"]) < ref["energy"]["std"]  # U-statistic: centred on 0
    fakes = judge.fake_points(data)
    assert set(fakes) == set(POINT_MUST_FAIL)
    for name, fake in fakes.items():
        bars = judge.point_bars(pj.score(fake), ref)
        for part in POINT_MUST_FAIL[name]:
            (bar,) = [b for b in bars if b.startswith(part)]
            assert not bars[bar], f"{name} passes {bar}"


def test_moons_real_passes_gaussian_fails():
    data = offline_data.load_points("moons")
    pj = judge.PointJudge(data)
    ref = pj.reference()
    assert failed(judge.point_bars(ref, ref)) == set()
    fakes = judge.fake_points(data)
    assert {"not_copying"} <= failed(judge.point_bars(pj.score(fakes["training set"]), ref))
    gauss = failed(judge.point_bars(pj.score(fakes["Gaussian fit"]), ref))
    assert {"energy_test_not_rejected"} <= gauss


def test_point_samples_are_independent_draws():
    a = offline_data.sample_points("moons", 100, seed=1)
    b = offline_data.sample_points("moons", 100, seed=2)
    assert not torch.allclose(a, b)
    assert torch.equal(a, offline_data.sample_points("moons", 100, seed=1))


# -- offline data -----------------------------------------------------------------------------


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
