"""An encoder-decoder Transformer, trained from scratch to reverse sequences.

The task: read a sequence of 1 to 16 digits and write it backwards. Sequences in a batch
have different lengths, so they are padded, and padding masks keep attention off the
padding. Writing output position i needs input position n - 1 - i, which only the
decoder's cross-attention can fetch, so the task cannot be solved without it.

    encoder:  x = x + SelfAttention(LN(x)),          x = x + FeedForward(LN(x))
    decoder:  y = y + CausalSelfAttention(LN(y)),    y = y + CrossAttention(LN(y), memory)
              y = y + FeedForward(LN(y))

(pre-norm layers; Vaswani et al. 2017 put the LayerNorm after each residual sum instead,
which trains less easily without a learning-rate warm-up.) Trained with teacher forcing
and cross-entropy; evaluated by greedy decoding and exact-match accuracy on held-out
sequences that training never draws (an eighth of the digit strings of each length from 3
to 16, chosen by a hash of the string, is set aside), and on longer ones than any it was
trained on.

    python examples/transformer/transformer.py
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

PAD, BOS, EOS = 0, 1, 2          # special tokens; digits 0-9 are tokens 3-12
DIGITS = 10
VOCAB = 3 + DIGITS
MAX_LEN = 16                     # longest sequence to reverse in training
SHORT = 2                        # lengths 1-2: 110 strings in all, every one trained on
LONGER = (17, 24)                # lengths of the length-generalisation test


# -- model ------------------------------------------------------------------------------


class Attention(nn.Module):
    """Multi-head attention of queries from x over keys/values from `source`."""

    def __init__(self, d_model: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(d_model, d_model)
        self.key_value = nn.Linear(d_model, 2 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor, source: torch.Tensor, allowed: torch.Tensor,
                weights: list | None = None) -> torch.Tensor:
        """x: (B, T, d), source: (B, S, d), allowed: bool (B, 1, T or 1, S) -> (B, T, d)."""
        b, t, d = x.shape
        split = lambda z: z.view(b, -1, self.heads, d // self.heads).transpose(1, 2)  # noqa: E731
        q = split(self.query(x))                                  # (B, h, T, d/h)
        k, v = (split(z) for z in self.key_value(source).chunk(2, dim=-1))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        if weights is not None:  # for the figure: softmax(q k^T / sqrt(d_k)) with the mask
            scores = (q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]))
            weights.append(scores.masked_fill(~allowed, float("-inf")).softmax(-1))
        return self.out(out.transpose(1, 2).reshape(b, t, d))


def feed_forward(d_model: int) -> nn.Module:
    return nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(),
                         nn.Linear(4 * d_model, d_model))


class EncoderLayer(nn.Module):
    def __init__(self, d_model: int, heads: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attention = Attention(d_model, heads)
        self.feed_forward = feed_forward(d_model)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.attention(h, h, allowed)
        return x + self.feed_forward(self.norm2(x))


class DecoderLayer(nn.Module):
    def __init__(self, d_model: int, heads: int) -> None:
        super().__init__()
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(d_model) for _ in range(3))
        self.self_attention = Attention(d_model, heads)
        self.cross_attention = Attention(d_model, heads)
        self.feed_forward = feed_forward(d_model)

    def forward(self, y: torch.Tensor, memory: torch.Tensor, causal: torch.Tensor,
                source_allowed: torch.Tensor, weights: list | None = None) -> torch.Tensor:
        h = self.norm1(y)
        y = y + self.self_attention(h, h, causal)
        y = y + self.cross_attention(self.norm2(y), memory, source_allowed, weights)
        return y + self.feed_forward(self.norm3(y))


def sinusoids(length: int, d_model: int) -> torch.Tensor:
    """PE(p, 2i) = sin(p / 10000^(2i/d)), PE(p, 2i+1) = cos(p / 10000^(2i/d)): (length, d)."""
    position = torch.arange(length).float()[:, None]
    frequency = torch.exp(-math.log(10000.0) * torch.arange(0, d_model, 2).float() / d_model)
    table = torch.zeros(length, d_model)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table


class Transformer(nn.Module):
    def __init__(self, d_model: int = 64, heads: int = 4, layers: int = 2) -> None:
        super().__init__()
        self.d_model = d_model
        self.embed = nn.Embedding(VOCAB, d_model)
        self.register_buffer("positions", sinusoids(LONGER[1] + 2, d_model), persistent=False)
        self.encoder = nn.ModuleList(EncoderLayer(d_model, heads) for _ in range(layers))
        self.decoder = nn.ModuleList(DecoderLayer(d_model, heads) for _ in range(layers))
        self.encoder_norm, self.decoder_norm = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, VOCAB)

    def embedding(self, tokens: torch.Tensor) -> torch.Tensor:
        # Scaling by sqrt(d) puts the token embedding on the scale of the positions.
        return self.embed(tokens) * math.sqrt(self.d_model) + self.positions[:tokens.shape[1]]

    def encode(self, source: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """source: (B, S) tokens -> memory (B, S, d) and the keys it allows (B, 1, 1, S)."""
        allowed = (source != PAD)[:, None, None, :]   # never attend to padding
        x = self.embedding(source)
        for layer in self.encoder:
            x = layer(x, allowed)
        return self.encoder_norm(x), allowed

    def decode(self, target: torch.Tensor, memory: torch.Tensor, source_allowed: torch.Tensor,
               weights: list | None = None) -> torch.Tensor:
        """target: (B, T) tokens so far -> logits (B, T, VOCAB) for each next token."""
        t = target.shape[1]
        # Position i may see 0..i. Padding after EOS needs no mask: the loss ignores those
        # positions and causality keeps them from influencing the real ones.
        causal = torch.ones(t, t, dtype=torch.bool, device=target.device).tril()
        y = self.embedding(target)
        for layer in self.decoder:
            y = layer(y, memory, causal, source_allowed, weights)
        return self.head(self.decoder_norm(y))

    def forward(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        memory, allowed = self.encode(source)
        return self.decode(target, memory, allowed)

    @torch.no_grad()
    def greedy(self, source: torch.Tensor) -> torch.Tensor:
        """Decode one token at a time, always the most likely: (B, S) -> (B, S + 1)."""
        memory, allowed = self.encode(source)
        output = torch.full((source.shape[0], 1), BOS, device=source.device)
        for _ in range(source.shape[1] + 1):
            next_token = self.decode(output, memory, allowed)[:, -1].argmax(-1)
            output = torch.cat([output, next_token[:, None]], dim=1)
        return output[:, 1:]


# -- data -------------------------------------------------------------------------------


def held_out(source: torch.Tensor) -> torch.Tensor:
    """Is each string (B, MAX_LEN) in the held-out eighth of the strings of its length? A
    string is read as a base-11 number (digit + 1 at each position, 0 for padding), so each
    string of each length has its own number; a multiplicative hash of it (Knuth's, wrapping
    in 64 bits) picks the eighth. Lengths 1 and 2 are never held out: there are only 110
    such strings, and with 2 of the 10 one-digit strings held out the model reversed
    neither (it learns so few short strings by heart instead of the rule; see the README)."""
    number = torch.zeros(source.shape[0], dtype=torch.long)
    for column in torch.where(source >= 3, source - 2, 0).T:
        number = number * 11 + column
    hashed = (number * -0x61C8864680B583EB >> 40) & 7 == 0   # 0x9E3779B97F4A7C15 signed
    return hashed & ((source != PAD).sum(1) > SHORT)


def batch(size: int, generator: torch.Generator, lengths: tuple[int, int] = (1, MAX_LEN),
          uniform: bool = False, split: str = "train"
          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random digit strings with lengths in lengths[0]..lengths[1], padded. Lengths are drawn
    with probability proportional to the length (a string of length n has n digits to get
    right, so long strings need more practice), or uniformly. split "train" draws only
    strings outside the held-out eighth, "held_out" only strings in it (by redrawing the
    others), "any" both: held-out strings are disjoint from training ones by construction.

    source (B, max_len):      d1 d2 ... dn PAD ...
    decoder input (B, +1):    BOS dn ... d1 PAD ...
    decoder target (B, +1):   dn ... d1 EOS PAD ...
    """
    shortest, max_len = lengths
    weights = torch.arange(shortest, max_len + 1).float()
    if uniform:
        weights = torch.ones_like(weights)
    lengths_ = torch.multinomial(weights, size, replacement=True, generator=generator) + shortest
    digits = torch.randint(3, 3 + DIGITS, (size, max_len), generator=generator)
    position = torch.arange(max_len)
    real = position[None, :] < lengths_[:, None]
    source = torch.where(real, digits, PAD)
    if split != "any":
        assert max_len == MAX_LEN, "the held-out split is defined on strings up to MAX_LEN"
        while (redraw := held_out(source) != (split == "held_out")).any():
            fresh = torch.randint(3, 3 + DIGITS, (int(redraw.sum()), max_len),
                                  generator=generator)
            source[redraw] = torch.where(real[redraw], fresh, PAD)
    # Reverse each row's first n entries: output position i reads source position n - 1 - i.
    index = (lengths_[:, None] - 1 - position[None, :]).clamp(min=0)
    reversed_ = torch.where(real, source.gather(1, index), PAD)
    pad_column = torch.full((size, 1), PAD)
    target = torch.cat([reversed_, pad_column], dim=1)
    target[torch.arange(size), lengths_] = EOS
    decoder_input = torch.cat([torch.full((size, 1), BOS), reversed_], dim=1)
    return source, decoder_input, target


