"""A small, deterministic SVG writer for the Learn pages' figures.

Why not matplotlib: its SVG output depends on the installed version and fonts (glyph metrics
decide the layout), so a test could not regenerate a figure and compare it with the committed
file on another machine. This writer places everything itself, rounds every coordinate to two
decimals, keeps text as text (so the Chinese labels stay searchable and sharp) and checks as it
draws that each label has a WCAG AA contrast (4.5:1) against the colour it sits on.

Images (digit grids) are embedded as 8-bit grey PNGs written here too, drawn with
``image-rendering: pixelated``; the figure test compares their decoded pixels.
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from collections.abc import Iterable, Sequence
from xml.sax.saxutils import escape

import numpy as np

INK = "#1a1a1a"  # text and axes: 17:1 on white
MUTED = "#595959"  # secondary text: 7:1 on white
GRID = "#d9d9d9"  # grid lines (not text)
PAPER = "#ffffff"
# Okabe-Ito hues, darkened where needed so that lines and markers reach 3:1 on white (WCAG
# non-text contrast); series are also told apart by dash pattern and marker, never by colour
# alone.
BLUE, VERMILION, GREEN, PURPLE, GREY, BROWN = ("#0072b2", "#c8501a", "#007a5e", "#8e3b8e",
                                               "#4d4d4d", "#8a5a00")
SERIES = (BLUE, VERMILION, GREEN, PURPLE, BROWN, GREY)
DASHES = (None, "6 3", "2 2", "8 3 2 3", "4 4", "1 3")
FONT = ("system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', 'Noto Sans CJK SC', "
        "'PingFang SC', 'Microsoft YaHei', sans-serif")


def num(value: float, decimals: int = 1) -> str:
    """A coordinate with at most DECIMALS decimals, no trailing zeros, never '-0'."""
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{value:.0f}"
    return "0" if text in ("-0", "") else text


def _rgb(colour: str) -> tuple[float, float, float]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i:i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def luminance(colour: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two colours."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def mix(stops: Sequence[str], t: float) -> str:
    """The colour at t in [0, 1] along a piecewise-linear ramp through STOPS."""
    t = min(max(float(t), 0.0), 1.0) * (len(stops) - 1)
    i = min(int(t), len(stops) - 2)
    a, b = _rgb(stops[i]), _rgb(stops[i + 1])
    f = t - i
    return "#" + "".join(f"{round((x + (y - x) * f) * 255):02x}" for x, y in zip(a, b, strict=True))


BLUES = ("#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b")
# A light ramp for heat maps with a number in every cell: dark text reads on all of it.
LIGHT_BLUES = ("#ffffff", "#d4e4f4", "#9cc3e6", "#6aa5d8")
DIVERGING = ("#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b")


def readable_on(fill: str) -> str:
    """Black-ish or white text, whichever contrasts more with FILL."""
    return INK if contrast(INK, fill) >= contrast(PAPER, fill) else PAPER


def png_grey(pixels: np.ndarray) -> bytes:
    """An 8-bit greyscale PNG of PIXELS (values in [0, 1], 1 = white), written byte for byte
    the same on every machine for the same pixels."""
    data = np.clip(np.round(np.asarray(pixels, dtype=float) * 255), 0, 255).astype(np.uint8)
    height, width = data.shape
    raw = b"".join(b"\x00" + data[row].tobytes() for row in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def png_pixels(data: bytes) -> np.ndarray:
    """Decode a PNG written by png_grey (for the tests)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, size = 8, b"", (0, 0)
    while position < len(data):
        length, = struct.unpack(">I", data[position:position + 4])
        kind = data[position + 4:position + 8]
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    width, height = size
    rows = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, width + 1)
    return rows[:, 1:].astype(float) / 255


