"""Small PNG figures for the generative examples: image grids and 2-D scatter plots.

Kept apart from the models so each example file stays about its model; matplotlib is imported
lazily with the Agg backend (no display needed) and figures are sized to stay well under 150 KB.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch.nn import functional as F


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt


def image_grid(images: torch.Tensor, rows: int, cols: int, shape: tuple[int, int]) -> torch.Tensor:
    """ROWS x COLS flattened images in [0, 1] -> one 2-D array, a one-pixel white gap between."""
    h, w = shape
    tiles = images.detach().float().cpu().clamp(0, 1).reshape(rows, cols, h, w)
    tiles = F.pad(tiles, (0, 1, 0, 1), value=0.0)  # 0 = white once inverted below
    return tiles.permute(0, 2, 1, 3).reshape(rows * (h + 1), cols * (w + 1))


def save_grid(path: Path, grid: torch.Tensor, title: str,
              row_labels: Sequence[str] | None = None, col_labels: Sequence[str] | None = None,
              cell: tuple[int, int] | None = None) -> None:
    """Save GRID (values in [0, 1], ink = 1) as dark digits on white."""
    plt = _pyplot()
    height, width = grid.shape
    fig, ax = plt.subplots(figsize=(width / 14 + 0.8, height / 14 + 0.7))
    ax.imshow(1 - grid.numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    if cell is not None and col_labels is not None:
        ax.set_xticks([(i + 0.5) * cell[1] - 1 for i in range(len(col_labels))], col_labels,
                      fontsize=6)
    if cell is not None and row_labels is not None:
        ax.set_yticks([(i + 0.5) * cell[0] - 1 for i in range(len(row_labels))], row_labels,
                      fontsize=6)
    for side in ax.spines.values():
        side.set_visible(False)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def save_points(path: Path, panels: Sequence[tuple[str, torch.Tensor]], reference: torch.Tensor,
                title: str, modes: torch.Tensor | None = None, limit: float = 3.2) -> None:
    """One scatter panel per (caption, points), each over the REFERENCE data in light grey."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(2.3 * len(panels), 2.5), squeeze=False)
    ref = reference[:2000].cpu().numpy()
    for ax, (caption, points) in zip(axes[0], panels, strict=True):
        pts = points[:2000].detach().float().cpu().numpy()
        ax.scatter(ref[:, 0], ref[:, 1], s=2, c="#cccccc", linewidths=0)
        ax.scatter(pts[:, 0], pts[:, 1], s=2, c="#1f5fa8", linewidths=0, alpha=0.6)
        if modes is not None:
            ax.scatter(modes[:, 0], modes[:, 1], s=14, marker="x", c="#c0392b", linewidths=1)
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-limit, limit)
        ax.set_aspect("equal")
        ax.set_title(caption, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def save_curves(path: Path, panels: Sequence[tuple[str, dict[str, tuple[list, list]]]],
                title: str, xlabel: str, reference: Sequence[float | None] | None = None
                ) -> None:
    """One panel per (metric, {curve label: (xs, ys)}), x on a log scale; REFERENCE[i], if
    given, is drawn in panel i as a dashed line (the real-vs-real value)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(2.7 * len(panels), 2.5), squeeze=False)
    for i, (ax, (metric, curves)) in enumerate(zip(axes[0], panels, strict=True)):
        for label, (xs, ys) in curves.items():
            ax.plot(xs, ys, marker="o", markersize=3, linewidth=1.2, label=label)
        if reference is not None and reference[i] is not None:
            ax.axhline(reference[i], color="#888888", linestyle="--", linewidth=1,
                       label="real vs real")
        ax.set_xscale("log")
        ax.set_xlabel(xlabel, fontsize=7)
        ax.set_title(metric, fontsize=8)
        ax.tick_params(labelsize=6)
        ax.legend(fontsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def save_paths(path: Path, paths: torch.Tensor, reference: torch.Tensor, title: str,
               limit: float = 3.2) -> None:
    """PATHS: (times, n, 2) positions of n points along their trajectories, drawn as lines from
    a grey start to a blue end, over the REFERENCE data."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(3.4, 3.4))
    ref = reference[:2000].cpu().numpy()
    ax.scatter(ref[:, 0], ref[:, 1], s=2, c="#dddddd", linewidths=0)
    p = paths.detach().float().cpu().numpy()
    ax.plot(p[:, :, 0], p[:, :, 1], color="#1f5fa8", linewidth=0.4, alpha=0.35)
    ax.scatter(p[0, :, 0], p[0, :, 1], s=3, c="#777777", linewidths=0, label="noise (t = 0)")
    ax.scatter(p[-1, :, 0], p[-1, :, 1], s=3, c="#c0392b", linewidths=0, label="sample (t = 1)")
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=6, loc="lower left")
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
