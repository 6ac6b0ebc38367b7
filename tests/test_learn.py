"""The Learn pages: their code runs, their numbers come from that code, their formulas hold.

Page conventions are described in learn_pages.py. Besides running the pages, this module
checks the mathematics the pages state and derive (signs, masks, normalizations, inequalities,
the derivations' identities) on small numerical cases, proves each erratum listed on the
overview page, regenerates every figure with docs/figures/make_figures.py and compares it with
the committed SVG, checks that every exercise's answer runs code, and that the references are
linked, verified, and point to the catalog's entry page for every paper the catalog holds.
"""

from __future__ import annotations

import ast
import base64
import functools
import math
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from learn_pages import (
    LANGS,
    ROOT,
    display_formulas,
    learn_page,
    normalize_formula,
    output_problems,
    page_names,
    parse,
    parse_text,
    run_page,
    span_problems,
    spans,
    unbound_numbers,
)

ALGORITHM_PAGES = {"attention.md": "attention", "transformer.md": "transformer", "gan.md": "gan",
                   "vae.md": "vae", "diffusion.md": "diffusion", "llm.md": "llm",
                   "flow-matching.md": "flow-matching"}
CONCEPT_PAGES = {
    "nlp.md": ["nlp", "word-embeddings", "language-models", "seq2seq", "attention",
               "transformer", "pretrained-models", "llm"],
    "computer-vision.md": ["computer-vision", "cnn", "gan", "vae", "diffusion", "segmentation",
                           "detection", "image-generation"],
    "machine-learning.md": ["machine-learning", "deep-learning", "reinforcement-learning",
                            "transfer-learning", "meta-learning"],
}
PAGES = ["index.md", *CONCEPT_PAGES, *ALGORITHM_PAGES]
# Pages that end with their sources (all but the overview, whose last section is the errata).
REFERENCE_PAGES = [*CONCEPT_PAGES, *ALGORITHM_PAGES]
PAGE_CASES = [(lang, name) for name in PAGES for lang in LANGS]


def case_id(case: tuple[str, str]) -> str:
    return f"{case[0]}/{case[1]}"


# ---------------------------------------------------------------------------------------
# The pages themselves


def test_every_learn_page_exists_in_both_languages() -> None:
    for lang in LANGS:
        present = sorted(p.name for p in (ROOT / "docs" / lang / "learn").glob("*.md"))
        assert present == sorted(PAGES), f"docs/{lang}/learn/ holds {present}"
    assert page_names() == sorted(PAGES)


@functools.cache
def _run(lang: str, name: str):
    """Each page is run once per test session; several tests read its namespace."""
    page = parse(learn_page(lang, name))
    return page, run_page(page)


@pytest.mark.parametrize("case", PAGE_CASES, ids=case_id)
def test_page_code_runs_and_its_numbers_match(case: tuple[str, str]) -> None:
    """Every code block runs and prints what the page shows; every number comes from code."""
    page, run = _run(*case)
    assert run.error is None, run.error
    problems = output_problems(page, run) + span_problems(page, run) + unbound_numbers(page)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", PAGE_CASES, ids=case_id)
def test_numbers_are_computed_not_typed_in(case: tuple[str, str]) -> None:
    """A data-value span whose expression is a bare number would prove nothing."""
    page = parse(learn_page(*case))
    typed = []
    for expr, text in spans(page):
        try:
            value = ast.literal_eval(expr)
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, int | float):
            typed.append(f"{text} ({expr})")
    assert not typed, f"{page.name}: numbers typed into data-value instead of computed: {typed}"


def _code_without_comments(code: str) -> str:
    lines = (re.sub(r"\s*#.*$", "", line).rstrip() for line in code.split("\n"))
    return "\n".join(line for line in lines if line)


def test_drift_is_reported_with_page_line_and_number(tmp_path: Path) -> None:
    """A page whose prose, output or formula disagrees with its code fails, naming what."""
    text = learn_page("en", "attention.md").read_text(encoding="utf-8")
    drifted = tmp_path / "attention.md"
    drifted.write_text(
        text.replace('<span data-value="weights[0, 1]">0.1863</span>',
                     '<span data-value="weights[0, 1]">0.1864</span>', 1)
        .replace("[[0.5065 0.1863 0.3072]", "[[0.5065 0.1862 0.3072]", 1)
        .replace("into weights:", "into weights near 0.33:", 1)
        .replace("$d_k = 4$", "$d_k = 4.0$", 1), encoding="utf-8")
    page = parse(drifted)
    run = run_page(page)
    numbers = span_problems(page, run)
    assert len(numbers) == 1
    assert re.search(r"attention\.md:\d+: number 0\.1864 \(weights\[0, 1\]\) drifted: the code "
                     r"gives 0\.1863", numbers[0]), numbers
    outputs = output_problems(page, run)
    assert len(outputs) == 1 and "0.1862" in outputs[0] and "0.1863" in outputs[0], outputs
    unbound = unbound_numbers(page)
    assert any("'4.0' in a formula" in problem for problem in unbound), unbound
    assert any("'0.33' is not tied to code" in problem for problem in unbound), unbound
    # Formulas are read as arithmatex reads them: an inline formula may wrap across lines, and
    # a decimal glued to a symbol ("0.5x") is still a decimal. Both were missed before.
    wrapped = parse_text(tmp_path / "wrapped.md",
                         "The mean is $\\mu = \\sqrt{a}\\,x_0 +\n0.25\\varepsilon$ and "
                         "$y = 0.5x$.\n"
                         "Prose with 0.3x and a version 1.6.1, an id arXiv:1706.03762.\n")
    found = unbound_numbers(wrapped)
    assert sum("in a formula" in problem for problem in found) == 2, found
    assert any("'0.25' in a formula" in problem for problem in found), found
    assert any("'0.5' in a formula" in problem for problem in found), found
    assert any("'0.3' is not tied" in problem for problem in found), found
    assert len(found) == 3, found  # not the version number, not the arXiv id
    stray = tmp_path / "stray.md"
    stray.write_text("```bash\nls\n```\n\n```text\nhello\n```\n", encoding="utf-8")
    stray_problems = output_problems(parse(stray), run_page(parse(stray)))
    assert len(stray_problems) == 2 and "```bash" in stray_problems[0], stray_problems
    broken = tmp_path / "broken.md"
    broken.write_text("```python\nprint(1 / 0)\n```\n", encoding="utf-8")
    error = run_page(parse(broken)).error
    assert error is not None and "broken.md:1" in error and "ZeroDivisionError" in error


@pytest.mark.parametrize("name", PAGES)
def test_both_languages_show_the_same_code_numbers_and_formulas(name: str) -> None:
    en, zh = (parse(learn_page(lang, name)) for lang in LANGS)
    code = [[_code_without_comments(b.code) for b in p.blocks if b.lang == "python"]
            for p in (en, zh)]
    assert code[0] == code[1], f"{name}: the Chinese page's code differs from the English page's"
    numbers = [Counter(spans(p)) for p in (en, zh)]
    assert numbers[0] == numbers[1], (
        f"{name}: numbers only in English: {sorted((numbers[0] - numbers[1]).elements())}; "
        f"only in Chinese: {sorted((numbers[1] - numbers[0]).elements())}")
    formulas = [Counter(display_formulas(p)) for p in (en, zh)]  # "if" / "若" may differ
    assert formulas[0] == formulas[1], (
        f"{name}: display formulas differ: only in English "
        f"{list((formulas[0] - formulas[1]).elements())}, only in Chinese "
        f"{list((formulas[1] - formulas[0]).elements())}")


def topic_example(topic: str) -> str | None:
    """The example program a topic names in catalog/topics.yaml, if any."""
    taxonomy = yaml.safe_load((ROOT / "catalog" / "topics.yaml").read_text(encoding="utf-8"))
    topics = taxonomy["topics"] if isinstance(taxonomy, dict) else taxonomy
    found = [t for t in topics if t["id"] == topic]
    return found[0].get("example") if found else None


@pytest.mark.parametrize("case", [(lang, name) for name in ALGORITHM_PAGES for lang in LANGS],
                         ids=case_id)
def test_algorithm_page_links_its_example_topic_and_entries(case: tuple[str, str]) -> None:
    lang, name = case
    topic = ALGORITHM_PAGES[name]
    text = learn_page(lang, name).read_text(encoding="utf-8")
    targets = [f"../topics/{topic}/index.md"]
    if topic_example(topic):  # the topic page's example sub-page exists only then
        targets.append(f"../topics/{topic}/example.md")
    for target in targets:
        assert f"]({target})" in text, f"docs/{lang}/learn/{name} does not link {target}"
    assert f"<!-- atlas:entries topic={topic} -->" in text, (
        f"docs/{lang}/learn/{name} lacks the catalog entries marker for {topic}")


