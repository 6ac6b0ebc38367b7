# ruff: noqa: E501 - the figures' bilingual labels and descriptions read better unbroken
"""The figures of the Learn pages, computed and drawn by code (`python docs/figures/make_figures.py`).

Each figure is a pair of functions: ``data_<name>()`` computes what the figure shows (from the
same formulas and numbers as its page; small models are trained here, in a few seconds, with
fixed seeds) and ``draw_<name>(data, lang)`` turns it into an SVG with English or Chinese labels
(svg.py). The SVGs are committed under docs/{en,zh}/learn/figures/; tests/test_learn.py runs the
same code and compares the result with the committed files, so a figure cannot drift from the
code that made it, and checks some figures' data against the numbers printed on the pages.

    python docs/figures/make_figures.py            # rewrite every figure, both languages
    python docs/figures/make_figures.py gan-mode-collapse vae-latent
    python docs/figures/make_figures.py --check    # exit 1 if a committed figure differs
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from svg import (  # noqa: E402
    BLUE,
    DASHES,
    DIVERGING,
    GREEN,
    INK,
    LIGHT_BLUES,
    MUTED,
    PURPLE,
    SERIES,
    VERMILION,
    Svg,
    num,
)

ROOT = HERE.parents[1]
LANGS = ("en", "zh")


def out_path(name: str, lang: str) -> Path:
    return ROOT / "docs" / lang / "learn" / "figures" / f"{name}.svg"


def T(lang: str, en: str, zh: str) -> str:  # noqa: N802 - reads like a translation table
    return en if lang == "en" else zh


# =======================================================================================
# Attention


ATTENTION_Q = np.array([[1.0, 0.0, 1.0, 0.0], [0.0, 2.0, 0.0, 2.0], [1.0, 1.0, 1.0, 1.0]])
ATTENTION_K = np.array([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0], [1.0, 1.0, 0.0, 0.0]])


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def data_attention_weights() -> dict:
    scores = ATTENTION_Q @ ATTENTION_K.T / np.sqrt(ATTENTION_K.shape[1])
    future = np.triu(np.ones((3, 3), dtype=bool), k=1)
    return {"weights": _softmax(scores),
            "causal": _softmax(np.where(future, -np.inf, scores)),
            "mask": np.where(np.triu(np.ones((6, 6), dtype=bool), k=1), -np.inf, 0.0)}


def draw_attention_weights(data: dict, lang: str) -> str:
    fig = Svg(700, 272, T(lang, "Attention weights of the worked example, with and without the "
                               "causal mask", "算例的注意力权重（不加与加因果掩码）以及因果掩码"),
              T(lang, "Left: the 3 by 3 softmax weights of the worked example, rows are queries, "
                      "columns keys, each row sums to 1. Middle: the same scores with the causal "
                      "mask, the weights above the diagonal are 0. Right: the causal mask M for "
                      "6 tokens, 0 on and below the diagonal, minus infinity above it.",
                "左：算例的 3×3 softmax 权重，行是查询、列是键，每行之和为 1。中：加因果掩码后的权重，"
                "对角线以上为 0。右：6 个词元的因果掩码 M，对角线及其下方为 0，上方为负无穷。"))
    cell = 54
    panels = [(30, T(lang, "softmax(QKᵀ/√d_k)", "softmax(QKᵀ/√d_k)"), data["weights"]),
              (250, T(lang, "with the causal mask", "加因果掩码后"), data["causal"])]
    for x0, title, weights in panels:
        y0 = 58
        fig.text(x0 + 1.5 * cell + 16, 24, title, size=13, anchor="middle", weight="bold")
        fig.text(x0 + 1.5 * cell + 16, 44, T(lang, "key j →", "键 j →"), size=11,
                 anchor="middle", fill=MUTED)
        for j in range(3):
            fig.text(x0 + 16 + (j + 0.5) * cell, y0 - 4, f"k{j + 1}", size=11, anchor="middle")
        for i in range(3):
            fig.text(x0 + 12, y0 + (i + 0.5) * cell + 4, f"q{i + 1}", size=11, anchor="end")
        labels = [[f"{w:.2f}" for w in row] for row in weights]
        fig.heatmap(x0 + 16, y0, (cell, cell), weights, LIGHT_BLUES, 0, 1, labels, size=12)
        if weights is data["causal"]:
            for i in range(3):
                for j in range(i + 1, 3):  # hatch the hidden cells: masked, not just pale
                    x, y = x0 + 16 + j * cell, y0 + i * cell
                    fig.line(x + 4, y + cell - 4, x + cell - 4, y + 4, MUTED, 1)
        fig.text(x0 - 8, y0 + 1.5 * cell, T(lang, "query i", "查询 i"), size=11, anchor="middle",
                 fill=MUTED, rotate=-90)
    # The mask itself.
    x0, y0, c = 490, 58, 27
    fig.text(x0 + 3 * c + 10, 24, T(lang, "causal mask M", "因果掩码 M"), size=13,
             anchor="middle", weight="bold")
    fig.text(x0 + 3 * c + 10, 44, T(lang, "key j →", "键 j →"), size=11, anchor="middle",
             fill=MUTED)
    shown = np.where(np.isinf(data["mask"]), 1.0, 0.15)
    labels = [["−∞" if np.isinf(v) else "0" for v in row] for row in data["mask"]]
    fig.heatmap(x0 + 10, y0, (c, c), shown, ("#ffffff", "#4d4d4d"), 0, 1, labels, size=10)
    fig.text(x0 + 3 * c + 10, y0 + 6 * c + 18,
             T(lang, "row i sees keys j ≤ i", "第 i 行只看 j ≤ i 的键"), size=11, anchor="middle")
    fig.text(350, 262, T(lang, "Each row of weights sums to 1; hatched cells are hidden by the mask.",
                         "每行权重之和为 1；带斜线的格子被掩码遮住。"), size=11, anchor="middle",
             fill=MUTED)
    return fig.render()


def positional_encoding(length: int, d: int) -> np.ndarray:
    p = np.arange(length)[:, None]
    omega = 1.0 / 10000 ** (np.arange(0, d, 2) / d)
    pe = np.zeros((length, d))
    pe[:, 0::2], pe[:, 1::2] = np.sin(p * omega), np.cos(p * omega)
    return pe


def data_positional_encoding() -> dict:
    pe = positional_encoding(48, 32)
    return {"pe": pe, "similarity": pe @ pe[10] / 16}


def draw_positional_encoding(data: dict, lang: str) -> str:
    fig = Svg(700, 330, T(lang, "Sinusoidal positional encoding", "正弦位置编码"),
              T(lang, "Left: heat map of the positional encoding for 48 positions (rows) and 32 "
                      "dimensions (columns); the first dimensions oscillate fast, the last ones "
                      "slowly. Right: the dot product of the encoding of position 10 with every "
                      "position; it is largest at position 10 and depends only on the distance.",
                "左：48 个位置（行）、32 个维度（列）的位置编码热图；前面的维度振荡得快，后面的慢。"
                "右：位置 10 的编码与每个位置编码的点积，在位置 10 处最大，且只取决于两者的距离。"))
    pe = data["pe"]
    x0, y0, cw, ch = 70, 40, 9, 5.2
    fig.text(x0 + 16 * cw, 24, "PE[p, i]", size=13, anchor="middle", weight="bold")
    fig.heatmap(x0, y0, (cw, ch), pe, DIVERGING, -1, 1, levels=11, outline=None)
    fig.rect(x0, y0, 32 * cw, 48 * ch, "none", stroke=MUTED)
    for j in (0, 8, 16, 24, 31):
        fig.text(x0 + (j + 0.5) * cw, y0 + 48 * ch + 14, str(j), size=10, anchor="middle")
    for i in (0, 10, 20, 30, 40, 47):
        fig.text(x0 - 5, y0 + (i + 0.5) * ch + 3.5, str(i), size=10, anchor="end")
    fig.text(x0 + 16 * cw, y0 + 48 * ch + 32, T(lang, "dimension i", "维度 i"), size=11,
             anchor="middle")
    fig.text(x0 - 34, y0 + 24 * ch, T(lang, "position p", "位置 p"), size=11, anchor="middle",
             rotate=-90)
    fig.colorbar(x0 + 32 * cw + 12, y0, 10, 48 * ch, DIVERGING, -1, 1, (-1, 0, 1))
    ax = fig.axes((450, 40, 220, 220), (0, 47), (-0.6, 1.05), xticks=(0, 10, 20, 30, 40),
                  yticks=(-0.5, 0, 0.5, 1), xlabel=T(lang, "position q", "位置 q"),
                  ylabel=T(lang, "PE[10]·PE[q] / (d/2)", "PE[10]·PE[q] / (d/2)"))
    fig.text(560, 24, T(lang, "similarity to position 10", "与位置 10 的相似度"), size=13,
             anchor="middle", weight="bold")
    qs = np.arange(48)
    ax.curve(qs, data["similarity"], BLUE, 1.8)
    ax.scatter(qs, data["similarity"], BLUE, 2)
    return fig.render()


# =======================================================================================
# Transformer: block diagrams


def _box(fig: Svg, x: float, y: float, w: float, h: float, label: str, fill: str,
         size: float = 11) -> None:
    fig.rect(x, y, w, h, fill, stroke=MUTED, rx=5)
    fig.text(x + w / 2, y + h / 2 + size * 0.36, label, size=size, anchor="middle",
             background=fill)


ATTN, NORM, FFN, EMB, OUT = "#dbe9f6", "#fde6cf", "#d9efe3", "#eeeeee", "#ece1f1"


def data_transformer_encoder_decoder() -> dict:
    return {}


def draw_transformer_encoder_decoder(data: dict, lang: str) -> str:
    fig = Svg(640, 560, T(lang, "The encoder-decoder Transformer", "编码器-解码器 Transformer"),
              T(lang, "Block diagram. Left, the encoder: input embedding plus positional "
                      "encoding, then N layers of multi-head self-attention and a feed-forward "
                      "network, each followed by add and LayerNorm. Right, the decoder: the "
                      "shifted outputs, then N layers of masked self-attention, cross-attention "
                      "to the encoder output and a feed-forward network, then a linear layer "
                      "and a softmax over the vocabulary.",
                "结构图。左边是编码器：输入嵌入加位置编码，再经过 N 层，每层包括多头自注意力和前馈网络，"
                "各自后接残差相加与层归一化。右边是解码器：右移一位的输出，再经过 N 层，每层包括掩码自注意力、"
                "对编码器输出的交叉注意力和前馈网络，最后是线性层和词表上的 softmax。"))
    w = 200
    ex, dx = 60, 370
    add = T(lang, "add & LayerNorm", "残差相加 & 层归一化")
    # Encoder, bottom to top.
    fig.text(ex + w / 2, 24, T(lang, "encoder", "编码器"), size=14, anchor="middle", weight="bold")
    fig.text(dx + w / 2, 24, T(lang, "decoder", "解码器"), size=14, anchor="middle", weight="bold")
    _box(fig, ex, 500, w, 30, T(lang, "input tokens", "输入词元"), EMB)
    _box(fig, ex, 450, w, 30, T(lang, "embedding + positional enc.", "嵌入 + 位置编码"), EMB)
    fig.rect(ex - 14, 230, w + 28, 200, "none", stroke=MUTED, rx=8, dash="5 3")
    fig.text(ex - 20, 330, "N×", size=13, anchor="end", weight="bold")
    _box(fig, ex, 390, w, 30, T(lang, "multi-head self-attention", "多头自注意力"), ATTN)
    _box(fig, ex, 345, w, 26, add, NORM)
    _box(fig, ex, 290, w, 30, T(lang, "feed-forward network", "前馈网络"), FFN)
    _box(fig, ex, 245, w, 26, add, NORM)
    for y1, y2 in ((500, 480), (450, 420), (390, 371), (345, 320), (290, 271)):
        fig.line(ex + w / 2, y1, ex + w / 2, y2 + 2, INK, 1.3, arrow=True)
    fig.line(ex + w / 2, 245, ex + w / 2, 200, INK, 1.3)
    fig.text(ex + w / 2, 190, T(lang, "encoder output (one vector per token)",
                                "编码器输出（每个词元一个向量）"), size=11, anchor="middle")
    # Residual paths.
    for top, bottom in ((345, 425), (245, 325)):
        fig.polyline([(ex + w, bottom), (ex + w + 10, bottom), (ex + w + 10, top + 13),
                      (ex + w + 2, top + 13)], MUTED, 1.2, "3 2")
        fig.arrowhead(ex + w + 10, top + 13, ex + w + 2, top + 13, MUTED, 5)
    # Decoder.
    _box(fig, dx, 500, w, 30, T(lang, "outputs, shifted right", "输出（右移一位）"), EMB)
    _box(fig, dx, 455, w, 30, T(lang, "embedding + positional enc.", "嵌入 + 位置编码"), EMB)
    fig.rect(dx - 14, 165, w + 28, 275, "none", stroke=MUTED, rx=8, dash="5 3")
    fig.text(dx + w + 20, 300, "N×", size=13, weight="bold")
    _box(fig, dx, 400, w, 30, T(lang, "masked self-attention", "掩码自注意力"), ATTN)
    _box(fig, dx, 360, w, 24, add, NORM)
    _box(fig, dx, 310, w, 30, T(lang, "cross-attention (K, V: encoder)", "交叉注意力（K、V 来自编码器）"),
         ATTN, size=10.5)
    _box(fig, dx, 270, w, 24, add, NORM)
    _box(fig, dx, 220, w, 30, T(lang, "feed-forward network", "前馈网络"), FFN)
    _box(fig, dx, 180, w, 24, add, NORM)
    _box(fig, dx, 115, w, 30, T(lang, "linear (one score per token)", "线性层（每个词一个分数）"), OUT)
    _box(fig, dx, 65, w, 30, T(lang, "softmax: p(next token)", "softmax：下一个词元的概率"), OUT)
    for y1, y2 in ((500, 485), (455, 430), (400, 384), (360, 340), (310, 294), (270, 250),
                   (220, 204), (180, 145), (115, 95)):
        fig.line(dx + w / 2, y1, dx + w / 2, y2 + 2, INK, 1.3, arrow=True)
    # Encoder output feeds every cross-attention.
    fig.polyline([(ex + w / 2, 200), (ex + w / 2, 150), (300, 150), (300, 325), (dx - 2, 325)],
                 BLUE, 1.6)
    fig.arrowhead(300, 325, dx - 2, 325, BLUE, 7)
    fig.text(305, 145, T(lang, "K, V", "K、V"), size=11, fill=BLUE)
    fig.text(320, 555, T(lang, "Post-LN layout of the original paper; add & LayerNorm wraps "
                               "each sub-layer with a residual connection (dashed).",
                         "原论文的后归一化（Post-LN）布局；每个子层都包在残差连接（虚线）里，之后相加并归一化。"),
             size=10.5, anchor="middle", fill=MUTED)
    return fig.render()


def data_transformer_layernorm() -> dict:
    return {}


def _adder(fig: Svg, cx: float, cy: float) -> None:
    fig.rect(cx - 10, cy - 10, 20, 20, "#ffffff", stroke=INK, rx=10)
    fig.text(cx, cy + 5, "+", size=14, anchor="middle")


def _skip(fig: Svg, cx: float, left: float, tap: float, cy: float) -> None:
    fig.polyline([(cx, tap), (left, tap), (left, cy), (cx - 11, cy)], MUTED, 1.3, "3 2")
    fig.arrowhead(left, cy, cx - 11, cy, MUTED, 5)


def draw_transformer_layernorm(data: dict, lang: str) -> str:
    fig = Svg(640, 500, T(lang, "Post-LN and pre-LN Transformer layers",
                          "后归一化（Post-LN）与前归一化（Pre-LN）的 Transformer 层"),
              T(lang, "Two block diagrams. Post-LN, as in the original Transformer: the sub-layer "
                      "output is added to its input, then LayerNorm is applied, so every residual "
                      "sum is normalised. Pre-LN, as in most later models: LayerNorm is applied to "
                      "the input of each sub-layer and the residual path stays un-normalised, so a "
                      "final LayerNorm is needed after the last layer.",
                "两幅结构图。后归一化（原始 Transformer）：子层的输出与输入相加后再做层归一化，每次残差求和都被归一化。"
                "前归一化（之后的大多数模型）：层归一化作用在每个子层的输入上，残差通路本身不归一化，"
                "因此最后一层之后还需要一个最终的层归一化。"))
    ln = T(lang, "LayerNorm", "层归一化")
    attn = T(lang, "self-attention", "自注意力")
    ffn = T(lang, "feed-forward", "前馈网络")
    for x, title, pre in ((70, T(lang, "Post-LN (2017)", "后归一化（2017）"), False),
                          (380, T(lang, "Pre-LN (most models since)", "前归一化（此后的多数模型）"),
                           True)):
        cx, left = x + 90, x + 8
        fig.text(cx, 24, title, size=14, anchor="middle", weight="bold")
        fig.text(cx, 482, T(lang, "x (token vectors)", "x（词元向量）"), size=11, anchor="middle")
        fig.rect(x - 6, 150 if not pre else 150, 192, 300, "none", stroke=MUTED, rx=8, dash="5 3")
        fig.text(x - 10, 300, "N×", size=13, anchor="end", weight="bold")
        if not pre:
            boxes = [(410, attn, ATTN), (305, ln, NORM), (245, ffn, FFN), (170, ln, NORM)]
            adders = (355, 205)
            chain = [470, 424, 396, 365, 345, 319, 291, 259, 231, 215, 195, 184, 156, 110]
            taps = ((440, 355), (275, 205))
            out_label = T(lang, "to the next layer (already normalised)", "进入下一层（已归一化）")
        else:
            boxes = [(420, ln, NORM), (375, attn, ATTN), (275, ln, NORM), (230, ffn, FFN),
                     (95, T(lang, "final LayerNorm", "最终层归一化"), NORM)]
            adders = (325, 180)
            chain = [470, 434, 406, 389, 361, 335, 315, 289, 261, 244, 216, 190, 170, 109, 81, 50]
            taps = ((445, 325), (300, 180))
            out_label = T(lang, "output: only after the final LayerNorm", "输出：经过最终层归一化之后")
        for cy, label, fill in boxes:
            _box(fig, x + 25, cy - 14, 130, 28, label, fill)
        for cy in adders:
            _adder(fig, cx, cy)
        for y1, y2 in zip(chain[0::2], chain[1::2], strict=True):
            fig.line(cx, y1, cx, y2 + 1, INK, 1.3, arrow=True)
        for tap, cy in taps:
            _skip(fig, cx, left, tap, cy)
        fig.text(cx, 40 if pre else 100, out_label, size=10.5, anchor="middle", fill=MUTED)
    return fig.render()


# =======================================================================================
# Large language models


SAMPLING_LOGITS = np.array([2.0, 1.0, 0.5, -1.0])  # the page's next-token logits


def softmax_t(logits: np.ndarray, tau: float) -> np.ndarray:
    e = np.exp((logits - logits.max()) / tau)
    return e / e.sum()


def top_k(probs: np.ndarray, k: int) -> np.ndarray:
    keep = np.argsort(probs)[::-1][:k]
    out = np.zeros_like(probs)
    out[keep] = probs[keep] / probs[keep].sum()
    return out


def top_p(probs: np.ndarray, p: float) -> np.ndarray:
    order = np.argsort(probs)[::-1]
    keep = order[: np.searchsorted(np.cumsum(probs[order]), p) + 1]
    out = np.zeros_like(probs)
    out[keep] = probs[keep] / probs[keep].sum()
    return out


def data_llm_sampling() -> dict:
    base = softmax_t(SAMPLING_LOGITS, 1.0)
    return {"panels": [("τ = 0.5", softmax_t(SAMPLING_LOGITS, 0.5)), ("τ = 1", base),
                       ("τ = 2", softmax_t(SAMPLING_LOGITS, 2.0)), ("top-k, k = 2", top_k(base, 2)),
                       ("top-p, p = 0.9", top_p(base, 0.9))],
            "base": base}


def draw_llm_sampling(data: dict, lang: str) -> str:
    fig = Svg(700, 250, T(lang, "Temperature, top-k and top-p on one next-token distribution",
                          "同一个下一词元分布上的温度、top-k 与 top-p"),
              T(lang, "Five bar charts of the probabilities of four tokens with logits 2, 1, 0.5 "
                      "and -1. Temperature 0.5 sharpens the distribution, temperature 2 flattens "
                      "it. Top-k with k = 2 keeps the two most likely tokens and renormalises; "
                      "top-p with p = 0.9 keeps the three most likely tokens, whose probabilities "
                      "first reach 0.9. Dropped tokens are drawn as empty dashed bars.",
                "五幅柱状图，是 logit 为 2、1、0.5、−1 的四个词元的概率。温度 0.5 让分布变尖锐，温度 2 让它变平坦。"
                "k = 2 的 top-k 只保留最可能的两个词元并重新归一化；p = 0.9 的 top-p 保留概率之和首次达到 0.9 "
                "的前三个词元。被丢弃的词元画成空心虚线柱。"))
    pw, gap, x0, top, h = 118, 18, 40, 50, 140
    for n, (label, probs) in enumerate(data["panels"]):
        px = x0 + n * (pw + gap)
        fig.text(px + pw / 2, 30, label, size=12.5, anchor="middle", weight="bold")
        fig.line(px, top + h, px + pw, top + h, MUTED, 1)
        bw = pw / 4 - 6
        for i, p in enumerate(probs):
            bx = px + 3 + i * (pw / 4)
            if p > 0:
                fig.rect(bx, top + h - p * h, bw, p * h, BLUE)
                fig.text(bx + bw / 2, top + h - p * h - 4, f"{p:.2f}", size=9.5, anchor="middle")
            else:
                fig.rect(bx, top + h - data["base"][i] * h, bw, data["base"][i] * h, "none",
                         stroke=MUTED, dash="3 2")
                fig.text(bx + bw / 2, top + h - data["base"][i] * h - 4, "0", size=9.5,
                         anchor="middle", fill=MUTED)
            fig.text(bx + bw / 2, top + h + 14, f"t{i + 1}", size=10, anchor="middle")
    fig.text(350, 230, T(lang, "tokens t1…t4, logits (2, 1, 0.5, −1); dashed: removed by truncation",
                         "词元 t1…t4，logit 为 (2, 1, 0.5, −1)；虚线：被截断去掉的词元"),
             size=11, anchor="middle", fill=MUTED)
    fig.text(20, top + h / 2, T(lang, "probability", "概率"), size=11, anchor="middle",
             rotate=-90, fill=MUTED)
    return fig.render()


def data_llm_lora() -> dict:
    rng = np.random.default_rng(0)
    d, k, r = 12, 12, 2
    W = rng.standard_normal((d, k))
    B, A = rng.standard_normal((d, r)), rng.standard_normal((r, k))
    delta = B @ A
    return {"W": W, "B": B, "A": A, "delta": delta,
            "singular": np.linalg.svd(delta, compute_uv=False), "r": r}


def draw_llm_lora(data: dict, lang: str) -> str:
    fig = Svg(700, 300, T(lang, "LoRA: a frozen weight plus a trained low-rank update",
                          "LoRA：冻结的权重加上一个训练出来的低秩更新"),
              T(lang, "Heat maps of a frozen 12 by 12 weight W, of B (12 by 2) and A (2 by 12), "
                      "and of their product, the update BA, which is a full 12 by 12 matrix. "
                      "A bar chart of the singular values of BA shows only 2 non-zero values: "
                      "the update has rank r = 2 and costs 48 parameters instead of 144.",
                "热图依次是冻结的 12×12 权重 W、B（12×2）、A（2×12）以及它们的乘积 BA；BA 是完整的 12×12 矩阵。"
                "右侧柱状图是 BA 的奇异值，只有 2 个不为零：这个更新的秩为 r = 2，只需 48 个参数而不是 144 个。"))
    c = 11
    lim = 4.0
    y0 = 60
    blocks = [(30, data["W"], T(lang, "W (frozen)", "W（冻结）")),
              (198, data["B"], "B"), (240, data["A"], "A"),
              (400, data["delta"], "ΔW = BA")]
    for x, m, label in blocks:
        rows, cols = m.shape
        yy = y0 if rows > 2 else y0 + 5 * c
        fig.heatmap(x, yy, (c, c), np.clip(m, -lim, lim), DIVERGING, -lim, lim, levels=9,
                    outline=None)
        fig.rect(x, yy, cols * c, rows * c, "none", stroke=MUTED)
        fig.text(x + cols * c / 2, y0 - 12, label, size=12, anchor="middle", weight="bold")
        fig.text(x + cols * c / 2, y0 + 12 * c + 18, f"{rows}×{cols}", size=11, anchor="middle",
                 fill=MUTED)
    fig.text(180, y0 + 6 * c + 5, "+", size=20, anchor="middle")
    fig.text(232, y0 + 6 * c + 3, "×", size=14, anchor="middle")
    fig.text(385, y0 + 6 * c + 5, "=", size=20, anchor="middle")
    ax = fig.axes((585, 60, 100, 132), (0.5, 12.5), (0, 1.05 * data["singular"][0]),
                  xticks=(1, 4, 8, 12), yticks=(), xlabel=T(lang, "index", "序号"), grid=False)
    for i, s in enumerate(data["singular"]):
        bx = ax.px(i + 1)
        fig.rect(bx - 3, ax.py(s), 6, ax.py(0) - ax.py(s), PURPLE)
    fig.text(635, 44, T(lang, "singular values", "BA 的奇异值"), size=12, anchor="middle",
             weight="bold")
    fig.text(350, 270, T(lang, "trained parameters: d·r + r·k = 48 instead of d·k = 144",
                         "训练的参数：d·r + r·k = 48 个，而不是 d·k = 144 个"),
             size=12, anchor="middle")
    fig.text(350, 290, T(lang, "only 2 singular values are non-zero: rank(BA) = r = 2",
                         "只有 2 个奇异值不为零：rank(BA) = r = 2"), size=11, anchor="middle",
             fill=MUTED)
    return fig.render()


CHINCHILLA = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def chinchilla_loss(n_params: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    c = CHINCHILLA
    return c["E"] + c["A"] / n_params ** c["alpha"] + c["B"] / tokens ** c["beta"]


def data_llm_scaling() -> dict:
    budgets = [1e21, 1e22, 1e23, 5.76e23, 1e24]
    n = np.logspace(8, 12.5, 181)
    curves = []
    for c in budgets:
        loss = chinchilla_loss(n, c / (6 * n))
        best = int(np.argmin(loss))
        curves.append((c, loss, n[best], loss[best]))
    c = 5.76e23
    return {"n": n, "curves": curves,
            "models": [("Chinchilla", 70e9, chinchilla_loss(70e9, c / (6 * 70e9))),
                       ("Gopher", 280e9, chinchilla_loss(280e9, c / (6 * 280e9)))]}


def _sci(v: float) -> str:
    exponent = int(math.floor(math.log10(v)))
    mantissa = v / 10 ** exponent
    sup = str(exponent).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"10{sup}" if abs(mantissa - 1) < 1e-9 else f"{mantissa:.2f}·10{sup}"


def draw_llm_scaling(data: dict, lang: str) -> str:
    fig = Svg(700, 330, T(lang, "Iso-FLOP curves of the Chinchilla scaling law",
                          "Chinchilla 缩放定律的等算力曲线"),
              T(lang, "Predicted loss against the number of parameters for fixed training "
                      "compute, from the parametric law fitted by Hoffmann et al. (2022), with "
                      "tokens D = C / (6N). Each curve has a minimum, the compute-optimal model "
                      "size, which grows with the budget. On the curve for Gopher's budget, the "
                      "70B-parameter Chinchilla is predicted a lower loss than the 280B Gopher.",
                "在固定训练算力下，预测损失随参数量的变化，使用 Hoffmann 等人（2022）拟合的参数化定律，词元数 D = C / (6N)。"
                "每条曲线都有一个最小值，即算力最优的模型规模，它随算力预算增大。在 Gopher 的算力预算那条曲线上，"
                "700 亿参数的 Chinchilla 的预测损失低于 2800 亿参数的 Gopher。"))
    ax = fig.axes((80, 30, 420, 250), (1e8, 10 ** 12.5), (1.85, 3.2),
                  xticks=(1e8, 1e9, 1e10, 1e11, 1e12), yticks=(2.0, 2.4, 2.8, 3.2),
                  xlabel=T(lang, "parameters N (log scale)", "参数量 N（对数坐标）"),
                  ylabel=T(lang, "predicted loss (nats/token)", "预测损失（奈特/词元）"), xlog=True,
                  tick_format=lambda v: _sci(v) if v >= 1e8 else num(v))
    n = data["n"]
    entries = []
    for k, (c, loss, n_best, l_best) in enumerate(data["curves"]):
        colour, dash = SERIES[k % len(SERIES)], DASHES[k % len(DASHES)]
        shown = loss < 3.2
        ax.curve(n[shown], loss[shown], colour, 1.8, dash)
        ax.scatter([n_best], [l_best], colour, 3.5, "square")
        entries.append((f"C = {_sci(c)} FLOP", colour, dash))
    for name, n_model, loss in data["models"]:
        px, py = ax.point(n_model, float(loss))
        fig.dots([(px, py)], INK, 4, "cross")
        fig.text(px + 6, py - 6, name, size=11)
    fig.legend(515, 50, entries, size=10.5, spacing=18)
    fig.text(515, 160, T(lang, "L = E + A/N^α + B/D^β", "L = E + A/N^α + B/D^β"), size=11.5)
    fig.text(515, 178, "E=1.69 A=406.4 B=410.7", size=10.5, fill=MUTED)
    fig.text(515, 194, "α=0.34 β=0.28, D = C/(6N)", size=10.5, fill=MUTED)
    fig.text(515, 214, T(lang, "squares: the compute-optimal N", "方块：算力最优的 N"), size=10.5)
    fig.text(515, 230, T(lang, "crosses: Gopher's budget", "叉号：Gopher 的算力预算"), size=10.5)
    return fig.render()


# =======================================================================================
# GAN


def data_gan_losses() -> dict:
    d = np.linspace(0.005, 0.995, 199)
    x = np.linspace(-4, 5, 181)
    p_data = np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi)
    p_g = np.exp(-0.5 * ((x - 1.5) / 1.2) ** 2) / (1.2 * np.sqrt(2 * np.pi))
    return {"d": d, "minimax": np.log(1 - d), "non_saturating": -np.log(d),
            "x": x, "p_data": p_data, "p_g": p_g, "d_star": p_data / (p_data + p_g)}


def draw_gan_losses(data: dict, lang: str) -> str:
    fig = Svg(700, 300, T(lang, "The optimal discriminator and the two generator losses",
                          "最优判别器与两种生成器损失"),
              T(lang, "Left: a data density, a generator density and the optimal discriminator "
                      "D* = p_data / (p_data + p_g), which is one half where the two densities "
                      "are equal. Right: the generator losses as functions of D(G(z)); the "
                      "minimax loss log(1 - D) is flat near D = 0, where a poor generator starts, "
                      "the non-saturating loss -log D is steep there.",
                "左：数据密度、生成器密度和最优判别器 D* = p_data / (p_data + p_g)；两个密度相等处 D* 为二分之一。"
                "右：生成器损失作为 D(G(z)) 的函数；极小极大损失 log(1 − D) 在 D = 0 附近（差的生成器起步的地方）很平，"
                "非饱和损失 −log D 在那里很陡。"))
    ax = fig.axes((60, 40, 250, 200), (-4, 5), (0, 1.0), xticks=(-4, -2, 0, 2, 4),
                  yticks=(0, 0.5, 1), xlabel="x")
    ax.curve(data["x"], data["p_data"] * 2, BLUE, 2)
    ax.curve(data["x"], data["p_g"] * 2, VERMILION, 2, DASHES[1])
    ax.curve(data["x"], data["d_star"], INK, 2, DASHES[2])
    fig.legend(200, 60, [("p_data (×2)", BLUE, None), ("p_g (×2)", VERMILION, DASHES[1]),
                         ("D*(x)", INK, DASHES[2])], size=10.5)
    fig.text(185, 24, T(lang, "optimal discriminator", "最优判别器"), size=13, anchor="middle",
             weight="bold")
    ax = fig.axes((420, 40, 250, 200), (0, 1), (-4, 5), xticks=(0, 0.25, 0.5, 0.75, 1),
                  yticks=(-4, -2, 0, 2, 4), xlabel="D(G(z))",
                  ylabel=T(lang, "generator loss", "生成器损失"))
    ax.curve(data["d"], data["minimax"], VERMILION, 2, DASHES[1])
    ax.curve(data["d"], data["non_saturating"], BLUE, 2)
    fig.legend(520, 60, [(T(lang, "log(1 − D): minimax", "log(1 − D)：极小极大"), VERMILION,
                          DASHES[1]),
                         (T(lang, "−log D: non-saturating", "−log D：非饱和"), BLUE, None)],
               size=10.5)
    fig.text(545, 24, T(lang, "losses the generator minimises", "生成器最小化的损失"), size=13,
             anchor="middle", weight="bold")
    fig.text(430, 232, T(lang, "← a poor generator starts here", "← 差的生成器从这里起步"), size=10.5,
             fill=MUTED)
    fig.text(350, 292, T(lang, "Curves drawn with different dash patterns; the legend names each.",
                         "各曲线用不同的线型区分，图例注明了每一条。"), size=10.5, anchor="middle",
             fill=MUTED)
    return fig.render()


class _MLP:
    """A small fully connected ReLU network with manual backpropagation and Adam, in NumPy:
    several times faster than PyTorch for nets this small, so the figure test stays quick."""

    def __init__(self, sizes: list[int], rng: np.random.Generator) -> None:
        self.params = []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            self.params += [rng.standard_normal((a, b)) * math.sqrt(2 / a), np.zeros(b)]
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.acts = [x]
        layers = len(self.params) // 2
        for k in range(layers):
            x = x @ self.params[2 * k] + self.params[2 * k + 1]
            if k < layers - 1:
                x = np.maximum(x, 0)
            self.acts.append(x)
        return x

    def backward(self, grad: np.ndarray) -> np.ndarray:
        layers = len(self.params) // 2
        grads = [np.zeros(0)] * len(self.params)
        for k in range(layers - 1, -1, -1):
            if k < layers - 1:
                grad = grad * (self.acts[k + 1] > 0)
            grads[2 * k] = self.acts[k].T @ grad
            grads[2 * k + 1] = grad.sum(0)
            grad = grad @ self.params[2 * k].T
        self.grads = grads
        return grad

    def step(self, lr: float, b1: float = 0.5, b2: float = 0.999) -> None:
        self.t += 1
        for i, (p, g) in enumerate(zip(self.params, self.grads, strict=True)):
            self.m[i] = b1 * self.m[i] + (1 - b1) * g
            self.v[i] = b2 * self.v[i] + (1 - b2) * g * g
            p -= lr * (self.m[i] / (1 - b1**self.t)) / (np.sqrt(self.v[i] / (1 - b2**self.t)) + 1e-8)


RING_MODES, RING_RADIUS, RING_STD = 8, 2.0, 0.05


def ring_modes() -> np.ndarray:
    angles = 2 * np.pi * np.arange(RING_MODES) / RING_MODES
    return RING_RADIUS * np.stack([np.cos(angles), np.sin(angles)], 1)


def ring(n: int, rng: np.random.Generator, std: float = RING_STD) -> np.ndarray:
    return ring_modes()[rng.integers(RING_MODES, size=n)] + std * rng.standard_normal((n, 2))


def modes_covered(x: np.ndarray, radius: float = 0.3, share: float = 0.02) -> tuple[int, float]:
    """How many ring modes hold at least SHARE of the samples within RADIUS, and the fraction
    of samples that are that close to some mode."""
    d = np.linalg.norm(x[:, None, :] - ring_modes()[None], axis=2)
    near = d.min(1) < radius
    counts = np.bincount(d.argmin(1)[near], minlength=RING_MODES)
    return int((counts >= share * len(x)).sum()), float(near.mean())


def train_gan(seed: int, steps: int, d_steps: int, g_steps: int, lr: float = 3e-3,
              batch: int = 128, hidden: int = 32, pack: int = 1) -> np.ndarray:
    """A GAN on the ring with the non-saturating loss; returns 1,000 generated points. With
    PACK > 1 the discriminator judges PACK samples at once, concatenated (PacGAN)."""
    rng = np.random.default_rng(seed)
    G, D = _MLP([2, hidden, hidden, 2], rng), _MLP([2 * pack, hidden, hidden, 1], rng)
    m = batch // pack

    def packed(x: np.ndarray) -> np.ndarray:
        return x.reshape(m, 2 * pack)

    def sigmoid(v: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-v))

    for _ in range(steps):
        for _ in range(d_steps):  # minimise softplus(-D(x)) + softplus(D(G(z)))
            real, fake = ring(batch, rng), G.forward(rng.standard_normal((batch, 2)))
            D.backward(-(1 - sigmoid(D.forward(packed(real)))) / m)
            on_real = D.grads
            D.backward(sigmoid(D.forward(packed(fake))) / m)
            D.grads = [a + b for a, b in zip(on_real, D.grads, strict=True)]
            D.step(lr)
        for _ in range(g_steps):  # minimise softplus(-D(G(z))) = -log D(G(z))
            fake = G.forward(rng.standard_normal((batch, 2)))
            grad = D.backward(-(1 - sigmoid(D.forward(packed(fake)))) / m)
            G.backward(grad.reshape(batch, 2))
            G.step(lr)
    return G.forward(rng.standard_normal((1000, 2)))


GAN_SEED, GAN_STEPS = 0, 600


def data_gan_mode_collapse() -> dict:
    """One run each, same seed and updates: a generator that takes 5 steps per discriminator
    step collapses; the same with a discriminator that judges pairs of samples does not."""
    rng = np.random.default_rng(0)
    collapsed = train_gan(GAN_SEED, GAN_STEPS, d_steps=1, g_steps=5)
    balanced = train_gan(GAN_SEED, GAN_STEPS, d_steps=1, g_steps=5, pack=2)
    data = ring(1000, rng)
    return {"data": data, "collapsed": collapsed, "balanced": balanced,
            "covered": {"data": modes_covered(data),
                        "collapsed": modes_covered(collapsed),
                        "balanced": modes_covered(balanced)}}


def draw_gan_mode_collapse(data: dict, lang: str) -> str:
    fig = Svg(700, 290, T(lang, "Mode collapse of a GAN on a ring of eight Gaussians, and a fix",
                          "GAN 在八个高斯组成的圆环上的模式崩溃，以及一种修正"),
              T(lang, "Three scatter plots. Left: 500 points of the data, eight clusters on a "
                      "circle. Middle: 500 samples of a GAN whose generator takes five steps per "
                      "discriminator step; they collapse onto a thin curve that misses almost every "
                      "cluster. "
                      "Right: the same GAN, same seed and number of updates, but its "
                      "discriminator judges pairs of samples (packing, PacGAN); its samples cover "
                      "all eight clusters. Crosses mark the cluster centres.",
                "三幅散点图。左：500 个数据点，八个簇分布在圆周上。中：生成器每步判别器更新对应五步更新的 GAN 的 "
                "500 个样本；它们坍缩到一条细线上，几乎错过所有簇。右：同一个 GAN，相同的随机种子和更新次数，但判别器一次判断"
                "一对样本（打包，PacGAN）；样本覆盖了全部八个簇。叉号标出簇中心。"))
    titles = {"data": T(lang, "data", "数据"),
              "collapsed": T(lang, "5 G steps per D step", "每步 D 配 5 步 G"),
              "balanced": T(lang, "same, D judges pairs", "同上，D 一次判断一对")}
    for k, key in enumerate(("data", "collapsed", "balanced")):
        x0 = 30 + k * 228
        ax = fig.axes((x0, 40, 200, 200), (-3, 3), (-3, 3), grid=False)
        pts = np.clip(data[key][:500], -2.95, 2.95)
        ax.scatter(pts[:, 0], pts[:, 1], BLUE if key != "collapsed" else VERMILION, 1.3)
        m = ring_modes()
        fig.dots([ax.point(a, b) for a, b in m], INK, 4, "cross")
        fig.text(x0 + 100, 28, titles[key], size=12.5, anchor="middle", weight="bold")
        covered, near = data["covered"][key]
        fig.text(x0 + 100, 258, T(lang, f"{covered} of 8 modes covered", f"覆盖 8 个模式中的 {covered} 个"),
                 size=11.5, anchor="middle")
        fig.text(x0 + 100, 275, T(lang, f"{near:.0%} of points near a mode", f"{near:.0%} 的点靠近某个模式"),
                 size=10.5, anchor="middle", fill=MUTED)
    return fig.render()


# =======================================================================================
# VAE


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.data / 16.0, digits.target


def data_vae_latent() -> dict:
    """A VAE with a 2-D latent space on binarised 8x8 digits (Bernoulli decoder), trained for
    600 Adam steps in NumPy with the MLP above (the gradients of the ELBO written out)."""
    from statistics import NormalDist

    images, labels = _digits()
    x_all = (images > 0.5).astype(float)
    rng = np.random.default_rng(0)
    enc, dec = _MLP([64, 64, 4], rng), _MLP([2, 64, 64], rng)

    def sigmoid(v: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-v))

    batch = 128
    for _ in range(600):
        x = x_all[rng.integers(len(x_all), size=batch)]
        h = enc.forward(x)
        mu, log_var = h[:, :2], h[:, 2:]
        eps = rng.standard_normal(mu.shape)
        std = np.exp(0.5 * log_var)
        logits = dec.forward(mu + std * eps)
        # Loss per example: BCE(logits, x) summed over pixels + KL(q || N(0, I)); mean over batch.
        grad_z = dec.backward((sigmoid(logits) - x) / batch)
        grad_mu = grad_z + mu / batch
        grad_log_var = grad_z * 0.5 * std * eps + 0.5 * (np.exp(log_var) - 1) / batch
        enc.backward(np.concatenate([grad_mu, grad_log_var], 1))
        enc.step(4e-3, b1=0.9)
        dec.step(4e-3, b1=0.9)
    h = enc.forward(x_all)
    mu, log_var = h[:, :2], h[:, 2:]
    q = [NormalDist().inv_cdf(p) for p in np.linspace(0.05, 0.95, 10)]
    grid = np.array([[a, b] for b in q[::-1] for a in q])
    decoded = sigmoid(dec.forward(grid))
    kl = 0.5 * (np.exp(log_var) + mu**2 - 1 - log_var).sum(1)
    return {"mu": mu, "labels": labels, "decoded": decoded, "quantiles": q,
            "kl": float(kl.mean())}


DIGIT_COLOURS = ("#0072b2", "#c8501a", "#007a5e", "#8e3b8e", "#8a5a00", "#4d4d4d", "#b0306a",
                 "#2f6f2f", "#5a4fcf", "#a0522d")


def draw_vae_latent(data: dict, lang: str) -> str:
    fig = Svg(700, 360, T(lang, "The 2-D latent space of a VAE trained on 8×8 digits",
                          "在 8×8 手写数字上训练的 VAE 的二维隐空间"),
              T(lang, "Left: the encoder means of 450 digits in the two-dimensional latent space, "
                      "each drawn as its own digit character, so that classes are told apart by "
                      "the glyph and not only by colour; digits of one class gather in one region. "
                      "Right: the decoder's mean image for a 10 by 10 grid of latent points, "
                      "placed at the 5% to 95% quantiles of the standard normal prior; neighbouring "
                      "images change smoothly from one digit into another.",
                "左：450 个数字的编码器均值在二维隐空间中的位置，每个点直接画成它的数字字符，"
                "因此各类别靠字形区分，而不只靠颜色；同一类的数字聚在同一区域。右：在标准正态先验的 5% 到 95% "
                "分位数处取 10×10 个隐空间点，画出解码器输出的均值图像；相邻的图像从一个数字平滑地变成另一个。"))
    mu, labels = data["mu"], data["labels"]
    ax = fig.axes((55, 40, 280, 280), (-3.2, 3.2), (-3.2, 3.2), xticks=(-3, -2, -1, 0, 1, 2, 3),
                  yticks=(-3, -2, -1, 0, 1, 2, 3), xlabel="z₁", ylabel="z₂")
    glyphs = []
    for i in range(0, len(mu), 4):
        px, py = ax.point(*np.clip(mu[i], -3.1, 3.1))
        glyphs.append((px, py + 3.5, str(labels[i]), DIGIT_COLOURS[labels[i]]))
    fig.glyphs(glyphs, size=9.5)
    fig.text(195, 26, T(lang, "encoder means μ(x) of 450 digits", "450 个数字的编码器均值 μ(x)"),
             size=12.5, anchor="middle", weight="bold")
    # Decoded grid: 10 x 10 images of 8 x 8 pixels with one-pixel white gaps, ink dark.
    tiles = data["decoded"].reshape(10, 10, 8, 8)
    canvas = np.ones((10 * 9 + 1, 10 * 9 + 1))
    for r in range(10):
        for c in range(10):
            canvas[1 + r * 9:1 + r * 9 + 8, 1 + c * 9:1 + c * 9 + 8] = 1 - tiles[r, c]
    fig.image(400, 40, 273, 273, canvas)
    fig.rect(400, 40, 273, 273, "none", stroke=MUTED)
    fig.text(536, 26, T(lang, "decoder mean on a grid of z", "在 z 的网格上解码器的均值"), size=12.5,
             anchor="middle", weight="bold")
    fig.text(536, 332, T(lang, "z₁ from Φ⁻¹(0.05) to Φ⁻¹(0.95) →", "z₁ 从 Φ⁻¹(0.05) 到 Φ⁻¹(0.95) →"),
             size=11, anchor="middle")
    fig.text(388, 176, T(lang, "z₂ →", "z₂ →"), size=11, anchor="middle", rotate=-90)
    return fig.render()


def data_vae_elbo_gap() -> dict:
    """The page's linear-Gaussian model: z ~ N(0, 1), x | z ~ N(wz, s^2), x = 1.3."""
    w, s, x = 2.0, 0.5, 1.3

    def log_normal(value, mean, var):
        return -0.5 * np.log(2 * np.pi * var) - (value - mean) ** 2 / (2 * var)

    def kl_normal(m1, v1, m2, v2):
        return 0.5 * (np.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / v2 - 1)

    post_mean, post_var = w * x / (w**2 + s**2), s**2 / (w**2 + s**2)
    m = np.linspace(-0.6, 1.6, 221)
    elbo = log_normal(x, w * m, s**2) - w**2 * post_var / (2 * s**2) - kl_normal(m, post_var, 0, 1)
    return {"m": m, "elbo": elbo, "log_px": float(log_normal(x, 0.0, w**2 + s**2)),
            "post_mean": post_mean, "gap": kl_normal(m, post_var, post_mean, post_var),
            "prior_elbo": float(log_normal(x, 0.0, s**2) - w**2 / (2 * s**2))}


