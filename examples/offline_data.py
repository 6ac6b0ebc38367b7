"""Offline datasets for the generative examples (VAE, GAN, diffusion).

Nothing here downloads anything:

* ``digits``: scikit-learn's ``load_digits``, 1,797 grey 8x8 digits with 17 intensity levels (0..16)
  shipped inside the package, split once into a training and a held-out set with a fixed seed so
  that every example and every run is judged on the same held-out digits.
* ``idx``: MNIST-style IDX files a user already has on disk (``train-images-idx3-ubyte`` and
  ``train-labels-idx1-ubyte``, optionally gzipped, optionally the ``t10k-`` pair as held-out set).
* ``ring`` and ``moons``: two-dimensional point clouds, where a scatter plot shows the whole learnt
  distribution. ``ring`` is a mixture of eight Gaussians on a circle, the classic picture of mode
  collapse; ``moons`` is two interleaved noisy half circles.

Images are returned flattened, as float tensors in [0, 1]; ``levels`` says how many discrete
intensities the stored pixels had, which the VAE uses for its categorical likelihood.
"""

from __future__ import annotations

import gzip
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

IMAGE_DATASETS = ("digits", "idx")
POINT_DATASETS = ("ring", "moons")
DIGITS_HELD_OUT = 450  # a quarter of load_digits: 1,347 training and 450 held-out digits
SPLIT_SEED = 0  # the train/held-out split never depends on --seed: every run is judged alike

# The ring: eight Gaussians of standard deviation RING_STD on a circle of radius RING_RADIUS.
RING_MODES = 8
RING_RADIUS = 2.0
RING_STD = 0.1
MOONS_NOISE = 0.075


class DataError(ValueError):
    """Bad dataset input; the examples print its message as a one-line error."""


@dataclass
class ImageData:
    """Flattened images in [0, 1] with their labels (labels train the judge, never the models)."""

    train: torch.Tensor  # (N, H*W) float32
    train_labels: torch.Tensor  # (N,) int64
    test: torch.Tensor
    test_labels: torch.Tensor
    shape: tuple[int, int]  # (H, W), for figures
    levels: int  # number of stored intensity levels: 17 for digits, 256 for 8-bit IDX files
    name: str

    @property
    def dim(self) -> int:
        return self.shape[0] * self.shape[1]


@dataclass
class PointData:
    """A 2-D training set and a sampler of as many fresh held-out points as the judge wants."""

    train: torch.Tensor  # (N, 2) float32
    name: str
    modes: torch.Tensor | None  # (K, 2) centres of a Gaussian mixture, None for moons
    mode_std: float

    def sample(self, n: int, seed: int) -> torch.Tensor:
        return sample_points(self.name, n, seed)


