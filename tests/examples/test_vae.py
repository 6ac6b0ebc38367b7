"""examples/vae: the quality bar with default options, and what only the VAE does.

The conventions every example keeps (seeds, resume, torchrun, errors, CUDA) are checked in
test_examples_common.py.
"""

from __future__ import annotations

import math

import pytest
from example_runs import DIGIT_BARS, assert_judged, run_example, run_failing


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """One run with default options, shared by the tests that read it."""
    out = tmp_path_factory.mktemp("vae-default")
    return out, run_example("vae", out)


@pytest.mark.slow
def test_default_run_beats_the_categorical_mixture(default_run):
    out, m = default_run
    assert m["bars"]["neg_elbo_below_categorical_mixture"]["passed"]
    assert m["test_neg_elbo"] <= m["mixture_test_nll"] < m["independent_pixel_test_nll"]
    # IWAE with K >= 100 is a tighter bound than the ELBO; bits per dimension is the same number.
    assert m["iwae_draws"] >= 100 and m["test_iwae_nll"] < m["test_neg_elbo"]
    assert m["test_iwae_bits_per_dim"] == pytest.approx(m["test_iwae_nll"] / (64 * math.log(2)))
    # The ELBO's two terms are logged separately and add up.
    assert m["test_neg_elbo"] == pytest.approx(m["test_reconstruction"] + m["test_kl"], rel=1e-5)
    assert m["test_kl"] > 1.0  # the latent code is used, not collapsed to the prior
    assert m["judge"]["real"]["judge_accuracy"] >= 0.95
    for figure in ("samples.png", "reconstructions.png", "latent_walk.png"):
        assert (out / figure).stat().st_size < 150_000


@pytest.mark.slow
def test_default_samples_clear_the_judges_bar(default_run):
    _, m = default_run
    assert_judged(m, DIGIT_BARS, "neg_elbo_below_categorical_mixture")


def test_dry_run_writes_metrics_and_figures(tmp_path):
    m = run_example("vae", tmp_path, "--dry-run")
    assert m["steps"] == 20 and math.isfinite(m["test_neg_elbo"])
    assert {p.name for p in tmp_path.glob("*.png")} == set(m["figures"])


def write_tiny_idx(folder, count: int = 120) -> None:
    """MNIST-format files holding COUNT of scikit-learn's digits, scaled to 0..255."""
    import sys

    import numpy as np
    from example_runs import EXAMPLES

    sys.path.insert(0, str(EXAMPLES))
    from offline_data import load_digits_split, write_idx

    digits = load_digits_split()
    images = (digits.train[:count].reshape(-1, 8, 8) * 255).round().numpy().astype(np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / "train-images-idx3-ubyte.gz", images)
    write_idx(folder / "train-labels-idx1-ubyte.gz", digits.train_labels[:count].numpy())


def test_reads_mnist_style_idx_files_from_disk(tmp_path):
    write_tiny_idx(tmp_path / "mnist")
    m = run_example("vae", tmp_path / "run", "--data", "idx", "--data-dir",
                    str(tmp_path / "mnist"), "--dry-run")
    assert m["data"].startswith("idx:") and math.isfinite(m["test_neg_elbo"])
    assert m["judge"]["real"]["compared"] == 15  # 30 held-out images (a quarter), in halves


def test_bad_input_is_one_line(tmp_path):
    result = run_failing("vae", "--data", "idx", "--out", str(tmp_path))
    assert result.returncode == 2
    # One line, "<program>: error: ..." (argparse's own errors come after its usage line).
    assert "Traceback" not in result.stderr and "error: " in result.stderr.strip().splitlines()[-1]
    assert "--data-dir" in result.stderr