def draw_vae_elbo_gap(data: dict, lang: str) -> str:
    fig = Svg(700, 290, T(lang, "The ELBO and its gap for the page's small model",
                          "本页小模型的 ELBO 及其差距"),
              T(lang, "The log-likelihood log p(x) is a horizontal line; the ELBO of a Gaussian "
                      "q with the posterior's variance is a curve below it, touching it where the "
                      "mean of q equals the posterior mean. The vertical distance between the two "
                      "is the KL divergence from q to the posterior, drawn below as a second curve.",
                "对数似然 log p(x) 是一条水平线；方差取后验方差的高斯 q 的 ELBO 是它下方的一条曲线，"
                "在 q 的均值等于后验均值处与之相切。两者的竖直距离就是 q 到后验的 KL 散度，画在下方作为第二条曲线。"))
    m = data["m"]
    ax = fig.axes((80, 30, 400, 220), (m[0], m[-1]), (-6, 0.3), xticks=(-0.5, 0, 0.5, 1, 1.5),
                  yticks=(-6, -4, -2, 0), xlabel=T(lang, "mean of q", "q 的均值"),
                  ylabel=T(lang, "nats", "奈特"))
    ax.curve([m[0], m[-1]], [data["log_px"]] * 2, INK, 1.6, DASHES[1])
    ax.curve(m, data["elbo"], BLUE, 2)
    ax.curve(m, -data["gap"], VERMILION, 2, DASHES[2])
    pm = data["post_mean"]
    px, py = ax.point(pm, data["log_px"])
    fig.line(px, py, px, ax.py(-6), MUTED, 1, "2 3")
    fig.text(px + 4, ax.py(-5.6), T(lang, "posterior mean", "后验均值"), size=10.5)
    fig.legend(500, 60, [("log p(x)", INK, DASHES[1]), ("ELBO(q)", BLUE, None),
                         (T(lang, "−KL(q ‖ posterior)", "−KL(q ‖ 后验)"), VERMILION, DASHES[2])],
               size=11, spacing=20)
    fig.text(500, 140, T(lang, "log p(x) − ELBO = KL", "log p(x) − ELBO = KL"), size=11.5)
    fig.text(500, 160, T(lang, "q has the posterior's variance", "q 的方差取后验方差"), size=10.5,
             fill=MUTED)
    return fig.render()


