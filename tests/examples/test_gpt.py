"""The character-level GPT example: Tiny Shakespeare by default, the n-gram ladder it is
judged against, the stories' exact entropy rate, the KV cache and sampling from a checkpoint.

Its shared behaviour (seeds, resume, torchrun, errors, CUDA) is in test_examples_common.py.
"""

from __future__ import annotations

import importlib.util
import random
import subprocess
import sys
from pathlib import Path

import pytest
from example_runs import ENV, EXAMPLES, ROOT, assert_bars, run_example, run_failing

np = pytest.importorskip("numpy")


def load_gpt():
    spec = importlib.util.spec_from_file_location("gpt_example", EXAMPLES / "gpt" / "gpt.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def encoded(text: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Split as gpt.py splits: the first 90% of the characters trains."""
    characters = sorted(set(text))
    index = {c: i for i, c in enumerate(characters)}
    data = np.array([index[c] for c in text])
    split = int(0.9 * len(data))
    return data[:split], data[split:], len(characters)


def test_shakespeare_is_shipped_and_split_as_nanogpt() -> None:
    gpt = load_gpt()
    text = gpt.SHAKESPEARE.read_text(encoding="utf-8")
    assert len(text) == 1_115_394 and len(set(text)) == 65
    train, validation, _ = encoded(text)
    assert len(train) == 1_003_854 and len(validation) == 111_540   # nanoGPT's two .bin files


def test_stories_entropy_rate_is_exact() -> None:
    gpt = load_gpt()
    rng = random.Random(3)
    stories = [gpt.story(rng) for _ in range(50_000)]
    # Every story is its choices, read back from the text: names, things and places recur.
    for text in stories[:200]:
        first, *_, last = text.rstrip(".\n").split(". ")
        name, _, *rest = first.split(" ")
        assert last.startswith(name + " ") and last.endswith(first.split(" at ", 1)[1])
    length = sum(map(len, stories)) / len(stories)
    rate = gpt.story_entropy_rate()
    information = rate * length                     # nats per story, by the formula
    assert abs(information - 11.437) < 0.05, information
    assert 0.14 < rate < 0.16


def test_ngram_ladder_and_its_bars_reject_cheats() -> None:
    """The ladder is fitted as the run fits it; the best n-gram itself, and a memorising
    model, fail the bars that the GPT must clear."""
    gpt = load_gpt()
    train, validation, vocab = encoded(gpt.generated_corpus())
    ladder = gpt.kneser_ney_ladder(train, validation, vocab)
    floor = gpt.story_entropy_rate()
    assert len(ladder) == 10 and ladder[0] > ladder[2] > ladder[5]
    assert min(ladder) > floor + 0.05         # no n-gram reaches the entropy rate
    best = min(ladder)
    assert not gpt.ladder_bars(best, best, ladder, "stories")[
        "closes_half_the_gap_from_best_ngram_to_floor"]["passed"]
    # Memorising: trust the longest context seen in training (discounts near 0).
    memoriser = gpt.kneser_ney_ladder(train, validation, vocab, 10, discount_scale=0.01)[-1]
    assert memoriser > best
    for name, record in gpt.ladder_bars(memoriser, memoriser, ladder, "stories").items():
        assert not record["passed"], name
    assert gpt.ladder_bars(floor, floor, ladder, "stories")[
        "closes_half_the_gap_from_best_ngram_to_floor"]["passed"]
    # On Shakespeare the memoriser fails even the trigram bar, and on a text of your own
    # the best n-gram fails too.
    train, validation, vocab = encoded(gpt.SHAKESPEARE.read_text(encoding="utf-8")[:300_000])
    ladder = gpt.kneser_ney_ladder(train, validation, vocab)
    memoriser = gpt.kneser_ney_ladder(train, validation, vocab, 10, discount_scale=0.01)[-1]
    for cheat in (memoriser, ladder[2]):
        bars = gpt.ladder_bars(cheat, cheat, ladder, "shakespeare")
        assert set(bars) == {"below_trigram_by_0_1", "validation_loss_at_most_1_75"}
        for name, record in bars.items():
            assert not record["passed"], (cheat, name)
    assert not gpt.ladder_bars(min(ladder), min(ladder), ladder, "own.txt")[
        "below_best_ngram_by_0_05"]["passed"]


def test_dry_run_then_sample_from_its_checkpoint(tmp_path: Path) -> None:
    metrics = run_example("gpt", tmp_path, "--dry-run")
    assert metrics["steps"] == 20 and metrics["corpus"] == "shakespeare"
    assert metrics["validation_characters"] == 1999            # the whole validation split
    assert list(metrics["ngram_validation_loss"]) == [str(n) for n in range(1, 11)]
    assert metrics["bars"]["kv_cache_matches_recomputation"]["passed"]
    command = [sys.executable, str(EXAMPLES / "gpt" / "gpt.py"), "--device", "cpu",
               "--out", str(tmp_path), "--sample", "--start", "ROMEO:", "--num-samples", "2",
               "--max-new-tokens", "40", "--temperature", "0.7", "--top-k", "20",
               "--top-p", "0.9"]
    result = subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    samples = result.stdout.split("---\n")
    assert len(samples) == 2 and all(s.startswith("ROMEO:") for s in samples)
    assert all(len(s.rstrip("\n")) >= 46 for s in samples)
    bad = run_failing("gpt", "--device", "cpu", "--out", str(tmp_path), "--sample",
                      "--start", "€")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_top_p_keeps_the_smallest_likely_set() -> None:
    gpt = load_gpt()
    import torch

    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    draws = {int(gpt.pick(logits, 1.0, None, 0.75, torch.Generator().manual_seed(i)))
             for i in range(200)}
    assert draws == {0, 1}                            # 0.5 + 0.3 >= 0.75; the rest never
    draws = {int(gpt.pick(logits, 1.0, 1, 1.0, torch.Generator().manual_seed(i)))
             for i in range(20)}
    assert draws == {0}


@pytest.mark.slow
def test_quality_bar_with_defaults(tmp_path: Path) -> None:
    """Tiny Shakespeare with the default options: 0.1 nats/char below the trigram model
    fitted in the same run, a validation loss of at most 1.75, the KV cache matching
    recomputation."""
    metrics = run_example("gpt", tmp_path)
    assert_bars(metrics, "below_trigram_by_0_1", "validation_loss_at_most_1_75",
                "kv_cache_matches_recomputation")
    assert metrics["validation_characters"] == 111_539
    assert metrics["best_ngram"]["order"] >= 5
    assert len(metrics["samples"]) == 3 and (tmp_path / "loss.png").is_file()


def test_own_text_file(tmp_path: Path) -> None:
    text = tmp_path / "text.txt"
    text.write_text("abcabd (xyz) " * 400, encoding="utf-8")
    metrics = run_example("gpt", tmp_path / "out", "--data", str(text), "--dry-run")
    assert metrics["corpus"] == str(text) and metrics["vocabulary"] == 10