@pytest.mark.parametrize("case", [(lang, name) for name in CONCEPT_PAGES for lang in LANGS],
                         ids=case_id)
def test_concept_page_links_its_topics(case: tuple[str, str]) -> None:
    lang, name = case
    text = learn_page(lang, name).read_text(encoding="utf-8")
    topics = yaml.safe_load((ROOT / "catalog" / "topics.yaml").read_text(encoding="utf-8"))
    known = {topic["id"] for topic in topics["topics"]}
    linked = set(re.findall(r"\]\(\.\./topics/([\w-]+)/index\.md\)", text))
    assert linked <= known, f"docs/{lang}/learn/{name} links unknown topics {linked - known}"
    missing = set(CONCEPT_PAGES[name]) - linked
    assert not missing, f"docs/{lang}/learn/{name} does not link the topics {sorted(missing)}"


ERRATUM_TEST = re.compile(r"`tests/test_learn\.py::(test_\w+)`")


@pytest.mark.parametrize("lang", LANGS)
def test_every_erratum_names_a_test_that_exists(lang: str) -> None:
    text = learn_page(lang, "index.md").read_text(encoding="utf-8")
    section = text.split("\n## ")[-1]
    assert section.startswith(("Errata", "勘误")), "the Errata section must be the last one"
    items = [item for item in re.split(r"\n(?=\d+\. )", section) if re.match(r"\d+\. ", item)]
    assert len(items) >= 8, f"docs/{lang}/learn/index.md: only {len(items)} errata found"
    for item in items:
        cited = ERRATUM_TEST.findall(item)
        assert cited, f"docs/{lang}/learn/index.md: erratum without a test: {item[:80]!r}"
        for test_name in cited:
            assert callable(globals().get(test_name)), (
                f"docs/{lang}/learn/index.md cites {test_name}, which is not in this module")


@pytest.mark.parametrize(("config", "lang"), [("mkdocs.yml", "en"), ("mkdocs.zh.yml", "zh")])
def test_navigation_lists_every_learn_page(config: str, lang: str) -> None:
    text = (ROOT / config).read_text(encoding="utf-8")
    for name in PAGES:
        assert f"learn/{name}" in text, f"{config} has no navigation entry for learn/{name}"


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGS)
def test_built_site_renders_learn_pages(built_site: Path, lang: str) -> None:
    root = built_site if lang == "en" else built_site / "zh"
    for name in PAGES:
        html_path = root / "learn" / ("" if name == "index.md" else name[:-3]) / "index.html"
        html = html_path.read_text(encoding="utf-8")
        assert "atlas:entries" not in html, f"{html_path}: the entries marker was not replaced"
        assert 'class="arithmatex"' in html or name not in ALGORITHM_PAGES, (
            f"{html_path}: no formula reached the page")
        assert "$" not in re.sub(r"<(code|pre)\b.*?</\1>", "", html, flags=re.S), (
            f"{html_path}: a $ was left outside any formula")
        for target, fragment in re.findall(r'href="([^"#]*)#([^"]+)"', html):
            if not target or target.startswith(("http", "mailto")):
                continue
            linked = (html_path.parent / target / "index.html").resolve()
            if linked.is_file() and "/learn/" in linked.as_posix():
                assert f'id="{fragment}"' in linked.read_text(encoding="utf-8"), (
                    f"{html_path}: link to {target}#{fragment}, which has no such anchor")


# ---------------------------------------------------------------------------------------
# Errata: each mistake listed on the overview page, shown numerically


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _masked_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray,
                      hidden: np.ndarray) -> np.ndarray:
    scores = q @ k.T / np.sqrt(k.shape[1])
    return _softmax(np.where(hidden, -np.inf, scores)) @ v


def test_erratum_causal_mask_direction() -> None:
    """Mask -inf where j > i: the past is visible, the future is not (the article: i > j)."""
    rng = np.random.default_rng(1)
    n, d = 5, 4
    q, k, v = (rng.standard_normal((n, d)) for _ in range(3))
    i, j = np.indices((n, n))  # i: query (row), j: key (column)
    ours, articles = j > i, i > j
    v_future_changed = v.copy()
    v_future_changed[-1] += 10.0  # only the last token changes
    for hidden, expect_unchanged in ((ours, True), (articles, False)):
        before = _masked_attention(q, k, v, hidden)[:-1]
        after = _masked_attention(q, k, v_future_changed, hidden)[:-1]
        assert np.allclose(before, after) is expect_unchanged
    # Same rule as PyTorch's mask, whose -inf entries are above the diagonal.
    torch_mask = torch.nn.Transformer.generate_square_subsequent_mask(n).numpy()
    assert np.array_equal(np.isinf(torch_mask), ours)
    with torch.no_grad():
        fused = torch.nn.functional.scaled_dot_product_attention(
            *(torch.tensor(a) for a in (q, k, v)), is_causal=True).numpy()
    assert np.allclose(fused, _masked_attention(q, k, v, ours))


ARTICLE_SCORES = np.array([0.0, 1.0, 0.0, 0.0])  # a one-hot query against four one-hot keys
ARTICLE_WEIGHTS = np.array([0.25, 0.5, 0.25, 0.25])


def test_erratum_example_softmax_weights() -> None:
    assert ARTICLE_WEIGHTS.sum() == pytest.approx(1.25)
    weights = _softmax(ARTICLE_SCORES)
    assert weights.sum() == pytest.approx(1.0)
    assert weights[1] == pytest.approx(math.e / (math.e + 3))
    assert not np.allclose(weights, ARTICLE_WEIGHTS, atol=1e-2)


def test_erratum_example_scaled_by_sqrt_d_k() -> None:
    keys = np.eye(4)
    query = keys[1]
    d_k = keys.shape[1]
    scaled = _softmax(query @ keys.T / np.sqrt(d_k))
    assert d_k == 4
    assert scaled[1] == pytest.approx(math.exp(0.5) / (math.exp(0.5) + 3))
    assert not np.allclose(scaled, _softmax(query @ keys.T / np.sqrt(1)))
    # Why the scale: for unit-variance components the dot product has variance d_k.
    rng = np.random.default_rng(0)
    for width in (4, 64, 256):
        dots = (rng.standard_normal((20_000, width)) * rng.standard_normal((20_000, width))).sum(1)
        assert dots.var() == pytest.approx(width, rel=0.05)
        assert (dots / np.sqrt(width)).var() == pytest.approx(1.0, rel=0.05)


def test_erratum_example_output_is_weighted_values() -> None:
    values = np.eye(4)
    printed_output = np.array([0.0, 0.5, 0.0, 0.0])
    assert np.allclose(ARTICLE_WEIGHTS @ values, ARTICLE_WEIGHTS)  # one-hot values: output=weights
    assert not np.allclose(printed_output, ARTICLE_WEIGHTS @ values)
    assert not np.allclose(printed_output, _softmax(ARTICLE_SCORES) @ values)


def test_erratum_example_code_shapes() -> None:
    query = np.array([0, 1, 0, 0])  # a 1-D query, as in the article
    scores = query @ np.eye(4).T
    assert scores.shape == (4,)  # not the nested (1, 4) its printout shows
    with pytest.raises(np.exceptions.AxisError):
        np.sum(np.exp(scores), axis=1, keepdims=True)
    assert _softmax(scores, axis=-1).shape == (4,)
    assert _softmax(query[None, :] @ np.eye(4).T, axis=1).shape == (1, 4)


def test_erratum_original_gan_loss_is_cross_entropy() -> None:
    """V(D, G) is minus the discriminator's binary cross-entropy, not a squared error."""
    torch.manual_seed(0)
    d_real, d_fake = torch.rand(64) * 0.98 + 0.01, torch.rand(64) * 0.98 + 0.01
    value = torch.log(d_real).mean() + torch.log(1 - d_fake).mean()
    bce = torch.nn.functional.binary_cross_entropy
    cross_entropy = bce(d_real, torch.ones(64)) + bce(d_fake, torch.zeros(64))
    assert torch.allclose(value, -cross_entropy)
    least_squares = ((d_real - 1) ** 2).mean() + (d_fake**2).mean()  # LSGAN's discriminator loss
    assert not torch.allclose(-value, least_squares, atol=1e-2)