class Svg:
    """One figure. Coordinates are in CSS pixels; (0, 0) is the top left corner."""

    def __init__(self, width: float, height: float, title: str, description: str) -> None:
        self.width, self.height = width, height
        self.title, self.description = title, description
        self.parts: list[str] = []
        self.rect(0, 0, width, height, PAPER)

    # -- primitives ------------------------------------------------------------------------

    def rect(self, x: float, y: float, w: float, h: float, fill: str, stroke: str | None = None,
             stroke_width: float = 1, rx: float = 0, dash: str | None = None) -> None:
        attrs = f'x="{num(x)}" y="{num(y)}" width="{num(w)}" height="{num(h)}" fill="{fill}"'
        if stroke:
            attrs += f' stroke="{stroke}" stroke-width="{num(stroke_width)}"'
        if rx:
            attrs += f' rx="{num(rx)}"'
        if dash:
            attrs += f' stroke-dasharray="{dash}"'
        self.parts.append(f"<rect {attrs}/>")

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str = INK,
             width: float = 1, dash: str | None = None, arrow: bool = False) -> None:
        attrs = (f'x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}" '
                 f'stroke="{stroke}" stroke-width="{num(width)}"')
        if dash:
            attrs += f' stroke-dasharray="{dash}"'
        self.parts.append(f"<line {attrs}/>")
        if arrow:
            self.arrowhead(x1, y1, x2, y2, stroke, size=4 + 2 * width)

    def arrowhead(self, x1: float, y1: float, x2: float, y2: float, fill: str,
                  size: float = 6) -> None:
        angle = math.atan2(y2 - y1, x2 - x1)
        points = [(x2, y2)]
        for side in (-1, 1):
            a = angle + math.pi - side * 0.45
            points.append((x2 + size * math.cos(a), y2 + size * math.sin(a)))
        self.polygon(points, fill)

    def arrows(self, segments: Iterable[tuple[float, float, float, float]], colour: str,
               width: float = 1.1, head: float = 3.5) -> None:
        """Many arrows as two paths (shafts, heads)."""
        shafts, heads = [], []
        for x1, y1, x2, y2 in segments:
            shafts.append(f"M{num(x1)} {num(y1)}L{num(x2)} {num(y2)}")
            angle = math.atan2(y2 - y1, x2 - x1)
            corners = [(x2 + head * math.cos(angle + math.pi - s * 0.45),
                        y2 + head * math.sin(angle + math.pi - s * 0.45)) for s in (-1, 1)]
            heads.append(f"M{num(x2)} {num(y2)}L{num(corners[0][0])} {num(corners[0][1])}"
                         f"L{num(corners[1][0])} {num(corners[1][1])}z")
        self.path("".join(shafts), stroke=colour, width=width)
        self.path("".join(heads), fill=colour)

    def polyline(self, points: Iterable[tuple[float, float]], stroke: str, width: float = 1.5,
                 dash: str | None = None) -> None:
        coords = " ".join(f"{num(x)},{num(y)}" for x, y in points)
        attrs = f'points="{coords}" fill="none" stroke="{stroke}" stroke-width="{num(width)}"'
        if dash:
            attrs += f' stroke-dasharray="{dash}"'
        self.parts.append(f'<polyline {attrs} stroke-linejoin="round"/>')

    def polygon(self, points: Iterable[tuple[float, float]], fill: str,
                stroke: str | None = None, opacity: float | None = None) -> None:
        coords = " ".join(f"{num(x)},{num(y)}" for x, y in points)
        attrs = f'points="{coords}" fill="{fill}"'
        if stroke:
            attrs += f' stroke="{stroke}"'
        if opacity is not None:
            attrs += f' fill-opacity="{num(opacity)}"'
        self.parts.append(f"<polygon {attrs}/>")

    def path(self, d: str, fill: str = "none", stroke: str | None = None,
             width: float = 1, opacity: float | None = None) -> None:
        attrs = f'd="{d}" fill="{fill}"'
        if stroke:
            attrs += f' stroke="{stroke}" stroke-width="{num(width)}"'
        if opacity is not None:
            attrs += f' fill-opacity="{num(opacity)}"'
        self.parts.append(f"<path {attrs}/>")

    def dots(self, points: Iterable[tuple[float, float]], fill: str, r: float = 1.6,
             shape: str = "circle") -> None:
        """Many small markers as one path (a dot, square or cross per point): small files.
        A dot is a zero-length segment with a round cap, about 12 bytes a point."""
        d = []
        if shape == "circle":
            d = [f"M{num(x)} {num(y)}h0" for x, y in points]
            self.parts.append(f'<path d="{"".join(d)}" stroke="{fill}" '
                              f'stroke-width="{num(2 * r)}" stroke-linecap="round"/>')
            return
        for x, y in points:
            if shape == "square":
                d.append(f"M{num(x - r)} {num(y - r)}h{num(2 * r)}v{num(2 * r)}h{num(-2 * r)}z")
            elif shape == "cross":
                d.append(f"M{num(x - r)} {num(y - r)}l{num(2 * r)} {num(2 * r)}"
                         f"M{num(x - r)} {num(y + r)}l{num(2 * r)} {num(-2 * r)}")
            else:
                d.append(f"M{num(x - r)} {num(y)}a{num(r)} {num(r)} 0 1 0 {num(2 * r)} 0"
                         f"a{num(r)} {num(r)} 0 1 0 {num(-2 * r)} 0z")
        if shape == "cross":
            self.path("".join(d), stroke=fill, width=1.2)
        else:
            self.path("".join(d), fill=fill)

    def text(self, x: float, y: float, content: str, size: float = 12, anchor: str = "start",
             fill: str = INK, background: str = PAPER, weight: str | None = None,
             rotate: float | None = None, italic: bool = False) -> None:
        ratio = contrast(fill, background)
        if ratio < 4.5:
            raise ValueError(f"text {content!r}: contrast {ratio:.2f} on {background} is below "
                             "WCAG AA (4.5)")
        attrs = f'x="{num(x)}" y="{num(y)}" font-size="{num(size)}"'
        if anchor != "start":
            attrs += f' text-anchor="{anchor}"'
        if fill != INK:
            attrs += f' fill="{fill}"'
        if weight:
            attrs += f' font-weight="{weight}"'
        if italic:
            attrs += ' font-style="italic"'
        if rotate is not None:
            attrs += f' transform="rotate({num(rotate)} {num(x)} {num(y)})"'
        self.parts.append(f"<text {attrs}>{escape(content)}</text>")

    def glyphs(self, items: Iterable[tuple[float, float, str, str]], size: float = 10) -> None:
        """Many short centred labels (x, y, text, colour) in one group, each checked for
        contrast on white: cheaper than one <text> with all attributes per label."""
        out = [f'<g font-size="{num(size)}" text-anchor="middle">']
        for x, y, content, colour in items:
            if contrast(colour, PAPER) < 4.5:
                raise ValueError(f"glyph {content!r}: colour {colour} below WCAG AA on white")
            out.append(f'<text x="{num(x)}" y="{num(y)}" fill="{colour}">{escape(content)}</text>')
        self.parts.append("".join(out) + "</g>")

    def image(self, x: float, y: float, w: float, h: float, pixels: np.ndarray) -> None:
        encoded = base64.b64encode(png_grey(pixels)).decode("ascii")
        self.parts.append(f'<image x="{num(x)}" y="{num(y)}" width="{num(w)}" height="{num(h)}" '
                          f'preserveAspectRatio="none" style="image-rendering:pixelated" '
                          f'href="data:image/png;base64,{encoded}"/>')

    # -- composites ------------------------------------------------------------------------

    def heatmap(self, x: float, y: float, cell: tuple[float, float], values: np.ndarray,
                ramp: Sequence[str] = BLUES, vmin: float = 0.0, vmax: float = 1.0,
                labels: Sequence[Sequence[str]] | None = None, size: float = 11,
                levels: int | None = None, outline: str | None = GRID) -> None:
        """A grid of coloured cells; with LABELS, each cell's text in a contrasting colour.
        With LEVELS, colours are quantised and each level is one path (compact for big maps)."""
        values = np.asarray(values, dtype=float)
        cw, ch = cell
        if levels:  # one path per colour level; vertical runs of a level merged into one box
            shades: dict[str, list[str]] = {}
            level = np.clip(np.round((values - vmin) / (vmax - vmin) * (levels - 1)), 0,
                            levels - 1).astype(int)
            rows, cols = level.shape
            for j in range(cols):
                i = 0
                while i < rows:
                    run = 1
                    while i + run < rows and level[i + run, j] == level[i, j]:
                        run += 1
                    shades.setdefault(mix(ramp, level[i, j] / (levels - 1)), []).append(
                        f"M{num(x + j * cw)} {num(y + i * ch)}h{num(cw)}v{num(run * ch)}"
                        f"h{num(-cw)}z")
                    i += run
            for colour in sorted(shades):
                self.path("".join(shades[colour]), fill=colour)
        else:
            for (i, j), v in np.ndenumerate(values):
                fill = mix(ramp, (v - vmin) / (vmax - vmin)) if np.isfinite(v) else PAPER
                self.rect(x + j * cw, y + i * ch, cw, ch, fill, stroke=outline)
                if labels is not None and labels[i][j]:
                    ink = readable_on(fill)
                    if contrast(ink, fill) < 4.5:  # a mid-tone cell: put the label on a chip
                        chip_w = size * 0.62 * len(labels[i][j]) + 4
                        self.rect(x + (j + 0.5) * cw - chip_w / 2, y + (i + 0.5) * ch - size * 0.6,
                                  chip_w, size * 1.25, PAPER, rx=2)
                        ink, fill = INK, PAPER
                    self.text(x + (j + 0.5) * cw, y + (i + 0.5) * ch + size * 0.35, labels[i][j],
                              size=size, anchor="middle", fill=ink, background=fill)
        if outline:
            self.rect(x, y, cw * values.shape[1], ch * values.shape[0], "none", stroke=MUTED)

    def colorbar(self, x: float, y: float, w: float, h: float, ramp: Sequence[str],
                 vmin: float, vmax: float, ticks: Sequence[float], size: float = 10) -> None:
        steps = 24
        for k in range(steps):
            self.rect(x, y + h - (k + 1) * h / steps, w, h / steps + 0.3,
                      mix(ramp, (k + 0.5) / steps))
        self.rect(x, y, w, h, "none", stroke=MUTED)
        for tick in ticks:
            ty = y + h - (tick - vmin) / (vmax - vmin) * h
            self.line(x + w, ty, x + w + 3, ty, MUTED)
            self.text(x + w + 5, ty + size * 0.35, num(tick), size=size)

    def axes(self, box: tuple[float, float, float, float], xlim: tuple[float, float],
             ylim: tuple[float, float], xticks: Sequence[float] = (), yticks: Sequence[float] = (),
             xlabel: str = "", ylabel: str = "", xlog: bool = False, ylog: bool = False,
             grid: bool = True, size: float = 10, tick_format=None) -> Axes:
        axes = Axes(self, box, xlim, ylim, xlog, ylog)
        x0, y0, w, h = box
        fmt = tick_format or num
        for tick in xticks:
            px = axes.px(tick)
            if grid:
                self.line(px, y0, px, y0 + h, GRID, 0.8)
            self.line(px, y0 + h, px, y0 + h + 3, MUTED)
            self.text(px, y0 + h + 4 + size, fmt(tick), size=size, anchor="middle")
        for tick in yticks:
            py = axes.py(tick)
            if grid:
                self.line(x0, py, x0 + w, py, GRID, 0.8)
            self.line(x0 - 3, py, x0, py, MUTED)
            self.text(x0 - 5, py + size * 0.35, fmt(tick), size=size, anchor="end")
        self.rect(x0, y0, w, h, "none", stroke=MUTED)
        if xlabel:
            self.text(x0 + w / 2, y0 + h + 2 * size + 10, xlabel, size=size + 1, anchor="middle")
        if ylabel:
            lx = x0 - 12 - size * 2.6
            self.text(lx, y0 + h / 2, ylabel, size=size + 1, anchor="middle", rotate=-90)
        return axes

    def legend(self, x: float, y: float, entries: Sequence[tuple[str, str, str | None]],
               size: float = 10, spacing: float = 16) -> None:
        """Entries are (label, colour, dash): a line sample and its label, one per row."""
        for k, (label, colour, dash) in enumerate(entries):
            yy = y + k * spacing
            self.line(x, yy - size * 0.35, x + 22, yy - size * 0.35, colour, 2, dash)
            self.text(x + 28, yy, label, size=size)

    def render(self) -> str:
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {num(self.width)} '
                f'{num(self.height)}" width="{num(self.width)}" height="{num(self.height)}" '
                f'role="img" aria-labelledby="title desc" font-family="{FONT}" fill="{INK}">')
        meta = (f'<title id="title">{escape(self.title)}</title>'
                f'<desc id="desc">{escape(self.description)}</desc>')
        return head + "\n" + meta + "\n" + "\n".join(self.parts) + "\n</svg>\n"