# =======================================================================================
# Diffusion


def ddpm_schedule(steps: int = 1000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    betas = np.linspace(1e-4, 0.02, steps)
    return betas, 1 - betas, np.cumprod(1 - betas)


FORWARD_TIMES = (0, 25, 50, 100, 200, 300, 500, 1000)


def data_diffusion_forward() -> dict:
    images, labels = _digits()
    x0 = 2 * images[list(labels).index(3)].reshape(8, 8) - 1  # a "3", scaled to [-1, 1]
    _, _, alpha_bars = ddpm_schedule()
    eps = np.random.default_rng(0).standard_normal((8, 8))
    frames = []
    for t in FORWARD_TIMES:
        a_bar = 1.0 if t == 0 else alpha_bars[t - 1]
        frames.append(np.sqrt(a_bar) * x0 + np.sqrt(1 - a_bar) * eps)
    return {"frames": frames, "signal": [1.0 if t == 0 else float(np.sqrt(alpha_bars[t - 1]))
                                         for t in FORWARD_TIMES]}


def draw_diffusion_forward(data: dict, lang: str) -> str:
    fig = Svg(700, 170, T(lang, "Forward noising of a digit", "一个数字的前向加噪"),
              T(lang, "Eight 8 by 8 images of the digit 3 at steps t = 0, 25, 50, 100, 200, 300, "
                      "500 and 1000 of the linear DDPM schedule, all with the same noise draw: "
                      "the digit fades as the signal factor falls from 1 to almost 0, and at "
                      "t = 1000 only noise is left.",
                "线性 DDPM 调度下，数字 3 在第 t = 0、25、50、100、200、300、500、1000 步时的八幅 8×8 图像，"
                "都用同一次噪声采样：随着信号系数从 1 降到几乎为 0，数字逐渐消失，到 t = 1000 只剩噪声。"))
    size, gap = 70, 16
    for k, (t, frame) in enumerate(zip(FORWARD_TIMES, data["frames"], strict=True)):
        x = 24 + k * (size + gap)
        fig.image(x, 36, size, size, np.clip(1 - (frame + 1) / 2, 0, 1))
        fig.rect(x, 36, size, size, "none", stroke=MUTED)
        fig.text(x + size / 2, 26, f"t = {t}", size=11.5, anchor="middle", weight="bold")
        fig.text(x + size / 2, 124, f"√ᾱ = {data['signal'][k]:.2f}", size=10.5, anchor="middle")
    fig.text(350, 156, T(lang, "x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε, the same ε in every frame",
                         "x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε，每幅图用同一个 ε"), size=11, anchor="middle",
             fill=MUTED)
    return fig.render()


MIXTURE = {"means": np.array([-1.5, 0.5, 1.5]), "weights": np.array([0.3, 0.5, 0.2]),
           "std": 0.1}


def mixture_marginal(x: np.ndarray, a_bar: float) -> np.ndarray:
    """q(x_t) for the 1-D mixture data: each component N(mu, s^2) becomes
    N(sqrt(a_bar) mu, a_bar s^2 + 1 - a_bar)."""
    var = a_bar * MIXTURE["std"] ** 2 + 1 - a_bar
    comps = np.exp(-(x[:, None] - np.sqrt(a_bar) * MIXTURE["means"]) ** 2 / (2 * var))
    return (MIXTURE["weights"] * comps).sum(1) / np.sqrt(2 * np.pi * var)


def mixture_eps_star(x: np.ndarray, a_bar: float) -> np.ndarray:
    """The best noise prediction E[eps | x_t] = -sqrt(1 - a_bar) d/dx log q(x_t) (Tweedie)."""
    var = a_bar * MIXTURE["std"] ** 2 + 1 - a_bar
    diff = x[:, None] - np.sqrt(a_bar) * MIXTURE["means"]
    logw = np.log(MIXTURE["weights"]) - diff**2 / (2 * var)
    r = np.exp(logw - logw.max(1, keepdims=True))
    r /= r.sum(1, keepdims=True)
    score = -(r * diff).sum(1) / var
    return -np.sqrt(1 - a_bar) * score


MARGINAL_TIMES = (0, 50, 100, 200, 400, 1000)


def data_diffusion_marginals() -> dict:
    _, _, alpha_bars = ddpm_schedule()
    x = np.linspace(-3.5, 3.5, 281)
    curves = [(t, mixture_marginal(x, 1.0 if t == 0 else alpha_bars[t - 1]))
              for t in MARGINAL_TIMES]
    return {"x": x, "curves": curves}


def draw_diffusion_marginals(data: dict, lang: str) -> str:
    fig = Svg(700, 300, T(lang, "The marginal densities q(x_t) of one-dimensional data",
                          "一维数据的边缘密度 q(x_t)"),
              T(lang, "Density curves of q(x_t) for data made of three narrow peaks at -1.5, 0.5 "
                      "and 1.5 with weights 0.3, 0.5 and 0.2, at steps t = 0, 50, 100, 200, 400 "
                      "and 1000 of the linear schedule: the peaks shrink towards 0, widen and "
                      "merge, and by t = 1000 the density is the standard normal.",
                "数据由位于 −1.5、0.5、1.5、权重为 0.3、0.5、0.2 的三个窄峰组成，图中是线性调度下第 t = 0、50、100、"
                "200、400、1000 步的密度曲线 q(x_t)：各峰向 0 收缩、变宽并合并，到 t = 1000 密度就是标准正态分布。"))
    ax = fig.axes((70, 30, 420, 220), (-3.5, 3.5), (0, 1.6), xticks=(-3, -2, -1, 0, 1, 2, 3),
                  yticks=(0, 0.4, 0.8, 1.2, 1.6), xlabel="x_t", ylabel="q(x_t)")
    entries = []
    for k, (t, density) in enumerate(data["curves"]):
        colour, dash = SERIES[k % len(SERIES)], DASHES[k % len(DASHES)]
        ax.curve(data["x"], np.minimum(density, 1.6), colour, 1.8, dash)
        entries.append((f"t = {t}", colour, dash))
    fig.legend(515, 50, entries, size=11, spacing=20)
    fig.text(515, 190, T(lang, "t = 0 peaks reach 2.0,", "t = 0 的峰高 2.0，"), size=10.5,
             fill=MUTED)
    fig.text(515, 206, T(lang, "clipped at 1.6", "图中截在 1.6"), size=10.5, fill=MUTED)
    return fig.render()


def ddim_step(x: np.ndarray, eps: np.ndarray, a_bar: float, a_bar_prev: float, eta: float,
              noise: np.ndarray) -> np.ndarray:
    """One DDIM update from a_bar to a_bar_prev; eta = 0 is deterministic, eta = 1 is DDPM's
    posterior variance."""
    x0_hat = (x - np.sqrt(1 - a_bar) * eps) / np.sqrt(a_bar)
    sigma = eta * np.sqrt((1 - a_bar_prev) / (1 - a_bar) * (1 - a_bar / a_bar_prev))
    return (np.sqrt(a_bar_prev) * x0_hat + np.sqrt(1 - a_bar_prev - sigma**2) * eps
            + sigma * noise)


def data_diffusion_samplers() -> dict:
    betas, alphas, alpha_bars = ddpm_schedule()
    rng = np.random.default_rng(1)
    start = rng.standard_normal(16)
    x, ddpm = start.copy(), [(1000, start.copy())]
    for t in range(1000, 0, -1):
        z = rng.standard_normal(x.shape) if t > 1 else 0.0
        eps = mixture_eps_star(x, alpha_bars[t - 1])
        x = (x - betas[t - 1] / np.sqrt(1 - alpha_bars[t - 1]) * eps) / np.sqrt(alphas[t - 1]) \
            + np.sqrt(betas[t - 1]) * z
        if (t - 1) % 20 == 0:
            ddpm.append((t - 1, x.copy()))
    times = np.linspace(1000, 0, 51).round().astype(int)  # 50 DDIM steps
    x, ddim = start.copy(), [(1000, start.copy())]
    for t, s in zip(times[:-1], times[1:], strict=True):
        a_bar, a_prev = alpha_bars[t - 1], (1.0 if s == 0 else alpha_bars[s - 1])
        x = ddim_step(x, mixture_eps_star(x, a_bar), a_bar, a_prev, 0.0, np.zeros_like(x))
        ddim.append((int(s), x.copy()))
    return {"ddpm": ddpm, "ddim": ddim}


def draw_diffusion_samplers(data: dict, lang: str) -> str:
    fig = Svg(700, 300, T(lang, "DDPM and DDIM sampling paths with the exact noise predictor",
                          "用精确噪声预测器时 DDPM 与 DDIM 的采样路径"),
              T(lang, "Sixteen sampling paths x_t against t for the three-peak data, starting from "
                      "the same sixteen noise values at t = 1000. Left, DDPM with 1000 random "
                      "steps: jagged paths. Right, DDIM with eta = 0 and 50 steps: smooth, "
                      "deterministic paths. Both end on the three data peaks at -1.5, 0.5 and 1.5.",
                "三峰数据的 16 条采样路径 x_t 随 t 的变化，都从 t = 1000 时相同的 16 个噪声值出发。左：1000 步带随机性的 "
                "DDPM，路径曲折。右：η = 0、50 步的 DDIM，路径平滑且确定。两者都终止在位于 −1.5、0.5、1.5 的三个数据峰上。"))
    for k, (key, title) in enumerate((("ddpm", T(lang, "DDPM, 1000 stochastic steps",
                                                  "DDPM：1000 步，带随机性")),
                                      ("ddim", T(lang, "DDIM, η = 0, 50 steps",
                                                 "DDIM：η = 0，50 步")))):
        x0 = 70 + k * 330
        ax = fig.axes((x0, 40, 270, 200), (1000, 0), (-3, 3), xticks=(1000, 750, 500, 250, 0),
                      yticks=(-3, -1.5, 0, 0.5, 1.5, 3), xlabel="t", ylabel="x_t" if k == 0 else "")
        steps = data[key]
        ts = [t for t, _ in steps]
        xs = np.array([x for _, x in steps])
        for i in range(xs.shape[1]):
            ax.curve(ts, np.clip(xs[:, i], -3, 3), BLUE if k == 0 else GREEN, 1.1)
        fig.text(x0 + 135, 28, title, size=12.5, anchor="middle", weight="bold")
    fig.text(350, 292, T(lang, "data peaks at −1.5, 0.5, 1.5; time runs from noise (left) to data (right)",
                         "数据峰位于 −1.5、0.5、1.5；时间从噪声（左）走向数据（右）"), size=10.5,
             anchor="middle", fill=MUTED)
    return fig.render()


# =======================================================================================
# Flow matching


FLOW_STD = 0.1  # the ring's clusters for flow matching


def ring_velocity(x: np.ndarray, t: float) -> np.ndarray:
    """The exact marginal velocity E[x1 - x0 | x_t = x] of the straight-line path
    x_t = (1 - t) x0 + t x1, x0 ~ N(0, I), x1 from the ring of Gaussians of std FLOW_STD."""
    mus, s = ring_modes(), FLOW_STD
    var = (1 - t) ** 2 + t**2 * s**2
    d = x[:, None, :] - t * mus[None]
    logw = -(d**2).sum(-1) / (2 * var)
    w = np.exp(logw - logw.max(1, keepdims=True))
    w /= w.sum(1, keepdims=True)
    vk = mus[None] + (t * s**2 - (1 - t)) / var * d
    return (w[..., None] * vk).sum(1)


def euler(v: Callable, x: np.ndarray, steps: int) -> np.ndarray:
    for i in range(steps):
        x = x + v(x, i / steps) / steps
    return x


def heun(v: Callable, x: np.ndarray, steps: int) -> np.ndarray:
    h = 1 / steps
    for i in range(steps):
        t = i * h
        k1 = v(x, t)
        k2 = v(x + h * k1, t + h)
        x = x + h / 2 * (k1 + k2)
    return x


def rk4(v: Callable, x: np.ndarray, steps: int) -> np.ndarray:
    h = 1 / steps
    for i in range(steps):
        t = i * h
        k1 = v(x, t)
        k2 = v(x + h / 2 * k1, t + h / 2)
        k3 = v(x + h / 2 * k2, t + h / 2)
        k4 = v(x + h * k3, t + h)
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


def fit_velocity(rng: np.random.Generator, features: int = 400, samples: int = 10_000,
                 ridge: float = 1e-3) -> Callable:
    """Conditional flow matching with a random-feature model: v(x, t) = phi(x, t) @ C, where
    phi are fixed random cosine features and C minimises the CFM loss
    mean |phi(x_t, t) C - (x1 - x0)|^2 (+ a small ridge), solved exactly by least squares."""
    W = rng.standard_normal((3, features)) * np.array([[1.5], [1.5], [3.0]])
    b = rng.uniform(0, 2 * np.pi, features)

    def phi(x: np.ndarray, t: float | np.ndarray) -> np.ndarray:
        tt = np.broadcast_to(np.asarray(t, dtype=float).reshape(-1, 1), (len(x), 1))
        return np.sqrt(2 / features) * np.cos(np.concatenate([x, tt], 1) @ W + b)

    x1 = ring(samples, rng, FLOW_STD)
    x0 = rng.standard_normal((samples, 2))
    t = rng.uniform(0, 1, (samples, 1))
    P = phi((1 - t) * x0 + t * x1, t)
    C = np.linalg.solve(P.T @ P + ridge * np.eye(features), P.T @ (x1 - x0))
    return lambda x, t: phi(x, t) @ C


PATH_TIMES = (0.0, 0.25, 0.5, 0.75, 1.0)


def data_flow_path() -> dict:
    rng = np.random.default_rng(0)
    x0, x1 = rng.standard_normal((500, 2)), ring(500, rng, FLOW_STD)
    g = np.linspace(-2.7, 2.7, 7)
    grid = np.array([[a, b] for b in g for a in g])
    return {"x0": x0, "x1": x1, "grid": grid,
            "fields": [ring_velocity(grid, t) for t in PATH_TIMES[:-1]]}


def draw_flow_path(data: dict, lang: str) -> str:
    fig = Svg(700, 230, T(lang, "The probability path and its velocity field",
                          "概率路径及其速度场"),
              T(lang, "Five scatter plots of x_t = (1 - t) x0 + t x1 at t = 0, 0.25, 0.5, 0.75 "
                      "and 1, for Gaussian noise x0 and data x1 on a ring of eight clusters: the "
                      "cloud of noise contracts and splits into the eight clusters. Arrows show "
                      "the exact marginal velocity field at each time, the average direction of "
                      "the straight paths through each point.",
                "五幅散点图，是 t = 0、0.25、0.5、0.75、1 时的 x_t = (1 − t) x0 + t x1，其中 x0 是高斯噪声，"
                "x1 是圆环上八个簇的数据：噪声云逐渐收缩并分裂成八个簇。箭头是各时刻精确的边缘速度场，"
                "即穿过每一点的直线路径的平均方向。"))
    for k, t in enumerate(PATH_TIMES):
        x0 = 14 + k * 138
        ax = fig.axes((x0, 36, 128, 128), (-3.2, 3.2), (-3.2, 3.2), grid=False)
        pts = np.clip((1 - t) * data["x0"][:300] + t * data["x1"][:300], -3.1, 3.1)
        ax.scatter(pts[:, 0], pts[:, 1], BLUE, 1.0)
        if k < len(data["fields"]):
            segments = []
            for (a, b), (va, vb) in zip(data["grid"], data["fields"][k], strict=True):
                px, py = ax.point(a, b)
                qx, qy = ax.point(a + 0.16 * va, b + 0.16 * vb)
                if math.hypot(qx - px, qy - py) > 2:
                    segments.append((px, py, qx, qy))
            fig.arrows(segments, VERMILION)
        fig.text(x0 + 64, 26, f"t = {num(t)}", size=12, anchor="middle", weight="bold")
    fig.text(350, 190, T(lang, "t = 0: noise x₀ ~ N(0, I)        t = 1: data x₁", "t = 0：噪声 x₀ ~ N(0, I)        t = 1：数据 x₁"),
             size=11, anchor="middle")
    fig.text(350, 212, T(lang, "arrows: exact marginal velocity v(x, t) = E[x₁ − x₀ | x_t = x]",
                         "箭头：精确的边缘速度 v(x, t) = E[x₁ − x₀ | x_t = x]"), size=11,
             anchor="middle", fill=MUTED)
    return fig.render()


def data_flow_samplers() -> dict:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 2))
    reference = rk4(ring_velocity, x, 200)
    counts = (1, 2, 4, 8, 16, 32)
    err = {"euler": [], "heun": []}
    for n in counts:
        err["euler"].append(float(np.sqrt(((euler(ring_velocity, x, n) - reference) ** 2)
                                          .sum(1).mean())))
        err["heun"].append(float(np.sqrt(((heun(ring_velocity, x, n) - reference) ** 2)
                                         .sum(1).mean())))
    learned = fit_velocity(np.random.default_rng(1))
    start = rng.standard_normal((1000, 2))
    samples = heun(learned, start, 10)
    path = [start[:40]]
    y = start[:40].copy()
    for i in range(10):
        h, t = 0.1, i / 10
        k1 = learned(y, t)
        y = y + h / 2 * (k1 + learned(y + h * k1, t + h))
        path.append(y.copy())
    return {"counts": counts, "err": err, "samples": samples, "paths": np.array(path),
            "covered": modes_covered(samples)}