def test_erratum_generator_loss_saturates() -> None:
    """Near D(G(z)) = 0 the minimax generator loss has a vanishing gradient; -log D has not."""
    for logit_value in (-4.0, -8.0, -12.0):
        logit = torch.tensor(logit_value, requires_grad=True)
        d_fake = torch.sigmoid(logit)
        minimax, = torch.autograd.grad(torch.log(1 - d_fake), logit, retain_graph=True)
        non_saturating, = torch.autograd.grad(-torch.log(d_fake), logit)
        assert minimax.item() == pytest.approx(-d_fake.item(), rel=1e-4)
        assert non_saturating.item() == pytest.approx(-(1 - d_fake.item()), rel=1e-4)
        assert abs(minimax.item()) < 0.02 < 0.98 < abs(non_saturating.item())
        # Both losses decrease when the logit rises: the same direction, different strength.
        assert minimax.item() < 0 and non_saturating.item() < 0


def test_erratum_gradient_play_need_not_converge() -> None:
    """On min_x max_y xy, simultaneous steps spiral out and alternating steps orbit."""
    lr = 0.1
    x, y = 1.0, 1.0
    radii = []
    for _ in range(200):
        x, y = x - lr * y, y + lr * x
        radii.append(math.hypot(x, y))
    assert radii[-1] == pytest.approx(math.sqrt(2) * (1 + lr**2) ** 100)
    assert all(b > a for a, b in zip(radii[:-1], radii[1:], strict=True))
    x, y = 1.0, 1.0
    radii = []
    for _ in range(2000):
        x = x - lr * y
        y = y + lr * x
        radii.append(math.hypot(x, y))
    assert min(radii[1000:]) > 1.0  # never gets near the equilibrium (0, 0)


def test_erratum_optimal_discriminator_is_a_function() -> None:
    """For fixed G, max over discriminators gives D*(x) = p_data / (p_data + p_g)."""
    rng = np.random.default_rng(0)
    p_data = rng.dirichlet(np.ones(6))
    p_g = rng.dirichlet(np.ones(6))

    def value(d: np.ndarray) -> float:
        return float((p_data * np.log(d)).sum() + (p_g * np.log(1 - d)).sum())

    d_star = p_data / (p_data + p_g)
    for _ in range(2000):
        assert value(rng.uniform(0.001, 0.999, 6)) <= value(d_star) + 1e-12
    mix = (p_data + p_g) / 2
    jsd = 0.5 * (p_data * np.log(p_data / mix)).sum() + 0.5 * (p_g * np.log(p_g / mix)).sum()
    assert value(d_star) == pytest.approx(-math.log(4) + 2 * jsd)
    assert value(np.full(6, 0.5)) == pytest.approx(-math.log(4))  # p_g = p_data: D* = 1/2


def test_erratum_vae_decoder_is_a_distribution() -> None:
    """log p(x|z) of a Gaussian decoder: scaled squared error plus a constant; it integrates
    to 1 over x, which a raw network output f(z) does not even define."""
    torch.manual_seed(0)
    decoder = torch.nn.Linear(2, 3)
    z, x = torch.randn(2), torch.randn(3)
    sigma = 0.3
    mean = decoder(z)
    log_p = torch.distributions.Normal(mean, sigma).log_prob(x).sum()
    by_formula = (-((x - mean) ** 2).sum() / (2 * sigma**2)
                  - 3 / 2 * math.log(2 * math.pi * sigma**2))
    assert torch.allclose(log_p, by_formula)
    grid = torch.linspace(-5, 5, 20_001)
    density = torch.distributions.Normal(mean[0].detach(), sigma).log_prob(grid).exp()
    assert torch.trapezoid(density, grid).item() == pytest.approx(1.0, abs=1e-4)
    probs = torch.sigmoid(mean)  # a Bernoulli decoder: log-likelihood = -BCE
    bits = (x > 0).float()
    assert torch.allclose(torch.distributions.Bernoulli(probs=probs).log_prob(bits).sum(),
                          -torch.nn.functional.binary_cross_entropy(probs, bits,
                                                                    reduction="sum"))


def test_erratum_vae_covariance_is_diagonal_variances() -> None:
    """z = mu + exp(log_var / 2) * eps has covariance diag(exp(log_var)); using the variance
    as the scale gives the wrong distribution."""
    rng = np.random.default_rng(0)
    mu = np.array([0.5, -1.0])
    log_var = np.array([-1.0, 1.2])
    eps = rng.standard_normal((400_000, 2))
    z = mu + np.exp(0.5 * log_var) * eps
    assert np.allclose(np.cov(z.T), np.diag(np.exp(log_var)), atol=0.02)
    wrong = mu + np.exp(log_var) * eps
    assert not np.allclose(np.cov(wrong.T), np.diag(np.exp(log_var)), atol=0.1)


def test_erratum_transposed_convolution_is_not_an_inverse() -> None:
    functional = torch.nn.functional
    torch.manual_seed(0)
    kernel = torch.randn(2, 3, 3, 3)  # 3 -> 2 channels
    x = torch.randn(1, 3, 8, 8)
    y = torch.randn(1, 2, 4, 4)
    down = functional.conv2d(x, kernel, stride=2, padding=1)
    up = functional.conv_transpose2d(y, kernel, stride=2, padding=1, output_padding=1)
    assert up.shape == x.shape
    assert torch.allclose((down * y).sum(), (x * up).sum(), atol=1e-4)  # adjoint
    back = functional.conv_transpose2d(down, kernel, stride=2, padding=1, output_padding=1)
    assert not torch.allclose(back, x, atol=0.1)  # not the inverse


# ---------------------------------------------------------------------------------------
# The pages' own formulas, checked beyond the printed examples


def test_elbo_is_below_log_likelihood_with_gap_kl_to_posterior() -> None:
    """Linear-Gaussian model z ~ N(0,1), x|z ~ N(wz, s^2): log p(x) - ELBO(q) = KL(q || p(z|x))."""
    w, s = 2.0, 0.5
    rng = np.random.default_rng(0)

    def log_normal(value: float, mean: float, var: float) -> float:
        return -0.5 * math.log(2 * math.pi * var) - (value - mean) ** 2 / (2 * var)

    def kl(m1: float, v1: float, m2: float, v2: float) -> float:
        return 0.5 * (math.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / v2 - 1)

    for x in (-2.0, 0.0, 1.3, 4.0):
        log_px = log_normal(x, 0.0, w**2 + s**2)
        post_mean, post_var = w * x / (w**2 + s**2), s**2 / (w**2 + s**2)
        for _ in range(200):
            m, v = rng.normal(0, 2), rng.uniform(0.01, 3)
            z = m + math.sqrt(v) * rng.standard_normal(20_000)  # Monte Carlo reconstruction
            reconstruction_mc = np.mean(-0.5 * np.log(2 * np.pi * s**2)
                                        - (x - w * z) ** 2 / (2 * s**2))
            reconstruction = log_normal(x, w * m, s**2) - w**2 * v / (2 * s**2)
            assert reconstruction_mc == pytest.approx(reconstruction, rel=0.05, abs=0.05)
            elbo = reconstruction - kl(m, v, 0.0, 1.0)
            assert elbo <= log_px + 1e-12
            assert log_px - elbo == pytest.approx(kl(m, v, post_mean, post_var), abs=1e-9)
        best = log_normal(x, w * post_mean, s**2) - w**2 * post_var / (2 * s**2) \
            - kl(post_mean, post_var, 0.0, 1.0)
        assert best == pytest.approx(log_px)


def test_gaussian_kl_closed_form_matches_monte_carlo_and_torch() -> None:
    rng = np.random.default_rng(3)
    mu, log_var = rng.normal(size=4), rng.normal(size=4)
    closed = 0.5 * np.sum(np.exp(log_var) + mu**2 - 1 - log_var)
    q = torch.distributions.Normal(torch.tensor(mu), torch.tensor(np.exp(0.5 * log_var)))
    p = torch.distributions.Normal(torch.zeros(4, dtype=torch.float64),
                                   torch.ones(4, dtype=torch.float64))
    assert closed == pytest.approx(torch.distributions.kl_divergence(q, p).sum().item())
    z = q.sample((400_000,))
    monte_carlo = (q.log_prob(z) - p.log_prob(z)).sum(-1).mean().item()
    assert monte_carlo == pytest.approx(closed, rel=0.02)
    assert closed >= 0


