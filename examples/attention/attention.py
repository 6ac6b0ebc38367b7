"""Attention, written out by hand and checked against PyTorch's kernel.

Scaled dot-product attention (Vaswani et al., 2017) lets each query position read a
weighted mixture of the value vectors, weighted by how well its query matches each key:

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k) + M) V

with M = 0 where a query may look and -inf where it may not (a causal mask hides every
later position). Multi-head attention runs h such attentions side by side on learned
projections of the input, each of width d_model / h, and mixes their outputs:

    MultiHead(X) = Concat(head_1, ..., head_h) W_O,   head_i = Attention(X W_Q^i, X W_K^i, X W_V^i)

This program prints a worked example with a few tokens and real numbers, draws the
attention weights as a heat map, and checks that the hand-written code equals
``torch.nn.functional.scaled_dot_product_attention`` to float32 precision, with and without
a causal mask, and that with a causal mask no output depends on a later position.
Nothing is trained.

    python examples/attention/attention.py
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import runtime  # noqa: E402

# -- scaled dot-product attention -------------------------------------------------------


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(Q K^T / sqrt(d_k) + M) V, returning (output, weights).

    q: (..., T_q, d_k), k: (..., T_k, d_k), v: (..., T_k, d_v) -> output (..., T_q, d_v),
    weights (..., T_q, T_k). Dividing by sqrt(d_k) keeps the scores' variance near 1 when
    q and k have unit-variance entries, so the softmax does not saturate as d_k grows.
    """
    d_k = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)            # (..., T_q, T_k)
    if causal:
        t_q, t_k = scores.shape[-2:]
        # Query i may see keys 0..i: mask the strict upper triangle with -inf,
        # which the softmax turns into exactly zero weight.
        later = torch.ones(t_q, t_k, dtype=torch.bool, device=q.device).triu(1)
        scores = scores.masked_fill(later, float("-inf"))
    # softmax(s)_j = exp(s_j - max s) / sum_j' exp(s_j' - max s); subtracting the max
    # changes nothing mathematically and keeps exp from overflowing.
    scores = scores - scores.amax(dim=-1, keepdim=True)
    weights = scores.exp()
    weights = weights / weights.sum(dim=-1, keepdim=True)        # each row sums to 1
    return weights @ v, weights                                   # (..., T_q, d_v)


# -- multi-head attention ---------------------------------------------------------------


class MultiHeadAttention(nn.Module):
    """h heads of width d_model / h over learned projections, mixed by W_O."""

    def __init__(self, d_model: int, heads: int) -> None:
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model={d_model} is not divisible by heads={heads}")
        self.heads = heads
        self.w_q = nn.Linear(d_model, d_model, bias=False)
        self.w_k = nn.Linear(d_model, d_model, bias=False)
        self.w_v = nn.Linear(d_model, d_model, bias=False)
        self.w_o = nn.Linear(d_model, d_model, bias=False)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, d_model) -> (B, h, T, d_model / h): one slice of the features per head."""
        b, t, d = x.shape
        return x.view(b, t, self.heads, d // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, causal: bool = False, kernel: bool = False
                ) -> torch.Tensor:
        """x: (B, T, d_model) -> (B, T, d_model). kernel=True uses PyTorch's SDPA."""
        q, k, v = self.split(self.w_q(x)), self.split(self.w_k(x)), self.split(self.w_v(x))
        if kernel:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        else:
            out, _ = attention(q, k, v, causal)                   # (B, h, T, d_head)
        b, h, t, d_head = out.shape
        out = out.transpose(1, 2).reshape(b, t, h * d_head)       # concatenate the heads
        return self.w_o(out)


# -- the worked example -----------------------------------------------------------------

TOKENS = ["the", "cat", "sat", "down"]


def worked_example(device: torch.device, generator: torch.Generator) -> dict:
    """Four tokens, d_k = 4: print every intermediate of one attention step."""
    torch.set_printoptions(precision=3, sci_mode=False)
    t, d_k = len(TOKENS), 4
    # Small integer-valued vectors are easy to follow by hand.
    q = torch.randint(-2, 3, (t, d_k), generator=generator).float().to(device)
    k = torch.randint(-2, 3, (t, d_k), generator=generator).float().to(device)
    v = torch.randint(-2, 3, (t, d_k), generator=generator).float().to(device)
    print(f"Worked example: {t} tokens {TOKENS}, d_k = {d_k}")
    print("Q =\n", q.cpu(), "\nK =\n", k.cpu(), "\nV =\n", v.cpu(), sep="")
    scores = q @ k.T / math.sqrt(d_k)
    print(f"\nscores = Q K^T / sqrt({d_k}) (row i: how well query i matches each key) =")
    print(scores.cpu())
    out, weights = attention(q, k, v)
    print("\nweights = softmax(scores) along each row (rows sum to 1) =")
    print(weights.cpu())
    print("\noutput = weights V (row i: a mixture of the value rows) =")
    print(out.cpu())
    causal_out, causal_weights = attention(q, k, v, causal=True)
    print("\nwith a causal mask, weights (zero above the diagonal) =")
    print(causal_weights.cpu())
    print("output =")
    print(causal_out.cpu())
    rounded = lambda x: [[round(float(e), 4) for e in row] for row in x.cpu()]  # noqa: E731
    return {"tokens": TOKENS, "q": rounded(q), "k": rounded(k), "v": rounded(v),
            "scores": rounded(scores), "weights": rounded(weights), "output": rounded(out),
            "causal_weights": rounded(causal_weights), "causal_output": rounded(causal_out)}