def draw_flow_samplers(data: dict, lang: str) -> str:
    fig = Svg(700, 320, T(lang, "Sampling a flow: Euler against Heun, and a learned field",
                          "对流采样：Euler 与 Heun 的比较，以及学到的速度场"),
              T(lang, "Left: on a log-log plot, the error of the end point against the number of "
                      "velocity evaluations, for Euler steps and Heun steps with the exact field; "
                      "the Euler error halves when the evaluations double (first order), the Heun "
                      "error falls about four times (second order). Right: 40 sample paths and "
                      "500 end points of a velocity field learned by conditional flow matching "
                      "(random features, solved by least squares), sampled with 10 Heun steps.",
                "左：双对数坐标下，使用精确速度场时终点误差随速度场调用次数的变化，分别对应 Euler 步和 Heun 步；"
                "调用次数加倍时 Euler 的误差减半（一阶），Heun 的误差约降为四分之一（二阶）。右：用条件流匹配学到的速度场"
                "（随机特征，用最小二乘求解）以 10 步 Heun 采样得到的 40 条路径和 500 个终点。"))
    counts = np.array(data["counts"])
    ax = fig.axes((80, 40, 270, 220), (1, 64), (1e-4, 3), xticks=(1, 2, 4, 8, 16, 32, 64),
                  yticks=(1e-4, 1e-3, 1e-2, 1e-1, 1), xlog=True, ylog=True,
                  xlabel=T(lang, "velocity evaluations", "速度场调用次数"),
                  ylabel=T(lang, "end-point error (RMS)", "终点误差（均方根）"),
                  tick_format=lambda v: num(v) if v >= 1 else _sci(v))
    ax.curve(counts, data["err"]["euler"], BLUE, 2)
    ax.scatter(counts, data["err"]["euler"], BLUE, 3, "square")
    ax.curve(2 * counts, data["err"]["heun"], VERMILION, 2, DASHES[1])
    ax.scatter(2 * counts, data["err"]["heun"], VERMILION, 3)
    fig.legend(215, 60, [(T(lang, "Euler (1 eval/step)", "Euler（每步 1 次）"), BLUE, None),
                         (T(lang, "Heun (2 evals/step)", "Heun（每步 2 次）"), VERMILION, DASHES[1])],
               size=10.5)
    fig.text(215, 24, T(lang, "exact field, error vs cost", "精确速度场：误差与代价"), size=12.5,
             anchor="middle", weight="bold")
    ax = fig.axes((440, 40, 220, 220), (-3.2, 3.2), (-3.2, 3.2), grid=False)
    s = np.clip(data["samples"][:500], -3.1, 3.1)
    ax.scatter(s[:, 0], s[:, 1], BLUE, 1.1)
    for i in range(data["paths"].shape[1]):
        p = np.clip(data["paths"][:, i], -3.1, 3.1)
        ax.curve(p[:, 0], p[:, 1], GREEN, 0.9)
    fig.dots([ax.point(a, b) for a, b in ring_modes()], INK, 4, "cross")
    fig.text(550, 24, T(lang, "learned field, 10 Heun steps", "学到的速度场，10 步 Heun"), size=12.5,
             anchor="middle", weight="bold")
    covered, near = data["covered"]
    fig.text(550, 280, T(lang, f"{covered} of 8 modes covered, {near:.0%} of points near a mode",
                         f"覆盖 8 个模式中的 {covered} 个，{near:.0%} 的点靠近某个模式"), size=11,
             anchor="middle")
    return fig.render()