def _ddpm_schedule(steps: int = 1000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    betas = np.linspace(1e-4, 0.02, steps)
    return betas, 1 - betas, np.cumprod(1 - betas)


def test_ddpm_closed_form_matches_iterating_the_chain() -> None:
    betas, _, alpha_bars = _ddpm_schedule()
    # Exact moments of the iterated chain, started at x0: mean and variance recursions.
    x0, mean, var = 1.5, 1.5, 0.0
    for t, beta in enumerate(betas, start=1):
        mean, var = math.sqrt(1 - beta) * mean, (1 - beta) * var + beta
        if t in (1, 10, 300, 1000):
            assert mean == pytest.approx(math.sqrt(alpha_bars[t - 1]) * x0)
            assert var == pytest.approx(1 - alpha_bars[t - 1])
    rng = np.random.default_rng(0)  # and by sampling
    x = np.full(100_000, x0)
    for beta in betas[:300]:
        x = np.sqrt(1 - beta) * x + np.sqrt(beta) * rng.standard_normal(x.shape)
    assert x.mean() == pytest.approx(math.sqrt(alpha_bars[299]) * x0, abs=0.01)
    assert x.var() == pytest.approx(1 - alpha_bars[299], abs=0.01)


def test_ddpm_posterior_and_sampling_mean_are_consistent() -> None:
    """q(x_{t-1} | x_t, x_0) by Gaussian conditioning equals the page's mu-tilde and
    beta-tilde, and the epsilon-form mean equals mu-tilde with x_0 recovered from epsilon."""
    betas, alphas, alpha_bars = _ddpm_schedule()
    for t in (2, 50, 500, 1000):
        beta, alpha, a_bar, a_bar_prev = betas[t - 1], alphas[t - 1], alpha_bars[t - 1], \
            alpha_bars[t - 2]
        # Given x0: x_{t-1} ~ N(sqrt(a_bar_prev) x0, 1 - a_bar_prev), x_t = sqrt(alpha) x_{t-1}
        # + sqrt(beta) noise. Condition the joint Gaussian on x_t.
        var_prev = 1 - a_bar_prev
        var_t = alpha * var_prev + beta
        cov = math.sqrt(alpha) * var_prev
        x0, x_t = 0.7, -0.4
        cond_mean = math.sqrt(a_bar_prev) * x0 + cov / var_t * (x_t - math.sqrt(a_bar) * x0)
        cond_var = var_prev - cov**2 / var_t
        mu_tilde = (math.sqrt(a_bar_prev) * beta / (1 - a_bar) * x0
                    + math.sqrt(alpha) * (1 - a_bar_prev) / (1 - a_bar) * x_t)
        assert cond_mean == pytest.approx(mu_tilde)
        assert cond_var == pytest.approx((1 - a_bar_prev) / (1 - a_bar) * beta)
        eps = (x_t - math.sqrt(a_bar) * x0) / math.sqrt(1 - a_bar)
        mu_eps = (x_t - beta / math.sqrt(1 - a_bar) * eps) / math.sqrt(alpha)
        assert mu_eps == pytest.approx(mu_tilde)


def test_optimal_noise_predictor_is_minus_scaled_score() -> None:
    """For N(m, v) data, E[eps | x_t] = -sqrt(1 - a_bar) * d/dx log q(x_t)."""
    _, _, alpha_bars = _ddpm_schedule()
    m, v = 2.0, 0.25
    rng = np.random.default_rng(0)
    for t in (100, 400, 900):
        a_bar = alpha_bars[t - 1]
        x0 = m + math.sqrt(v) * rng.standard_normal(400_000)
        eps = rng.standard_normal(400_000)
        x_t = math.sqrt(a_bar) * x0 + math.sqrt(1 - a_bar) * eps
        slope = np.polyfit(x_t, eps, 1)[0]  # E[eps | x_t] is linear in x_t here
        score_slope = -1 / (a_bar * v + 1 - a_bar)  # d/dx log N(x; sqrt(a_bar) m, ...)
        assert slope == pytest.approx(-math.sqrt(1 - a_bar) * score_slope, rel=0.02)


def test_multi_head_attention_matches_pytorch_with_causal_mask() -> None:
    torch.manual_seed(0)
    d_model, heads, n = 12, 3, 6
    mha = torch.nn.MultiheadAttention(d_model, heads, bias=False, batch_first=True)
    x = torch.randn(2, n, d_model)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(n)
    w_q, w_k, w_v = mha.in_proj_weight.chunk(3)
    width = d_model // heads

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.view(2, n, heads, width).transpose(1, 2)

    q, k, v = split(x @ w_q.T), split(x @ w_k.T), split(x @ w_v.T)
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(width) + mask, dim=-1)
    assert torch.allclose(weights.sum(-1), torch.ones(2, heads, n))
    assert torch.all(weights.triu(diagonal=1) == 0)
    by_hand = (weights @ v).transpose(1, 2).reshape(2, n, d_model) @ mha.out_proj.weight.T
    expected, _ = mha(x, x, x, attn_mask=mask, need_weights=False)
    assert torch.allclose(by_hand, expected, atol=1e-5)


def test_language_model_loss_and_temperature() -> None:
    torch.manual_seed(0)
    vocab = 17
    logits = torch.randn(3, 9, vocab)
    targets = torch.randint(vocab, (3, 9))
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1))
    log_probs = torch.log_softmax(logits, -1).gather(-1, targets[..., None])
    assert torch.allclose(loss, -log_probs.mean())
    uniform = torch.nn.functional.cross_entropy(torch.zeros(5, vocab), targets[0, :5])
    assert uniform.item() == pytest.approx(math.log(vocab))
    assert uniform.exp().item() == pytest.approx(vocab)
    scores = torch.tensor([2.0, 1.0, 0.5, -1.0])
    sharp, flat = torch.softmax(scores / 0.5, 0), torch.softmax(scores / 2.0, 0)
    assert sharp[0] > torch.softmax(scores, 0)[0] > flat[0]
    assert torch.softmax(scores / 1e-3, 0)[0].item() == pytest.approx(1.0)  # tau -> 0: greedy


def test_feed_forward_and_gradient_descent_formulas() -> None:
    """FFN(x) = max(0, xW1 + b1)W2 + b2 is Linear-ReLU-Linear; the line fit's gradient is
    d/dw mean((wx + b - y)^2) = 2 mean(error * x), d/db = 2 mean(error)."""
    torch.manual_seed(0)
    ffn = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 8))
    x = torch.randn(5, 8)
    first, second = ffn[0], ffn[2]
    by_formula = torch.clamp(x @ first.weight.T + first.bias, min=0) @ second.weight.T \
        + second.bias
    assert torch.allclose(ffn(x), by_formula, atol=1e-6)
    xs, ys = torch.randn(50), torch.randn(50)
    w, b = torch.tensor(0.3, requires_grad=True), torch.tensor(-0.2, requires_grad=True)
    ((w * xs + b - ys) ** 2).mean().backward()
    error = (w * xs + b - ys).detach()
    assert torch.isclose(w.grad, 2 * (error * xs).mean())
    assert torch.isclose(b.grad, 2 * error.mean())


# Formulas as the pages state them, each with the test above that checks it numerically.
STATED_FORMULAS = [
    ("attention.md", r"0 & \text{if } j \le i", "test_erratum_causal_mask_direction"),
    ("attention.md", r"-\infty & \text{if } j > i", "test_erratum_causal_mask_direction"),
    ("attention.md", r"\operatorname{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right) V",
     "test_multi_head_attention_matches_pytorch_with_causal_mask"),
    ("transformer.md", r"\operatorname{FFN}(x) = \max(0,\, xW_1 + b_1)\,W_2 + b_2",
     "test_feed_forward_and_gradient_descent_formulas"),
    ("gan.md", r"D^*(x) = \frac{p_{\text{data}}(x)}{p_{\text{data}}(x) + p_g(x)}",
     "test_erratum_optimal_discriminator_is_a_function"),
    ("gan.md", r"V(D^*, G) = -\log 4 + 2\,\mathrm{JSD}(p_{\text{data}} \,\|\, p_g)",
     "test_erratum_optimal_discriminator_is_a_function"),
    ("gan.md", r"\mathcal{L}_G = -\,\mathbb{E}_{z \sim p_z}\big[\log D(G(z))\big]",
     "test_erratum_generator_loss_saturates"),
    ("vae.md", r"\log p_\theta(x) \ge \text{ELBO}",
     "test_elbo_is_below_log_likelihood_with_gap_kl_to_posterior"),
    ("vae.md", r"\frac{1}{2} \sum_{j} \left(\sigma_j^2 + \mu_j^2 - 1 - \log \sigma_j^2\right)",
     "test_gaussian_kl_closed_form_matches_monte_carlo_and_torch"),
    ("vae.md", r"\sigma_j = \exp(\frac{1}{2} \log \sigma_j^2)",
     "test_erratum_vae_covariance_is_diagonal_variances"),
    ("diffusion.md", r"\mathcal{N}\big(x_t;\ \sqrt{\bar\alpha_t}\, x_0,\ (1 - \bar\alpha_t) I\big)",
     "test_ddpm_closed_form_matches_iterating_the_chain"),
    ("diffusion.md", r"\tilde\beta_t = \frac{1 - \bar\alpha_{t-1}}{1 - \bar\alpha_t}\, \beta_t",
     "test_ddpm_posterior_and_sampling_mean_are_consistent"),
    ("diffusion.md", r"x_t - \frac{\beta_t}{\sqrt{1 - \bar\alpha_t}}\, \varepsilon_\theta(x_t, t)",
     "test_ddpm_posterior_and_sampling_mean_are_consistent"),
    ("diffusion.md", r"\varepsilon^*(x_t, t) = -\sqrt{1 - \bar\alpha_t}\, \nabla_{x_t}",
     "test_optimal_noise_predictor_is_minus_scaled_score"),
    ("llm.md", r"\mathcal{L}(\theta) = -\frac{1}{T} \sum_{t=1}^{T} \log p_\theta(x_t \mid x_{<t})",
     "test_language_model_loss_and_temperature"),
    ("llm.md", r"p_i \propto \exp(\ell_i / \tau)", "test_language_model_loss_and_temperature"),
]