# -- checks against PyTorch's kernel ----------------------------------------------------


def max_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


# Float32 precision: both compute the same sums in a different order, so they agree to a few
# units in the last place of the largest values (|x| ~ 1, eps ~ 1.2e-7).
TOLERANCE = 1e-5


def evaluate(device: torch.device, generator: torch.Generator, small: bool) -> dict:
    """The hand-written code against F.scaled_dot_product_attention, and causality."""
    batch, heads, t, d_head = (2, 2, 8, 8) if small else (4, 4, 24, 16)
    draw = lambda *shape: torch.randn(*shape, generator=generator).to(device)  # noqa: E731
    q, k, v = (draw(batch, heads, t, d_head) for _ in range(3))
    results: dict = {"shape": [batch, heads, t, d_head]}
    for causal in (False, True):
        mine, _ = attention(q, k, v, causal)
        theirs = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        results[f"sdpa_max_abs_diff_{'causal' if causal else 'full'}"] = \
            max_difference(mine, theirs)

    torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=generator)))
    mha = MultiHeadAttention(d_model=heads * d_head, heads=heads).to(device)
    x = draw(batch, t, heads * d_head)
    with torch.no_grad():
        for causal in (False, True):
            diff = max_difference(mha(x, causal), mha(x, causal, kernel=True))
            results[f"mha_max_abs_diff_{'causal' if causal else 'full'}"] = diff

    # Causality: change every position after p; outputs at 0..p must not move at all.
    leaks = 0.0
    with torch.no_grad():
        base = mha(x, causal=True)
        for p in range(t - 1):
            changed = x.clone()
            changed[:, p + 1:] = draw(batch, t - p - 1, heads * d_head)
            leaks = max(leaks, max_difference(mha(changed, causal=True)[:, :p + 1],
                                              base[:, :p + 1]))
    # And through gradients: d output_i / d x_j must be exactly zero for j > i.
    x_grad = x.clone().requires_grad_(True)
    out = mha(x_grad, causal=True)
    gradient_leak = 0.0
    for i in range(t - 1):
        (grad,) = torch.autograd.grad(out[:, i].sum(), x_grad, retain_graph=True)
        gradient_leak = max(gradient_leak, float(grad[:, i + 1:].abs().max()))
    results["causal_max_change_from_later_positions"] = leaks
    results["causal_max_gradient_to_later_positions"] = gradient_leak
    return results


def bars(results: dict) -> dict:
    """The example's two bars: the hand-written code equals the kernel to float32 precision,
    and no output moves (or has a gradient) when a later position changes."""
    differences = [value for key, value in results.items() if "max_abs_diff" in key]
    leaks = [results["causal_max_change_from_later_positions"],
             results["causal_max_gradient_to_later_positions"]]
    return {"equals_pytorch_sdpa": runtime.bar(max(differences), "<=", TOLERANCE),
            "causal_mask_leaks_nothing": runtime.bar(max(leaks), "<=", 0.0)}


# -- figure -----------------------------------------------------------------------------


def draw_heat_maps(example: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8, 3.6), constrained_layout=True)
    for ax, key, title in ((axes[0], "weights", "attention weights"),
                           (axes[1], "causal_weights", "with a causal mask")):
        weights = example[key]
        image = ax.imshow(weights, cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(len(TOKENS)), TOKENS)
        ax.set_yticks(range(len(TOKENS)), TOKENS)
        ax.set_xlabel("key (attended to)")
        ax.set_ylabel("query")
        ax.set_title(title)
        for i, row in enumerate(weights):
            for j, w in enumerate(row):
                ax.text(j, i, f"{w:.2f}", ha="center", va="center",
                        color="white" if w < 0.5 else "black", fontsize=9)
    fig.colorbar(image, ax=axes, shrink=0.8)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    runtime.add_run_options(parser)  # nothing is trained: no --steps, --resume, --compile
    parser.add_argument("--dry-run", action="store_true", help="smaller checks, no figure")
    args = parser.parse_args(argv)
    with runtime.session(runtime.Options.from_args(args), "attention") as run:
        # The checks are about float32 precision: no TF32 matrix products on CUDA.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        generator = torch.Generator().manual_seed(args.seed)
        example = worked_example(run.device, generator)
        results = evaluate(run.device, generator, small=args.dry_run)
        print("\nChecks against torch.nn.functional.scaled_dot_product_attention:")
        for key, value in results.items():
            print(f"  {key}: {value}")
        if not args.dry_run:
            run.out.mkdir(parents=True, exist_ok=True)
            draw_heat_maps(example, run.out / "attention_weights.png")
        run.write_metrics({"checks": results, "worked_example": example}, bars(results))
        return 0 if runtime.all_passed(bars(results)) else 1


if __name__ == "__main__":
    sys.exit(main())