class Axes:
    """Maps data coordinates into a plotting box of an Svg."""

    def __init__(self, svg: Svg, box: tuple[float, float, float, float],
                 xlim: tuple[float, float], ylim: tuple[float, float], xlog: bool,
                 ylog: bool) -> None:
        self.svg, self.box, self.xlim, self.ylim = svg, box, xlim, ylim
        self.xlog, self.ylog = xlog, ylog

    def _t(self, v: float, lim: tuple[float, float], log: bool) -> float:
        if log:
            return (math.log10(v) - math.log10(lim[0])) / (math.log10(lim[1]) - math.log10(lim[0]))
        return (v - lim[0]) / (lim[1] - lim[0])

    def px(self, v: float) -> float:
        x0, _, w, _ = self.box
        return x0 + self._t(v, self.xlim, self.xlog) * w

    def py(self, v: float) -> float:
        _, y0, _, h = self.box
        return y0 + h - self._t(v, self.ylim, self.ylog) * h

    def point(self, x: float, y: float) -> tuple[float, float]:
        return self.px(x), self.py(y)

    def curve(self, xs: Iterable[float], ys: Iterable[float], colour: str, width: float = 1.8,
              dash: str | None = None) -> None:
        """A line through the points; the parts outside the plotting box are left out."""
        (x_lo, x_hi), (y_lo, y_hi) = sorted(self.xlim), sorted(self.ylim)
        runs: list[list[tuple[float, float]]] = [[]]
        for x, y in zip(xs, ys, strict=True):
            if x_lo <= x <= x_hi and y_lo <= y <= y_hi:
                runs[-1].append(self.point(x, y))
            elif runs[-1]:
                runs.append([])
        for run in runs:
            if len(run) > 1:
                self.svg.polyline(run, colour, width, dash)

    def scatter(self, xs: Iterable[float], ys: Iterable[float], colour: str, r: float = 1.6,
                shape: str = "circle") -> None:
        self.svg.dots([self.point(x, y) for x, y in zip(xs, ys, strict=True)], colour, r, shape)