@pytest.mark.parametrize(("name", "formula", "test_name"), STATED_FORMULAS,
                         ids=[f"{n}:{t}" for n, _, t in STATED_FORMULAS])
def test_stated_formula_is_the_tested_one(name: str, formula: str, test_name: str) -> None:
    """Editing one of these formulas on a page (a flipped sign or mask) fails here; the named
    test is where its numerical check lives."""
    assert callable(globals().get(test_name)), f"no test named {test_name}"
    for lang in LANGS:
        text = normalize_formula(learn_page(lang, name).read_text(encoding="utf-8"))
        assert normalize_formula(formula) in text, (
            f"docs/{lang}/learn/{name} no longer states {formula!r}, which {test_name} checks")


# ---------------------------------------------------------------------------------------
# The formulas added with the derivations, checked beyond the pages' own examples


def _kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return (p * (p / q).log()).sum()


def _jsd(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    mid = (p + q) / 2
    return (_kl(p, mid) + _kl(q, mid)) / 2


def test_non_saturating_generator_follows_kl_minus_two_jsd() -> None:
    """With D held at its optimum for the current generator, the gradient of E_pg[-log D*] is
    the gradient of KL(p_g || p_data) - 2 JSD, and that of E_pg[log(1 - D*)] is 2 JSD's."""
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        p_data = torch.softmax(torch.randn(7, generator=generator, dtype=torch.float64), 0)
        theta = torch.randn(7, generator=generator, dtype=torch.float64).requires_grad_()
        d_star = (p_data / (p_data + torch.softmax(theta, 0))).detach()

        def grad(f, theta=theta):
            return torch.autograd.grad(f(torch.softmax(theta, 0)), theta)[0]

        non_saturating = grad(lambda p, d=d_star: (p * -d.log()).sum())
        minimax = grad(lambda p, d=d_star: (p * (1 - d).log()).sum())
        reverse_kl_minus_jsd = grad(lambda p, q=p_data: _kl(p, q) - 2 * _jsd(q, p))
        two_jsd = grad(lambda p, q=p_data: 2 * _jsd(q, p))
        assert torch.allclose(non_saturating, reverse_kl_minus_jsd)
        assert torch.allclose(minimax, two_jsd)
    same = torch.full((5,), 0.2, dtype=torch.float64)
    assert _kl(same, same).item() == 0 and _jsd(same, same).item() == 0  # p_g = p_data: stationary


def test_gaussian_kl_general_formula_matches_torch() -> None:
    rng = np.random.default_rng(5)
    for _ in range(50):
        m1, m2 = rng.normal(size=2)
        s1, s2 = rng.uniform(0.1, 3, size=2)
        formula = math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
        expected = torch.distributions.kl_divergence(
            torch.distributions.Normal(float(m1), float(s1)),
            torch.distributions.Normal(float(m2), float(s2))).item()
        assert formula == pytest.approx(expected, rel=1e-5, abs=1e-7)


def test_ddpm_dropped_weight_is_the_kl_of_the_bound() -> None:
    """KL(q(x_{t-1}|x_t,x_0) || p_theta) with equal variances sigma_t^2 equals
    lambda_t |eps - eps_theta|^2, lambda_t = beta_t^2 / (2 sigma_t^2 alpha_t (1 - a_bar_t))."""
    betas, alphas, alpha_bars = _ddpm_schedule()
    rng = np.random.default_rng(2)
    for t in (2, 10, 500, 1000):
        beta, alpha, a_bar, a_prev = betas[t - 1], alphas[t - 1], alpha_bars[t - 1], \
            alpha_bars[t - 2]
        sigma2 = beta
        x0, eps, eps_theta = rng.normal(size=3)
        x_t = math.sqrt(a_bar) * x0 + math.sqrt(1 - a_bar) * eps
        mu_tilde = (math.sqrt(a_prev) * beta / (1 - a_bar) * x0
                    + math.sqrt(alpha) * (1 - a_prev) / (1 - a_bar) * x_t)
        mu_theta = (x_t - beta / math.sqrt(1 - a_bar) * eps_theta) / math.sqrt(alpha)
        kl = (mu_tilde - mu_theta) ** 2 / (2 * sigma2)
        weight = beta**2 / (2 * sigma2 * alpha * (1 - a_bar))
        assert kl == pytest.approx(weight * (eps - eps_theta) ** 2)


def test_ddim_update_eta_one_is_ddpm_and_eta_zero_is_deterministic() -> None:
    _, _, alpha_bars = _ddpm_schedule()
    for t in (2, 100, 999):
        a_bar, a_prev = alpha_bars[t - 1], alpha_bars[t - 2]
        sigma2 = (1 - a_prev) / (1 - a_bar) * (1 - a_bar / a_prev)  # eta = 1
        beta_t = 1 - a_bar / a_prev
        assert sigma2 == pytest.approx((1 - a_prev) / (1 - a_bar) * beta_t)
        # eta = 1: the DDIM mean equals DDPM's epsilon-form mean.
        x_t, eps = 0.3, -1.1
        x0_hat = (x_t - math.sqrt(1 - a_bar) * eps) / math.sqrt(a_bar)
        ddim_mean = math.sqrt(a_prev) * x0_hat + math.sqrt(1 - a_prev - sigma2) * eps
        ddpm_mean = (x_t - beta_t / math.sqrt(1 - a_bar) * eps) / math.sqrt(1 - beta_t)
        assert ddim_mean == pytest.approx(ddpm_mean)


def test_tweedie_noise_predictor_is_the_scaled_score_of_a_mixture() -> None:
    """eps*(x) = -sqrt(1 - a_bar) d/dx log q(x_t) for Gaussian-mixture data, the score taken by
    finite differences of the mixture density."""
    means, weights, std = np.array([-1.5, 0.5, 1.5]), np.array([0.3, 0.5, 0.2]), 0.1
    _, _, alpha_bars = _ddpm_schedule()
    for t in (50, 300, 900):
        a_bar = alpha_bars[t - 1]
        var = a_bar * std**2 + 1 - a_bar

        def log_q(x, a_bar=a_bar, var=var):
            return np.log((weights * np.exp(-(x - np.sqrt(a_bar) * means) ** 2 / (2 * var)))
                          .sum())

        for x in (-1.2, 0.1, 0.9):
            h = 1e-5
            score = (log_q(x + h) - log_q(x - h)) / (2 * h)
            resp = weights * np.exp(-(x - np.sqrt(a_bar) * means) ** 2 / (2 * var))
            resp /= resp.sum()
            posterior_x0 = (resp * (np.sqrt(a_bar) * std**2 * x + (1 - a_bar) * means)
                            / var).sum()  # E[x0 | x_t] per component, mixed
            eps_from_x0 = (x - np.sqrt(a_bar) * posterior_x0) / np.sqrt(1 - a_bar)
            assert eps_from_x0 == pytest.approx(-np.sqrt(1 - a_bar) * score, rel=1e-4)


def test_conditional_flow_matching_has_the_marginal_gradient() -> None:
    """On the same samples, the CFM and FM losses of a small network differ in gradient only by
    Monte Carlo noise: E[J^T (v - u)] = 0 because v = E[u | x_t]. Data: two 1-D Gaussians,
    whose marginal velocity is known in closed form."""
    means, std = torch.tensor([-1.5, 1.0], dtype=torch.float64), 0.3

    def v_marginal(x, t):
        var = (1 - t) ** 2 + t**2 * std**2
        d = x[:, None] - t[:, None] * means
        w = torch.softmax(-d**2 / (2 * var[:, None]), 1)
        vk = means + ((t * std**2 - (1 - t)) / var)[:, None] * d
        return (w * vk).sum(1)

    generator = torch.Generator().manual_seed(0)
    n = 200_000
    x1 = means[torch.randint(2, (n,), generator=generator)] \
        + std * torch.randn(n, generator=generator, dtype=torch.float64)
    x0 = torch.randn(n, generator=generator, dtype=torch.float64)
    t = torch.rand(n, generator=generator, dtype=torch.float64)
    xt, u = (1 - t) * x0 + t * x1, x1 - x0
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(),
                              torch.nn.Linear(16, 1)).double()
    pred = net(torch.stack([xt, t], 1))[:, 0]
    g_cfm = torch.autograd.grad(((pred - u) ** 2).mean(), net.parameters(), retain_graph=True)
    g_fm = torch.autograd.grad(((pred - v_marginal(xt, t)) ** 2).mean(), net.parameters())
    flat = [torch.cat([g.flatten() for g in grads]) for grads in (g_cfm, g_fm)]
    assert (flat[0] - flat[1]).norm() < 0.03 * flat[1].norm()
    # The constant between the losses is the mean conditional variance, never negative.
    assert ((u - v_marginal(xt, t)) ** 2).mean() > 0