def exact_match(model: Transformer, source: torch.Tensor, target: torch.Tensor
                ) -> torch.Tensor:
    """Per sequence: did greedy decoding write every reversed digit and then EOS?"""
    predicted = model.greedy(source)
    relevant = target != PAD                               # the digits and the EOS
    return ((predicted == target) | ~relevant).all(dim=1)


# -- the loss ---------------------------------------------------------------------------


def sequence_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each next output token, padding ignored: (B, T, VOCAB), (B, T)."""
    return F.cross_entropy(logits.float().reshape(-1, VOCAB), target.reshape(-1),
                           ignore_index=PAD)


# -- training ---------------------------------------------------------------------------


def learning_rate(step: int, total: int, peak: float) -> float:
    """Linear warm-up over 100 steps, then cosine decay to a tenth of the peak."""
    if step < 100:
        return peak * (step + 1) / 100
    progress = (step - 100) / max(1, total - 100)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def train(model: Transformer, args: argparse.Namespace, run: runtime.Session) -> list[dict]:
    """AdamW with teacher forcing on fresh random batches; returns the logged losses."""
    steps = run.options.steps
    optimizer = torch.optim.AdamW(runtime.weight_decay_groups(model, 0.01), lr=args.lr)
    step, history = 0, []
    if (state := run.load_checkpoint()) is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, history = state["step"], state["history"]
    trained = run.wrap(model)
    log_every = max(1, steps // 60)
    # Summed on the device, read at log points only (no host-device sync every step).
    loss_sum, logged_at = torch.zeros((), device=run.device), step
    with run.progress(steps, step) as bar:
        while step < steps:
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, steps, args.lr)
            source, decoder_input, target = (
                z.to(run.device) for z in batch(args.batch_size, run.generator(step)))
            with run.autocast():
                loss = sequence_loss(trained(source, decoder_input), target)
            optimizer.zero_grad(set_to_none=True)
            run.scaler.scale(loss).backward()
            run.scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            run.scaler.step(optimizer)
            run.scaler.update()
            loss_sum += loss.detach()
            step += 1
            bar.update()
            checkpoint = step % run.options.checkpoint_every == 0 or step == steps
            if checkpoint or step % log_every == 0:
                mean = float(run.all_reduce_mean(loss_sum)) / (step - logged_at)
                history.append({"step": step, "loss": round(mean, 5)})
                loss_sum.zero_()
                logged_at = step
                bar.set_postfix(loss=f"{mean:.3f}", refresh=False)
            if checkpoint:
                run.save_checkpoint({"model": model.state_dict(), "step": step,
                                     "optimizer": optimizer.state_dict(), "history": history})
    return history


# -- evaluation -------------------------------------------------------------------------


def exact_match_by_length(model: Transformer, source: torch.Tensor, target: torch.Tensor,
                          run: runtime.Session) -> tuple[float, dict[int, float]]:
    """The share of sequences decoded exactly: overall, and for each length."""
    source, target = source.to(run.device), target.to(run.device)
    with run.autocast():
        correct = torch.cat([exact_match(model, s, t) for s, t in
                             zip(source.split(500), target.split(500), strict=True)]).cpu()
    lengths = (source != PAD).sum(1).cpu()
    by_length = {int(n): round(float(correct[lengths == n].float().mean()), 4)
                 for n in lengths.unique()}
    return float(correct.float().mean()), by_length


def evaluate(model: Transformer, args: argparse.Namespace, run: runtime.Session
             ) -> tuple[dict, dict]:
    """Exact match of greedy decoding on held-out strings, overall and at the worst length,
    and on strings longer than any in training (reported, not barred): (metrics, bars)."""
    model.eval()
    # From a generator no training step uses, and from the held-out eighth of the strings,
    # which training never draws: every one of these strings is new to the model.
    generator = torch.Generator().manual_seed(10**12 + args.seed)
    source, _, target = batch(args.eval_size, generator, (SHORT + 1, MAX_LEN), uniform=True,
                              split="held_out")
    accuracy, by_length = exact_match_by_length(model, source, target, run)
    # Lengths 1-2 have no unseen strings: all 110, every one also trained on.
    digits = torch.arange(3, 3 + DIGITS)
    pairs = torch.cartesian_prod(digits, digits)
    short = torch.cat([torch.stack([digits, torch.full_like(digits, PAD)], 1), pairs])
    short = torch.cat([short, torch.full((len(short), MAX_LEN - 2), PAD)], 1)
    lengths_ = (short != PAD).sum(1)
    reversed_ = torch.where(short[:, 1:2] == PAD, short[:, :2], short[:, :2].flip(1))
    target_short = torch.cat([reversed_, torch.full((len(short), MAX_LEN - 1), PAD)], 1)
    target_short[torch.arange(len(short)), lengths_] = EOS
    _, seen_by_length = exact_match_by_length(model, short, target_short, run)
    # Length generalisation: lengths 17-24, never trained on (so unseen too). Sinusoidal
    # positions are defined there, but the model has never used them.
    source, _, target = batch(args.eval_size // 2, generator, LONGER, uniform=True,
                              split="any")
    longer, longer_by_length = exact_match_by_length(model, source, target, run)
    worst = min(by_length.values())
    metrics = {"exact_match": round(accuracy, 4), "worst_length_exact_match": worst,
               "exact_match_by_length": by_length, "held_out_sequences": args.eval_size,
               "held_out_lengths": [SHORT + 1, MAX_LEN], "max_length": MAX_LEN,
               "exact_match_by_length_all_short_strings": seen_by_length,
               "length_generalisation": {
                   "lengths": list(LONGER), "sequences": args.eval_size // 2,
                   "exact_match": round(longer, 4), "exact_match_by_length": longer_by_length}}
    return metrics, {"exact_match": runtime.bar(accuracy, ">=", 0.99),
                     "worst_length_exact_match": runtime.bar(worst, ">=", 0.97)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    runtime.add_options(parser, steps=1800, checkpoint_every=300)
    parser.add_argument("--batch-size", type=runtime.positive_int, default=128,
                        help="sequences per step and process (default 128)")
    parser.add_argument("--lr", type=float, default=5e-3, help="peak learning rate")
    parser.add_argument("--eval-size", type=runtime.positive_int, default=4000,
                        help="held-out sequences for the exact-match accuracy (and half as "
                             "many longer ones)")
    args = parser.parse_args(argv)
    if not 0 < args.lr < 1:
        runtime.fail(f"--lr {args.lr} must be between 0 and 1")
    if args.dry_run:
        args.eval_size = 64
    steps = min(args.steps, runtime.DRY_RUN_STEPS) if args.dry_run else args.steps
    options = runtime.Options.from_args(args, steps=steps)
    with runtime.session(options, "transformer") as run:
        if run.device.type == "cpu":
            # A model this small runs fastest on one thread per process: each operation is
            # too small to split, and extra threads only contend for the cores.
            torch.set_num_threads(1)
        model = Transformer().to(run.device)
        history = train(model, args, run)
        metrics, bars = evaluate(model, args, run)
        if run.is_main:
            show_examples(model, run.device)
            draw_figures(model, history, metrics, run.device, run.out)
        run.write_metrics({
            **metrics,
            "final_train_loss": history[-1]["loss"],
            "batch_size": args.batch_size,
            "parameters": sum(p.numel() for p in model.parameters()),
            "parameter_digests": run.parameter_digests(model),
            "history": history,
        }, bars)
    return 0


def show_examples(model: Transformer, device: torch.device) -> None:
    source, _, target = batch(4, torch.Generator().manual_seed(7), split="held_out")
    predicted = model.greedy(source.to(device)).cpu()
    text = lambda row: " ".join(str(int(t) - 3) for t in row if t >= 3)  # noqa: E731
    for s, p in zip(source, predicted, strict=True):
        end = (p == EOS).nonzero()
        p = p[:int(end[0])] if len(end) else p
        print(f"  {text(s):>32}  ->  {text(p)}")


def draw_figures(model: Transformer, history: list[dict], metrics: dict,
                 device: torch.device, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.2), constrained_layout=True)
    ax_loss.plot([h["step"] for h in history], [h["loss"] for h in history], linewidth=0.8)
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("training cross-entropy (nats/token)")
    ax_loss.set_title("training loss")
    by_length = metrics["exact_match_by_length"]
    longer = metrics["length_generalisation"]["exact_match_by_length"]
    ax_acc.bar(list(by_length), [100 * a for a in by_length.values()],
               label="held-out strings, trained lengths")
    ax_acc.bar(list(longer), [100 * a for a in longer.values()], color="tab:orange",
               label="longer than any trained")
    ax_acc.set_ylim(0, 105)
    ax_acc.set_xlabel("sequence length")
    ax_acc.set_ylabel("exact match (%)")
    ax_acc.set_title("exact match on unseen strings (greedy)")
    ax_acc.legend(fontsize=7, loc="lower left")
    fig.savefig(out / "training.png", dpi=80)
    plt.close(fig)

    # Cross-attention of the last decoder layer while reading one sequence: the reversal
    # shows up as an anti-diagonal (output i looks at input n - 1 - i).
    source, decoder_input, _ = batch(1, torch.Generator().manual_seed(3))
    n = int((source != PAD).sum())
    source, decoder_input = source[:, :n].to(device), decoder_input[:, :n + 1].to(device)
    weights: list = []
    with torch.no_grad():
        memory, allowed = model.encode(source)
        model.decode(decoder_input, memory, allowed, weights)
    grid = weights[-1][0].mean(0).float().cpu()               # (n + 1, n), heads averaged
    fig, ax = plt.subplots(figsize=(4.6, 4.2), constrained_layout=True)
    ax.imshow(grid, cmap="viridis", vmin=0, vmax=1)
    digits = [str(int(t) - 3) for t in source[0]]
    ax.set_xticks(range(n), digits)
    ax.set_yticks(range(n + 1), ["BOS"] + digits[::-1])
    ax.set_xlabel("input (encoder position)")
    ax.set_ylabel("decoder input (predicting the next digit)")
    ax.set_title("cross-attention, last layer, heads averaged", fontsize=10)
    fig.savefig(out / "cross_attention.png", dpi=80)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