# =======================================================================================
# Foundations: machine learning, NLP, computer vision


def _line_data() -> tuple[np.ndarray, np.ndarray]:
    """The machine-learning page's data: 200 points around y = 3x + 1."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 200)
    y = 3.0 * x + 1.0 + 0.1 * rng.standard_normal(200)
    return x, y


def data_ml_gradient_descent() -> dict:
    x, y = _line_data()
    lr = 0.1
    path_full = [(0.0, 0.0)]
    w = b = 0.0
    for _ in range(60):
        error = w * x + b - y
        w, b = w - lr * 2 * np.mean(error * x), b - lr * 2 * np.mean(error)
        path_full.append((w, b))
    rng = np.random.default_rng(1)
    path_sgd = [(0.0, 0.0)]
    w = b = 0.0
    for _ in range(60):
        batch = rng.choice(len(x), 10, replace=False)
        error = w * x[batch] + b - y[batch]
        w, b = w - lr * 2 * np.mean(error * x[batch]), b - lr * 2 * np.mean(error)
        path_sgd.append((w, b))
    H = np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
    best = np.linalg.solve(H, [np.mean(x * y), np.mean(y)])
    return {"full": np.array(path_full), "sgd": np.array(path_sgd), "H": H, "best": best}


def draw_ml_gradient_descent(data: dict, lang: str) -> str:
    fig = Svg(700, 330, T(lang, "Full-batch gradient descent and minibatch SGD on the line fit",
                          "直线拟合上的全批量梯度下降与小批量 SGD"),
              T(lang, "Elliptic contour lines of the mean squared error over the slope w and "
                      "the intercept b, with the minimum near w = 3, b = 1. Two paths of 60 steps "
                      "start at (0, 0): full-batch gradient descent, a smooth curve towards the "
                      "minimum, and minibatch SGD with 10 points per step, a jittery path that ends "
                      "near the minimum and keeps wandering around it.",
                "以斜率 w 和截距 b 为坐标的均方误差等高线是一组椭圆，最小值在 w = 3、b = 1 附近。两条 60 步的路径都从 "
                "(0, 0) 出发：全批量梯度下降平滑地走向最小值；每步只用 10 个点的小批量 SGD 路径抖动，"
                "走到最小值附近后仍在其周围徘徊。"))
    ax = fig.axes((70, 30, 360, 250), (-0.3, 3.6), (-0.3, 1.6), xticks=(0, 1, 2, 3),
                  yticks=(0, 0.5, 1, 1.5), xlabel=T(lang, "slope w", "斜率 w"),
                  ylabel=T(lang, "intercept b", "截距 b"))
    vals, vecs = np.linalg.eigh(data["H"])
    angles = np.linspace(0, 2 * np.pi, 91)
    for level in (0.02, 0.1, 0.3, 0.8, 1.6, 3.0):
        circle = np.stack([np.cos(angles), np.sin(angles)])
        pts = data["best"][:, None] + vecs @ (np.sqrt(level / vals)[:, None] * circle)
        inside = [(a, b) for a, b in pts.T]
        ax.curve([p[0] for p in inside], [p[1] for p in inside], "#9a9a9a", 0.9)
    ax.curve(data["full"][:, 0], data["full"][:, 1], BLUE, 2)
    ax.scatter(data["full"][::5, 0], data["full"][::5, 1], BLUE, 2.5, "square")
    ax.curve(data["sgd"][:, 0], data["sgd"][:, 1], VERMILION, 1.4, DASHES[1])
    ax.scatter(data["sgd"][::5, 0], data["sgd"][::5, 1], VERMILION, 2.5)
    fig.dots([ax.point(*data["best"])], INK, 5, "cross")
    fig.legend(455, 60, [(T(lang, "full batch (200 points/step)", "全批量（每步 200 个点）"), BLUE, None),
                         (T(lang, "minibatch SGD (10 points/step)", "小批量 SGD（每步 10 个点）"),
                          VERMILION, DASHES[1])], size=10.5, spacing=20)
    fig.text(455, 120, T(lang, "grey: contours of the loss", "灰线：损失的等高线"), size=10.5,
             fill=MUTED)
    fig.text(455, 138, T(lang, "cross: the least-squares fit", "叉号：最小二乘解"), size=10.5,
             fill=MUTED)
    fig.text(455, 156, T(lang, "marks every 5 steps", "每 5 步一个标记"), size=10.5, fill=MUTED)
    return fig.render()


def data_cv_convolution() -> dict:
    image = np.zeros((5, 6))
    image[:, 3:] = 1.0
    kernel = np.array([[-1.0, 0.0, 1.0]] * 3)
    out = np.array([[np.sum(image[i:i + 3, j:j + 3] * kernel) for j in range(4)]
                    for i in range(3)])
    return {"image": image, "kernel": kernel, "out": out}


def draw_cv_convolution(data: dict, lang: str) -> str:
    fig = Svg(700, 230, T(lang, "A 3×3 edge filter slid over an image", "在图像上滑动一个 3×3 边缘滤波器"),
              T(lang, "Three grids of numbers: a 5 by 6 image, dark on the left and bright on the "
                      "right; the 3 by 3 kernel with -1, 0, 1 in each row; and the 3 by 4 output, "
                      "0 on the flat regions and 3 where the window covers the edge. The window "
                      "for the first output cell is outlined.",
                "三个数字网格：一幅 5×6 的图像，左暗右亮；每行为 −1、0、1 的 3×3 卷积核；以及 3×4 的输出，"
                "平坦区域为 0，窗口跨过边缘处为 3。框出的是第一个输出格对应的窗口。"))
    c = 30
    img = data["image"]
    labels = [[num(v) for v in row] for row in img]
    fig.heatmap(30, 50, (c, c), 1 - img, ("#ffffff", "#4d4d4d"), 0, 1, labels, size=11)
    fig.rect(30, 50, 3 * c, 3 * c, "none", stroke=VERMILION, stroke_width=2.5)
    fig.text(30 + 3 * c, 36, T(lang, "image (5×6)", "图像（5×6）"), size=12.5, anchor="middle",
             weight="bold")
    fig.text(235, 125, "∗", size=22, anchor="middle")
    k = data["kernel"]
    fig.heatmap(260, 80, (c, c), (k + 1) / 2, DIVERGING, 0, 1, [[num(v) for v in r] for r in k],
                size=11)
    fig.text(260 + 1.5 * c, 66, T(lang, "kernel (3×3)", "卷积核（3×3）"), size=12.5,
             anchor="middle", weight="bold")
    fig.text(385, 125, "=", size=22, anchor="middle")
    out = data["out"]
    fig.heatmap(410, 80, (c, c), out / 3, LIGHT_BLUES, 0, 1, [[num(v) for v in r] for r in out],
                size=11)
    fig.rect(410, 80, c, c, "none", stroke=VERMILION, stroke_width=2.5)
    fig.text(410 + 2 * c, 66, T(lang, "output (3×4)", "输出（3×4）"), size=12.5,
             anchor="middle", weight="bold")
    fig.text(350, 215, T(lang, "Each output is the sum of the window times the kernel; the outlined window gives the outlined 0.",
                         "每个输出等于窗口与卷积核逐元素相乘再求和；框出的窗口给出框出的 0。"), size=11,
             anchor="middle", fill=MUTED)
    return fig.render()


BIGRAM_TEXT = "the cat sat on the mat and the cat ran"


def data_nlp_bigram() -> dict:
    words = BIGRAM_TEXT.split()
    vocab = list(dict.fromkeys(words))
    counts = np.zeros((len(vocab), len(vocab)))
    for a, b in zip(words, words[1:], strict=False):
        counts[vocab.index(a), vocab.index(b)] += 1
    rows = counts.sum(1, keepdims=True)
    return {"vocab": vocab, "counts": counts,
            "probs": np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)}


def draw_nlp_bigram(data: dict, lang: str) -> str:
    fig = Svg(520, 330, T(lang, "A bigram model counted from one sentence", "从一个句子计数得到的二元模型"),
              T(lang, "A 7 by 7 table of p(next word | previous word) for the sentence 'the cat "
                      "sat on the mat and the cat ran': rows are the previous word, columns the "
                      "next one. The row 'the' holds 0.67 for 'cat' and 0.33 for 'mat'; the row "
                      "'ran' is empty because nothing follows the last word.",
                "句子“the cat sat on the mat and the cat ran”的 7×7 条件概率表 p(下一个词 | 前一个词)："
                "行是前一个词，列是下一个词。“the”这一行中“cat”为 0.67、“mat”为 0.33；“ran”这一行为空，因为最后一个词后面没有词。"))
    vocab, probs = data["vocab"], data["probs"]
    c, x0, y0 = 48, 120, 70
    labels = [["" if p == 0 else f"{p:.2f}" for p in row] for row in probs]
    fig.heatmap(x0, y0, (c, c), probs, LIGHT_BLUES, 0, 1, labels, size=11)
    for j, word in enumerate(vocab):
        fig.text(x0 + (j + 0.5) * c, y0 - 8, word, size=11, anchor="middle")
        fig.text(x0 - 8, y0 + (j + 0.5) * c + 4, word, size=11, anchor="end")
    fig.text(x0 + 3.5 * c, 30, T(lang, "next word →", "下一个词 →"), size=12, anchor="middle",
             weight="bold")
    fig.text(28, y0 + 3.5 * c, T(lang, "previous word", "前一个词"), size=12, anchor="middle",
             rotate=-90, weight="bold")
    return fig.render()


# =======================================================================================
# The registry


@dataclass(frozen=True)
class Figure:
    name: str
    page: str  # the Learn page that shows it
    data: Callable[[], dict]
    draw: Callable[[dict, str], str]


def _single_threaded(compute: Callable[[], dict]) -> Callable[[], dict]:
    """Run with one BLAS thread: the matrices here are tiny, and on a shared machine extra
    threads only wait for each other (and results stay the same on any core count)."""

    def run() -> dict:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # scikit-learn brings it; without it, run as is
            return compute()
        with threadpool_limits(1):
            return compute()

    run.__name__ = compute.__name__
    return run


def _figures() -> dict[str, Figure]:
    pages = {
        "attention-weights": "attention.md", "positional-encoding": "attention.md",
        "transformer-encoder-decoder": "transformer.md", "transformer-layernorm": "transformer.md",
        "llm-sampling": "llm.md", "llm-lora": "llm.md", "llm-scaling": "llm.md",
        "gan-losses": "gan.md", "gan-mode-collapse": "gan.md",
        "vae-latent": "vae.md", "vae-elbo-gap": "vae.md",
        "diffusion-forward": "diffusion.md", "diffusion-marginals": "diffusion.md",
        "diffusion-samplers": "diffusion.md",
        "flow-path": "flow-matching.md", "flow-samplers": "flow-matching.md",
        "ml-gradient-descent": "machine-learning.md", "cv-convolution": "computer-vision.md",
        "nlp-bigram": "nlp.md",
    }
    module = globals()
    return {name: Figure(name, page, _single_threaded(module[f"data_{name.replace('-', '_')}"]),
                         module[f"draw_{name.replace('-', '_')}"]) for name, page in pages.items()}


FIGURES = _figures()


def render(name: str) -> dict[str, str]:
    """Both languages' SVG text of one figure, from one computation of its data."""
    figure = FIGURES[name]
    data = figure.data()
    return {lang: figure.draw(data, lang) for lang in LANGS}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    names = [a for a in argv if not a.startswith("--")] or list(FIGURES)
    unknown = sorted(set(names) - set(FIGURES))
    if unknown:
        print(f"unknown figures: {', '.join(unknown)}; known: {', '.join(FIGURES)}",
              file=sys.stderr)
        return 2
    stale = []
    for name in names:
        for lang, text in render(name).items():
            path = out_path(name, lang)
            if check:
                if not path.is_file() or path.read_text(encoding="utf-8") != text:
                    stale.append(str(path.relative_to(ROOT)))
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"{path.relative_to(ROOT)}  {len(text.encode()) / 1024:.1f} KB")
    if stale:
        print("stale figures (run python docs/figures/make_figures.py):\n  " + "\n  ".join(stale),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