def test_heun_is_second_order_and_euler_first_order() -> None:
    m, s = 2.0, 0.5

    def v(x, t):
        return m + (t * s**2 - (1 - t)) / ((1 - t) ** 2 + t**2 * s**2) * (x - t * m)

    x0 = np.linspace(-2, 2, 41)
    exact = m + s * x0

    def solve(steps, heun):
        x, h = x0.copy(), 1 / steps
        for i in range(steps):
            k1 = v(x, i * h)
            x = x + h / 2 * (k1 + v(x + h * k1, (i + 1) * h)) if heun else x + h * k1
        return np.abs(x - exact).max()

    euler_order = math.log2(solve(128, False) / solve(256, False))
    heun_order = math.log2(solve(128, True) / solve(256, True))
    assert euler_order == pytest.approx(1, abs=0.1) and heun_order == pytest.approx(2, abs=0.1)


def test_rlhf_optimum_and_dpo_implicit_reward() -> None:
    """argmax_pi E_pi[r] - beta KL(pi || ref) is ref * exp(r / beta) / Z; the DPO implicit reward
    beta log(pi*/ref) is r - beta log Z, so every Bradley-Terry comparison is unchanged."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        reward, ref = rng.normal(size=6), rng.dirichlet(np.ones(6))
        beta = rng.uniform(0.1, 2)

        def objective(pi, reward=reward, ref=ref, beta=beta):
            return (pi * reward).sum() - beta * (pi * np.log(pi / ref)).sum()

        best = ref * np.exp(reward / beta)
        z = best.sum()
        best /= z
        assert objective(best) == pytest.approx(beta * math.log(z))
        assert all(objective(rng.dirichlet(np.ones(6))) <= objective(best) + 1e-12
                   for _ in range(200))
        implicit = beta * np.log(best / ref)
        assert np.allclose(implicit - reward, -beta * math.log(z))


def test_rms_norm_and_final_layer_norm() -> None:
    torch.manual_seed(0)
    x = torch.randn(6, 32)
    rms = torch.nn.RMSNorm(32)
    assert torch.allclose(rms(x), x / torch.sqrt((x**2).mean(-1, keepdim=True)
                                                 + torch.finfo(x.dtype).eps), atol=1e-6)
    assert torch.allclose(rms(5 * x), rms(x), atol=1e-5)  # scale-invariant ...
    assert not torch.allclose(rms(x + 3), rms(x), atol=1e-2)  # ... but not shift-invariant


def test_chinchilla_fit_prefers_the_smaller_model_on_gophers_budget() -> None:
    e, a, b, alpha, beta = 1.69, 406.4, 410.7, 0.34, 0.28
    budget = 5.76e23

    def loss(n):
        return e + a / n**alpha + b / (budget / (6 * n)) ** beta

    assert loss(70e9) < loss(280e9)
    grid = np.logspace(9, 12, 3001)
    best = grid[np.argmin(loss(grid))]
    assert 1e10 < best < 1e11  # the compute-optimal size for this budget: tens of billions


MORE_FORMULAS = [
    ("gan.md", (r"D_{\mathrm{KL}}(p_g \,\|\, p_{\text{data}}) - "
      r"2\,\mathrm{JSD}(p_{\text{data}} \,\|\, p_g)"),
     "test_non_saturating_generator_follows_kl_minus_two_jsd"),
    ("vae.md", (r"\log \frac{\sigma_2}{\sigma_1} + \frac{\sigma_1^2 + (\mu_1 - "
      r"\mu_2)^2}{2\sigma_2^2} - \frac{1}{2}"),
     "test_gaussian_kl_general_formula_matches_torch"),
    ("diffusion.md", (r"\lambda_t = \frac{\beta_t^2}{2\sigma_t^2\, \alpha_t\, (1 - "
      r"\bar\alpha_t)}"),
     "test_ddpm_dropped_weight_is_the_kl_of_the_bound"),
    ("diffusion.md", (r"\sigma_{t \to s} = \eta \sqrt{\frac{1 - \bar\alpha_s}{1 - "
      r"\bar\alpha_t}} \sqrt{1 - \frac{\bar\alpha_t}{\bar\alpha_s}}"),
     "test_ddim_update_eta_one_is_ddpm_and_eta_zero_is_deterministic"),
    ("diffusion.md", (r"\varepsilon^*(x_t, t) = -\sqrt{1 - \bar\alpha_t}\, \nabla_{x_t} \log "
      r"q(x_t)"),
     "test_tweedie_noise_predictor_is_the_scaled_score_of_a_mixture"),
    ("flow-matching.md", (r"\mathcal{L}_{\text{CFM}}(\theta) = \mathcal{L}_{\text{FM}}(\theta) + "
      r"\mathbb{E}\big[\lVert u \rVert^2 - \lVert v(x_t, t) \rVert^2\big]"),
     "test_conditional_flow_matching_has_the_marginal_gradient"),
    ("flow-matching.md", (r"x_{k+1} = x_k + \frac{h}{2}\Big(v_\theta(x_k, t_k) + v_\theta(\tilde "
      r"x_{k+1}, t_{k+1})\Big)"),
     "test_heun_is_second_order_and_euler_first_order"),
    ("llm.md", (r"- \beta\, D_{\mathrm{KL}}\big(\pi_\theta(\cdot \mid x) \,\|\, "
      r"\pi_{\text{ref}}(\cdot \mid x)\big)"),
     "test_rlhf_optimum_and_dpo_implicit_reward"),
    ("llm.md", r"L(N, D) = E + \frac{A}{N^{\alpha}} + \frac{B}{D^{\beta}}",
     "test_chinchilla_fit_prefers_the_smaller_model_on_gophers_budget"),
    ("transformer.md", (r"\operatorname{RMSNorm}(x) = \gamma \odot "
      r"\frac{x}{\sqrt{\frac{1}{d}\sum_{l=1}^{d} x_l^2 + \epsilon}}"),
     "test_rms_norm_and_final_layer_norm"),
]


@pytest.mark.parametrize(("name", "formula", "test_name"), MORE_FORMULAS,
                         ids=[f"{n}:{t}" for n, _, t in MORE_FORMULAS])
def test_derived_formula_is_the_tested_one(name: str, formula: str, test_name: str) -> None:
    test_stated_formula_is_the_tested_one(name, formula, test_name)


# ---------------------------------------------------------------------------------------
# Figures: regenerated by the tests and compared with the committed SVGs

sys.path.insert(0, str(ROOT / "docs" / "figures"))
import make_figures  # noqa: E402
import svg as svg_writer  # noqa: E402

FIGURE_NAMES = list(make_figures.FIGURES)
FIGURE_REF = re.compile(r"!\[(?P<alt>[^\]]*)\]\(figures/(?P<name>[\w-]+)\.svg\)")
SVG_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
TAG = re.compile(r"<[^>]*>")
PNG_DATA = re.compile(r'href="data:image/png;base64,([A-Za-z0-9+/=]+)"')
MAX_FIGURE_BYTES = 40_000


@functools.cache
def _figure_data(name: str) -> dict:
    return make_figures.FIGURES[name].data()


@functools.cache
def _regenerated(name: str) -> dict[str, str]:
    """What make_figures.render draws, from data computed once per test session."""
    return {lang: make_figures.FIGURES[name].draw(_figure_data(name), lang)
            for lang in make_figures.LANGS}


def svg_differences(committed: str, fresh: str, tolerance: float = 0.15) -> list[str]:
    """How two SVG texts differ, beyond coordinates within TOLERANCE pixels and embedded
    images within 2/255 per pixel: the same elements, attributes and labels are required."""
    images = [PNG_DATA.findall(text) for text in (committed, fresh)]
    problems = []
    if len(images[0]) != len(images[1]):
        return [f"{len(images[0])} embedded images committed, {len(images[1])} regenerated"]
    for old, new in zip(*images, strict=True):
        a, b = (svg_writer.png_pixels(base64.b64decode(x)) for x in (old, new))
        if a.shape != b.shape or np.abs(a - b).max() > 2 / 255 + 1e-9:
            problems.append("an embedded image differs")
    texts = [PNG_DATA.sub('href=""', text) for text in (committed, fresh)]
    # Numbers in attributes (coordinates) may differ a little; labels must match exactly.
    tags = [TAG.findall(text) for text in texts]
    skeletons = [TAG.sub(lambda m: SVG_NUMBER.sub("#", m.group(0)), text) for text in texts]
    if skeletons[0] != skeletons[1]:
        old_lines, new_lines = (k.split("\n") for k in skeletons)
        first = next((i for i, (x, y) in enumerate(zip(old_lines, new_lines, strict=False))
                      if x != y),
                     min(len(old_lines), len(new_lines)))
        return problems + [f"structure or labels differ from line {first + 1}"]
    numbers = [np.array([float(x) for tag in group for x in SVG_NUMBER.findall(tag)])
               for group in tags]
    worst = np.abs(numbers[0] - numbers[1]).max(initial=0)
    if worst > tolerance:
        problems.append(f"a number differs by {worst:.3g}")
    return problems


@pytest.mark.parametrize("name", FIGURE_NAMES)
def test_figure_is_what_its_code_draws(name: str) -> None:
    """The committed SVGs equal a fresh run of docs/figures/make_figures.py (coordinates to a
    small tolerance, so that another CPU's rounding cannot fail the test), in both languages;
    drawing also checks that every label reaches WCAG AA contrast."""
    for lang, fresh in _regenerated(name).items():
        path = make_figures.out_path(name, lang)
        assert path.is_file(), f"{path} is missing: run python docs/figures/make_figures.py"
        problems = svg_differences(path.read_text(encoding="utf-8"), fresh)
        assert not problems, (f"{path.relative_to(ROOT)}: {'; '.join(problems)}; "
                              f"run python docs/figures/make_figures.py {name}")
        assert len(fresh.encode()) <= MAX_FIGURE_BYTES, f"{path.name}: too large"
        assert "<title" in fresh and "<desc" in fresh and 'role="img"' in fresh
        # Its own opaque white card first: dark text keeps its contrast in the dark palette.
        assert fresh.split("\n")[2].startswith('<rect x="0" y="0" ') and 'fill="#ffffff"' in \
            fresh.split("\n")[2]


def test_figure_comparison_notices_a_changed_figure() -> None:
    name = "attention-weights"
    committed = make_figures.out_path(name, "en").read_text(encoding="utf-8")
    first = re.search(r' x="(\d+(?:\.\d+)?)"', committed)
    assert first and ">0.51<" in committed

    def moved(by: float) -> str:
        value = float(first.group(1)) + by
        return committed[:first.start(1)] + f"{value:g}" + committed[first.end(1):]

    assert not svg_differences(committed, moved(0.1))  # rounding on another machine
    assert svg_differences(committed, moved(1.0))  # a moved element
    assert svg_differences(committed, committed.replace(">0.51<", ">0.52<", 1))  # a label


def test_text_below_wcag_contrast_is_refused() -> None:
    fig = svg_writer.Svg(10, 10, "t", "d")
    with pytest.raises(ValueError, match="WCAG"):
        fig.text(0, 0, "pale", fill="#bbbbbb")
    fig.text(0, 0, "fine", fill=svg_writer.MUTED)
    for colour in svg_writer.SERIES:  # lines and markers: 3:1 for graphical objects
        assert svg_writer.contrast(colour, svg_writer.PAPER) >= 3


@pytest.mark.parametrize("case", [(lang, name) for name in PAGES for lang in LANGS], ids=case_id)
def test_figures_on_a_page_have_alt_text_and_exist(case: tuple[str, str]) -> None:
    lang, name = case
    text = learn_page(lang, name).read_text(encoding="utf-8")
    shown = {m.group("name"): m.group("alt") for m in FIGURE_REF.finditer(text)}
    expected = {n for n, f in make_figures.FIGURES.items() if f.page == name}
    assert set(shown) == expected, (f"docs/{lang}/learn/{name} shows {sorted(shown)}, "
                                    f"make_figures.py draws {sorted(expected)} for it")
    for figure, alt in shown.items():
        assert len(alt) >= 40, f"docs/{lang}/learn/{name}: {figure} needs a describing alt text"
        assert make_figures.out_path(figure, lang).is_file()
    assert text.count('<figcaption markdown="span">') >= len(shown)  # so $...$ in it renders


def test_every_committed_figure_is_drawn_by_the_script() -> None:
    for lang in LANGS:
        committed = {p.stem for p in (ROOT / "docs" / lang / "learn" / "figures").glob("*")}
        assert committed == set(FIGURE_NAMES), (
            f"docs/{lang}/learn/figures: {sorted(committed ^ set(FIGURE_NAMES))}")


def test_algorithm_page_has_its_figures() -> None:
    pages = {f.page for f in make_figures.FIGURES.values()}
    assert set(ALGORITHM_PAGES) <= pages


def test_figures_show_the_pages_numbers() -> None:
    """The figures draw the same numbers as the pages compute."""
    attention = _run("en", "attention.md")[1].namespace
    data = _figure_data("attention-weights")
    assert np.allclose(data["weights"], attention["weights"])
    assert np.allclose(data["causal"], attention["causal_weights"])
    assert np.allclose(_figure_data("positional-encoding")["pe"],
                       attention["positional_encoding"](48, 32))
    llm = _run("en", "llm.md")[1].namespace
    sampling = dict(_figure_data("llm-sampling")["panels"])
    assert np.allclose(sampling["τ = 1"], llm["probs"])
    assert np.allclose(sampling["τ = 0.5"], llm["softmax_t"](llm["next_logits"], 0.5))
    assert np.allclose(sampling["top-p, p = 0.9"], llm["nucleus"])
    fitted = {"E": llm["fit_e"], "A": llm["fit_a"], "B": llm["fit_b"],
              "alpha": llm["fit_alpha"], "beta": llm["fit_beta"]}
    assert fitted == make_figures.CHINCHILLA
    lora = _figure_data("llm-lora")
    assert int((lora["singular"] > 1e-9).sum()) == lora["r"]
    vae = _run("en", "vae.md")[1].namespace
    assert _figure_data("vae-elbo-gap")["log_px"] == pytest.approx(vae["log_px"])
    diffusion = _run("en", "diffusion.md")[1].namespace
    _, _, alpha_bars = make_figures.ddpm_schedule()
    assert np.allclose(alpha_bars, diffusion["alpha_bars"])
    signal = _figure_data("diffusion-forward")["signal"]
    assert signal[-1] == pytest.approx(np.sqrt(diffusion["alpha_bars"][-1]))
    x = np.linspace(-1, 1, 5)
    assert np.allclose(make_figures.mixture_eps_star(x, alpha_bars[199]),
                       diffusion["mixture_eps_star"](x, alpha_bars[199]))
    ml = _run("en", "machine-learning.md")[1].namespace
    gd = _figure_data("ml-gradient-descent")
    x_ml, y_ml = make_figures._line_data()
    assert np.allclose(x_ml, ml["x"]) and np.allclose(y_ml, ml["y"])
    assert np.allclose(gd["best"], np.polyfit(ml["x"], ml["y"], 1), atol=1e-9)
    nlp = _run("en", "nlp.md")[1].namespace
    bigram = _figure_data("nlp-bigram")
    row = bigram["probs"][bigram["vocab"].index("the")]
    assert row[bigram["vocab"].index("cat")] == pytest.approx(nlp["p_cat"])


def test_trained_figures_show_what_their_captions_claim() -> None:
    gan = _figure_data("gan-mode-collapse")["covered"]
    assert gan["data"][0] == 8 and gan["balanced"][0] == 8  # PacGAN covers all modes
    assert gan["collapsed"][0] <= 2 and gan["collapsed"][1] < 0.2  # the plain one collapses
    flow = _figure_data("flow-samplers")
    assert flow["covered"][0] == 8
    euler, heun = flow["err"]["euler"], flow["err"]["heun"]
    assert euler[-1] / euler[-2] == pytest.approx(0.5, abs=0.1)  # first order
    assert heun[-1] / heun[-2] < 0.35  # second order: about a quarter
    vae = _figure_data("vae-latent")
    assert vae["kl"] > 1  # the codes carry information (no posterior collapse)


# ---------------------------------------------------------------------------------------
# Exercises: each answer can be revealed and is checked by code


EXERCISE = re.compile(r'^\?\?\? question "(?P<title>[^"]+)"\n(?P<body>(?:(?: {4}.*)?\n)+)', re.M)


@pytest.mark.parametrize("case", [(lang, name) for name in ALGORITHM_PAGES for lang in LANGS],
                         ids=case_id)
def test_algorithm_page_ends_with_checked_exercises(case: tuple[str, str]) -> None:
    lang, name = case
    text = learn_page(lang, name).read_text(encoding="utf-8")
    exercises = list(EXERCISE.finditer(text))
    assert len(exercises) >= 3, f"docs/{lang}/learn/{name}: {len(exercises)} exercises"
    answer = "**Answer.**" if lang == "en" else "**答案。**"
    for exercise in exercises:
        body = exercise.group("body")
        assert answer in body, f"{exercise.group('title')}: no {answer}"
        assert "    ```python" in body, f"{exercise.group('title')}: the answer runs no code"
    page = parse(learn_page(lang, name))
    indented = [b for b in page.blocks if b.lang == "python" and b.indent]
    assert len(indented) >= len(exercises)  # ... and the page test runs that code
    heading = "## Exercises" if lang == "en" else "## 练习"
    assert text.index("## ", 10) < text.index(heading) < exercises[0].start()


def test_exercise_answers_run_and_their_output_is_checked(tmp_path: Path) -> None:
    """An indented answer block runs like any other, and a wrong output inside it fails."""
    page_text = ('??? question "Q"\n    **Answer.**\n\n    ```python\n    print(1 + 1)\n    ```\n\n'
                 '    ```text title="Output"\n    3\n    ```\n')
    path = tmp_path / "exercise.md"
    path.write_text(page_text, encoding="utf-8")
    page = parse(path)
    problems = output_problems(page, run_page(page))
    assert len(problems) == 1 and "differs" in problems[0], problems


# ---------------------------------------------------------------------------------------
# References: linked sources, catalog entries linked, verified identifiers

ARXIV_LINK = re.compile(r"\(https://arxiv\.org/abs/(?P<id>\d{4}\.\d{4,5})\)")
ENTRY_LINK = re.compile(r"\(\.\./entries/(?P<id>[\w-]+)\.md\)")
# arXiv ids cited by the Learn pages that are not (yet) catalog papers, each checked against
# a stored copy of its abstract page or an index of it; catalog papers are checked by the catalog.
VERIFIED_ARXIV = {
    "1401.4082": "Rezende, Mohamed, Wierstra: Stochastic Backpropagation and Approximate Inference",
    "1412.6980": "Kingma, Ba: Adam",
    "1503.03585": "Sohl-Dickstein et al.: Deep Unsupervised Learning using Nonequilibrium "
                  "Thermodynamics",
    "1509.00519": "Burda, Grosse, Salakhutdinov: Importance Weighted Autoencoders",
    "1701.04862": "Arjovsky, Bottou: Towards Principled Methods for Training GANs",
    "1701.07875": "Arjovsky, Chintala, Bottou: Wasserstein GAN",
    "1704.00028": "Gulrajani et al.: Improved Training of Wasserstein GANs",
    "1904.09751": "Holtzman et al.: The Curious Case of Neural Text Degeneration",
    "1910.07467": "Zhang, Sennrich: Root Mean Square Layer Normalization",
    "2001.08361": "Kaplan et al.: Scaling Laws for Neural Language Models",
    "2002.04745": "Xiong et al.: On Layer Normalization in the Transformer Architecture",
    "2010.02502": "Song, Meng, Ermon: Denoising Diffusion Implicit Models",
    "2010.11929": "Dosovitskiy et al.: An Image is Worth 16x16 Words",
    "2011.13456": "Song et al.: Score-Based Generative Modeling through SDEs",
    "2102.09672": "Nichol, Dhariwal: Improved Denoising Diffusion Probabilistic Models",
    "2104.09864": "Su et al.: RoFormer",
    "2106.09685": "Hu et al.: LoRA",
    "2203.15556": "Hoffmann et al.: Training Compute-Optimal Large Language Models",
    "2205.11487": "Saharia et al.: Imagen",
    "2207.12598": "Ho, Salimans: Classifier-Free Diffusion Guidance",
    "2208.11970": "Luo: Understanding Diffusion Models: A Unified Perspective",
    "2209.03003": "Liu, Gong, Liu: Flow Straight and Fast (rectified flow)",
    "2210.02747": "Lipman et al.: Flow Matching for Generative Modeling",
    "2305.18290": "Rafailov et al.: Direct Preference Optimization",
    "2312.00752": "Gu, Dao: Mamba",
    "2403.03206": "Esser et al.: Scaling Rectified Flow Transformers",
}


@functools.cache
def _catalog() -> dict[str, dict]:
    entries = {}
    for path in (ROOT / "catalog").glob("*/*.yaml"):
        if path.parent.name != "catalog":
            entries[path.stem] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return entries


def _catalog_papers_by_arxiv() -> dict[str, str]:
    return {str(e["arxiv"]): entry_id for entry_id, e in _catalog().items() if e.get("arxiv")}


def _references(lang: str, name: str) -> str:
    text = learn_page(lang, name).read_text(encoding="utf-8")
    heading = "\n## References\n" if lang == "en" else "\n## 参考文献\n"
    assert heading in text, f"docs/{lang}/learn/{name} has no references section"
    section = text.split(heading, 1)[1]
    return section.split("\n## ", 1)[0]


@pytest.mark.parametrize("case", [(lang, name) for name in REFERENCE_PAGES for lang in LANGS],
                         ids=case_id)
def test_page_ends_with_linked_sources_and_catalog_entries(case: tuple[str, str]) -> None:
    lang, name = case
    section = _references(*case)
    items = [item for item in re.split(r"\n(?=- )", section) if item.startswith("- ")]
    assert items, f"docs/{lang}/learn/{name}: no sources listed"
    for item in items:
        assert "](https://" in item, (
            f"docs/{lang}/learn/{name}: a source without a link: {item[:80]}")
    assert ENTRY_LINK.search(section), f"docs/{lang}/learn/{name}: no catalog entry to go deeper"
    text = learn_page(lang, name).read_text(encoding="utf-8")
    tail = text[text.index(section):]
    if name in ALGORITHM_PAGES:  # references, then the generated catalog list, nothing else
        assert tail.rstrip().endswith(f"<!-- atlas:entries topic={ALGORITHM_PAGES[name]} -->")


@pytest.mark.parametrize("case", PAGE_CASES, ids=case_id)
def test_cited_papers_in_the_catalog_link_their_entry(case: tuple[str, str]) -> None:
    """A cited arXiv paper that is in the catalog must link its entry page in the same list
    item, so that a paper added to the catalog later shows up here as a failing test; every
    other cited id must be one verified above; every entry linked must exist."""
    lang, name = case
    text = learn_page(lang, name).read_text(encoding="utf-8")
    papers = _catalog_papers_by_arxiv()
    for item in re.split(r"\n(?=- |\n)", text):
        for match in ARXIV_LINK.finditer(item):
            arxiv_id = match.group("id")
            if arxiv_id in papers:
                assert f"(../entries/{papers[arxiv_id]}.md)" in item, (
                    f"docs/{lang}/learn/{name} cites arXiv:{arxiv_id} without linking its "
                    f"catalog entry ../entries/{papers[arxiv_id]}.md")
            else:
                assert arxiv_id in VERIFIED_ARXIV, (
                    f"docs/{lang}/learn/{name} cites arXiv:{arxiv_id}, which is neither a "
                    "catalog paper nor a verified id")
    for match in ENTRY_LINK.finditer(text):
        assert match.group("id") in _catalog(), (
            f"docs/{lang}/learn/{name} links ../entries/{match.group('id')}.md: no such entry")


def test_catalog_link_check_catches_a_missing_entry_link(tmp_path: Path) -> None:
    papers = _catalog_papers_by_arxiv()
    arxiv_id, entry = next(iter(papers.items()))
    item = f"- A paper: [arXiv:{arxiv_id}](https://arxiv.org/abs/{arxiv_id})"
    assert f"(../entries/{entry}.md)" not in item  # what the test above would report


@pytest.mark.parametrize("name", REFERENCE_PAGES)
def test_both_languages_cite_the_same_sources(name: str) -> None:
    cited = [sorted(set(ARXIV_LINK.findall(_references(lang, name)))) for lang in LANGS]
    assert cited[0] == cited[1], f"{name}: English cites {cited[0]}, Chinese {cited[1]}"