def load_digits_split(held_out: int = DIGITS_HELD_OUT) -> ImageData:
    """scikit-learn's 8x8 digits, split into training and held-out digits with a fixed seed."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    pixels = torch.tensor(bunch.data, dtype=torch.float32) / 16.0
    labels = torch.tensor(bunch.target, dtype=torch.int64)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(SPLIT_SEED))
    test_idx, train_idx = order[:held_out], order[held_out:]
    return ImageData(
        train=pixels[train_idx],
        train_labels=labels[train_idx],
        test=pixels[test_idx],
        test_labels=labels[test_idx],
        shape=(8, 8),
        levels=17,
        name="digits",
    )


# ---------------------------------------------------------------------------------------------
# IDX files (the format MNIST and Fashion-MNIST are distributed in)
# ---------------------------------------------------------------------------------------------

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file: two zero bytes, a type byte, a rank byte, big-endian sizes, the data."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except OSError as err:
        raise DataError(f"{path}: cannot read IDX file ({err})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    rank = raw[3]
    if len(raw) < 4 + 4 * rank:
        raise DataError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{rank}I", raw[4 : 4 + 4 * rank])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    count = math.prod(shape)
    body = raw[4 + 4 * rank :]
    if len(body) != count * dtype.itemsize:
        raise DataError(f"{path}: IDX header promises {count} values, file holds a different size")
    return np.frombuffer(body, dtype=dtype).reshape(shape)


def _find_idx(directory: Path, stem: str) -> Path | None:
    dotted = stem.replace("-idx", ".idx")  # some mirrors name them train-images.idx3-ubyte
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (directory / name).is_file():
            return directory / name
    return None


def load_idx_images(directory: Path, limit: int | None = None) -> ImageData:
    """MNIST-style IDX images with labels from DIRECTORY; held-out set from t10k-* or a split."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"--data-dir {directory}: no such directory")

    def pair(prefix: str) -> tuple[np.ndarray, np.ndarray] | None:
        images = _find_idx(directory, f"{prefix}-images-idx3-ubyte")
        labels = _find_idx(directory, f"{prefix}-labels-idx1-ubyte")
        if images is None:
            return None
        if labels is None:
            raise DataError(f"{images}: found no {prefix}-labels-idx1-ubyte beside it "
                            "(the judge needs labels)")
        x, y = read_idx(images), read_idx(labels)
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DataError(f"{images}: expected N images of HxW and N labels")
        return x, y

    train = pair("train")
    if train is None:
        raise DataError(f"--data-dir {directory}: found no train-images-idx3-ubyte[.gz]")
    test = pair("t10k")
    x, y = train
    if test is None:  # no separate held-out files: hold out a quarter with the fixed split seed
        order = np.random.default_rng(SPLIT_SEED).permutation(len(x))
        cut = len(x) // 4
        test = x[order[:cut]], y[order[:cut]]
        x, y = x[order[cut:]], y[order[cut:]]
    if limit is not None:
        x, y = x[:limit], y[:limit]
    if len(x) < 10 or len(test[0]) < 10:
        raise DataError(f"--data-dir {directory}: too few images to train and judge (10+ each)")
    top = max(int(x.max()), int(test[0].max()), 1)
    levels = 256 if top > 16 else top + 1

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.tensor(a.reshape(len(a), -1), dtype=torch.float32) / (levels - 1)

    return ImageData(
        train=tensor(x),
        train_labels=torch.tensor(y, dtype=torch.int64),
        test=tensor(test[0]),
        test_labels=torch.tensor(test[1], dtype=torch.int64),
        shape=(int(x.shape[1]), int(x.shape[2])),
        levels=levels,
        name=f"idx:{directory}",
    )


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (used by the tests, and handy for custom image sets)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if Path(path).suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


# ---------------------------------------------------------------------------------------------
# 2-D point clouds
# ---------------------------------------------------------------------------------------------


def ring_modes() -> torch.Tensor:
    angles = torch.arange(RING_MODES, dtype=torch.float64) * (2 * math.pi / RING_MODES)
    return (RING_RADIUS * torch.stack([angles.cos(), angles.sin()], dim=1)).float()


def sample_points(name: str, n: int, seed: int) -> torch.Tensor:
    """N points of the named 2-D distribution, a pure function of (name, n, seed)."""
    gen = torch.Generator().manual_seed(seed)
    if name == "ring":
        which = torch.randint(RING_MODES, (n,), generator=gen)
        return ring_modes()[which] + RING_STD * torch.randn(n, 2, generator=gen)
    if name == "moons":
        # Two interleaved half circles, like scikit-learn's make_moons, but with independent
        # positions along the arcs (make_moons spaces them evenly, so two of its samples are not
        # independent draws and real-vs-real distances would look too good).
        t = torch.rand(n, generator=gen) * math.pi
        lower = torch.rand(n, generator=gen) < 0.5
        x = torch.where(lower, 1 - t.cos(), t.cos())
        y = torch.where(lower, 0.5 - t.sin(), t.sin())
        points = torch.stack([x - 0.5, y - 0.25], dim=1) * 1.5
        return points + MOONS_NOISE * torch.randn(n, 2, generator=gen)
    raise DataError(f"unknown 2-D dataset {name!r}; choose from {', '.join(POINT_DATASETS)}")


def load_points(name: str, n_train: int = 20_000) -> PointData:
    """A fixed training set (seed SPLIT_SEED); held-out points come from other seeds."""
    return PointData(
        train=sample_points(name, n_train, SPLIT_SEED),
        name=name,
        modes=ring_modes() if name == "ring" else None,
        mode_std=RING_STD if name == "ring" else 0.0,
    )


def load_images(name: str, data_dir: str | None = None) -> ImageData:
    if name == "digits":
        return load_digits_split()
    if name == "idx":
        if not data_dir:
            raise DataError("--data idx needs --data-dir DIR holding train-images-idx3-ubyte")
        return load_idx_images(Path(data_dir))
    raise DataError(f"unknown image dataset {name!r}; choose from {', '.join(IMAGE_DATASETS)}")
