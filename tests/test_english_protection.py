"""English protection (issue 13): guarded learning, held-out floor, English-looking check, letter tokens,
Uzbek apostrophe spellings; the real SmolLM2 extension on apostrophe and contraction cases (assets tier)."""
from __future__ import annotations

import random
import re

import pytest

from paper_utils.errors import ConfigError, DataError
from paper_utils.fixtures import evaluation_tokenizer
from paper_utils.surfaces import vocabulary_kind
from paper_utils.vocab import extend_tokenizer
from paper_utils.vocab.apostrophes import UZBEK_MARKS, spelling_variants
from paper_utils.vocab.candidates import has_letter
from paper_utils.vocab.english import english_pairs
from paper_utils.vocab.english_check import EnglishDriftError, identical
from paper_utils.vocab.guarded_bpe import guarded_merges

ENGLISH = ["The quick brown fox jumps over the lazy dog.", "Please enter a valid email address.",
           "This field is required.", "The book is on the table and it is red."] * 5
UZ = ["Bu kitob juda foydali.", "Kitoblar va maktablar.", "Maktab kitoblari.", "O'zbek tili go'zal.",
      "Ma'lumot to'g'ri emas.", "Bo'limni o'zgartirish %(name)s uchun.", "Ko'rish %(count)s marta."] * 12


def _brute_bpe(words: dict, n: int) -> list:
    seqs, out = dict(words), []
    for _ in range(n):
        counts: dict = {}
        for s, v in seqs.items():
            for p in zip(s, s[1:]):
                counts[p] = counts.get(p, 0) + v
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))
        if counts[best] < 2:
            break
        out.append(best)
        merged: dict = {}
        for s, v in seqs.items():
            o, j = [], 0
            while j < len(s):
                if j + 1 < len(s) and (s[j], s[j + 1]) == best:
                    o.append(s[j] + s[j + 1])
                    j += 2
                else:
                    o.append(s[j])
                    j += 1
            merged[tuple(o)] = merged.get(tuple(o), 0) + v
        seqs = merged
    return out


def test_guarded_bpe_is_plain_bpe_without_protection_and_never_learns_a_protected_pair():
    rng = random.Random(0)
    words: dict = {}
    for _ in range(2000):
        w = tuple(rng.choice("abcdef") for _ in range(rng.randint(2, 6)))
        words[w] = words.get(w, 0) + rng.randint(1, 4)
    assert guarded_merges(words, 150, set(), set("abcdef")) == _brute_bpe(words, 150)
    protected = {("a", "b"), ("c", "c"), ("d", "e")}
    refused: set = set()
    merges = guarded_merges(words, 150, protected, set("abcdef"), refused_out=refused)
    assert not protected & set(merges) and refused == protected
    assert any("a" in m[0] and "b" in m[1] for m in merges)          # merges on new tokens are free


def test_extension_learns_around_english_and_keeps_every_protected_text():
    base = evaluation_tokenizer(ENGLISH)
    ext, rep = extend_tokenizer(base, UZ, 20, ENGLISH, letter_tokens_only=True)
    assert rep["english_identical_share"] == 1.0 and rep["dropped_for_english"] == 0
    pairs = english_pairs(base, ENGLISH)
    new = set(ext.get_vocab()) - set(base.get_vocab())
    assert new and all(has_letter(t, vocabulary_kind(base)) for t in new)
    merges = ext.backend_tokenizer.to_str()
    assert rep["protected_pairs"] == len(pairs) and "%(" not in "".join(new)
    assert merges                                            # (the saved tokenizer holds the merges)


def test_letter_tokens_only_keeps_letter_free_english_whatever_the_protection():
    base = evaluation_tokenizer(ENGLISH)
    code = [" %(name)s %(count)s", "(%(count)s)", " 2024-11-30", " ... !!", " %(", "%(name)s"]
    off, _ = extend_tokenizer(base, UZ, 30, ["the cat"], letter_tokens_only=False)
    on, _ = extend_tokenizer(base, UZ, 30, ["the cat"], letter_tokens_only=True)
    assert all(identical(base, on, [" %(", " 2024-11-30", " ... !!"]))
    kind = vocabulary_kind(base)
    assert all(has_letter(t, kind) for t in set(on.get_vocab()) - set(base.get_vocab()))
    assert not all(has_letter(t, kind) for t in set(off.get_vocab()) - set(base.get_vocab()))
    assert sum(identical(base, off, code)) < len(code)      # without the rule, format placeholders change


def test_heldout_floor_stops_with_worst_examples():
    base = evaluation_tokenizer(ENGLISH)
    held = {"novel": ["Kitoblar are books in Uzbek.", "A kitob is a book."] + ENGLISH[:2]}
    ext, rep = extend_tokenizer(base, UZ, 20, ENGLISH, english_heldout=held)          # report only
    share = rep["english_heldout"]["novel"]["share"]
    assert share < 1.0 and rep["english_heldout"]["novel"]["worst"][0]["unit"]
    with pytest.raises(EnglishDriftError, match=r"novel: .*worst units:(.|\n)*itob|nothing was written"):
        extend_tokenizer(base, UZ, 20, ENGLISH, english_heldout=held, english_floor=0.999)
    with pytest.raises(ConfigError, match="english_heldout"):
        extend_tokenizer(base, UZ, 20, ENGLISH, english_floor=0.999)
    with pytest.raises(ConfigError, match="english_floor"):
        extend_tokenizer(base, UZ, 20, ENGLISH, english_heldout=held, english_floor=1.5)
    with pytest.raises(DataError, match="english_heldout"):
        extend_tokenizer(base, UZ, 20, ENGLISH, english_heldout={"empty": [" "]})


@pytest.mark.parametrize("english, why", [([], "empty"), (["  "], "empty"),
                                          (UZ, "not English-looking"),
                                          (["Saqlash tugmasini bosing va kuting."] * 3 + ["the", "of"], "not English")])
def test_protection_set_must_be_english(english, why):
    base = evaluation_tokenizer(ENGLISH)
    with pytest.raises((ConfigError, DataError), match="english_texts"):
        extend_tokenizer(base, UZ, 10, english)


def test_spelling_variants_learn_every_apostrophe_without_changing_text():
    texts, weights = spelling_variants(["o'zbek", "kitob"], [2, 1], UZBEK_MARKS)
    assert texts[:2] == ["o'zbek", "kitob"] and len(texts) == 2 + len(UZBEK_MARKS) - 1
    assert {t[1] for t in texts[2:]} == set(UZBEK_MARKS) - {"'"} and weights[2:] == [2] * 5
    base = evaluation_tokenizer(ENGLISH)
    plain, _ = extend_tokenizer(base, UZ, 30, ENGLISH, apostrophe_words=True)
    every, rep = extend_tokenizer(base, UZ, 30, ENGLISH, apostrophe_words=True, apostrophe_marks=UZBEK_MARKS)
    assert rep["apostrophe_marks"] == "".join(UZBEK_MARKS)
    typographic = [re.sub(r"(?<=\w)'", "\u2018", t) for t in UZ[:7]]
    n = lambda tok, texts: sum(len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts)  # noqa: E731
    assert n(every, typographic) < n(plain, typographic)                # the typographic spelling gets the cut
    for tok in (plain, every):                                         # the text is never changed
        assert all(tok.decode(tok(t, add_special_tokens=False)["input_ids"]) == t for t in typographic + UZ[:7])


def test_guard_every_spelling_refuses_in_every_mark_the_pairs_english_holds_around_an_apostrophe():
    from paper_utils.vocab.apostrophes import join_apostrophe_words
    from paper_utils.vocab.extend import _byte_level, _guard_every_spelling, prepare_english

    base = evaluation_tokenizer(ENGLISH)
    joined = join_apostrophe_words(base)
    english = ENGLISH + ["We’ll see if it’s late.", "We'll go."]
    prepared = prepare_english(joined, english)
    guarded = _guard_every_spelling(joined, prepared, UZBEK_MARKS)
    inside = [_byte_level(m) for m in UZBEK_MARKS]        # never the bytes of one mark ('Ê', '¼' = ʼ): refusing
    assert not any(a + b in m for a, b in guarded.pairs - prepared.pairs for m in inside)   # them keeps ʼ from a token
    for mark in UZBEK_MARKS:                              # "We‘ll", "Weʻll", ...: their other pairs are refused too
        pairs = english_pairs(joined, [f"We{mark}ll see if it{mark}s late."])
        assert {(a, b) for a, b in pairs if not any(a + b in m for m in inside)} <= guarded.pairs
    assert prepared.pairs < guarded.pairs and guarded.texts == prepared.texts    # English checked as written
    assert _guard_every_spelling(joined, prepared, ("'",)) is prepared           # one mark: nothing to add
    ext, rep = extend_tokenizer(base, UZ, 30, english, apostrophe_words=True, apostrophe_marks=UZBEK_MARKS,
                                guard_every_spelling=True)
    assert rep["guard_every_spelling"] is True and rep["english_identical_share"] == 1.0
    assert all(ext.decode(ext(t, add_special_tokens=False)["input_ids"]) == t for t in UZ)


def test_word_tokens_only_adds_only_pieces_of_one_word_on_a_sentencepiece_vocabulary():
    from paper_utils.fixtures import tiny_tokenizer
    from paper_utils.vocab.candidates import is_word_token

    target = ["Saqlash %(value)s kitoblar (value) o\u2018zbek-tili", "kitobxon (value) yozuvlar %(name)s"] * 20
    base = tiny_tokenizer(target + ENGLISH, kind="gemma", vocab_size=60)
    new_tokens = lambda ext: set(ext.get_vocab()) - set(base.get_vocab())           # noqa: E731
    loose, _ = extend_tokenizer(base, target, 12, ENGLISH, letter_tokens_only=True)
    assert not all(is_word_token(t, "sentencepiece") for t in new_tokens(loose))   # e.g. "(value" is learned
    strict, rep = extend_tokenizer(base, target, 12, ENGLISH, letter_tokens_only=True, word_tokens_only=True)
    assert rep["word_tokens_only"] is True and len(new_tokens(strict)) == 12
    assert all(is_word_token(t, "sentencepiece") for t in new_tokens(strict))
    assert all(strict.decode(strict(t, add_special_tokens=False)["input_ids"]) == t for t in target)


@pytest.mark.assets
def test_real_uzbek_extension_keeps_english_apostrophe_words_and_contractions():
    """The issue's cases, on the real extension of SmolLM2 (demo preset), which never saw them as such.

    Uses stage 02's saved tokenizer when the demo has run here, else builds it the way stage 02 does (~1 min).
    """
    from transformers import AutoTokenizer

    from paper_utils import study
    from paper_utils.config import load_preset
    from paper_utils.layout import ModelLayout
    from paper_utils.vocab import prepare_english

    cfg = load_preset("demo")
    base = study.base_tokenizer(cfg, "smollm2-135m")
    folder = ModelLayout("demo", "uz", "smollm2-135m").tokenizer_dir
    if (folder / "tokenizer.json").exists():
        ext = AutoTokenizer.from_pretrained(str(folder))
    else:
        train, weights = study.vocabulary_training(cfg, "uz")
        ext, _ = extend_tokenizer(base, train, cfg.vocabulary.budget, prepare_english(base, study.english_protection(cfg)),
                                  target_weights=weights, apostrophe_words=True,
                                  apostrophe_marks=study.apostrophe_marks("uz"),
                                  letter_tokens_only=cfg.vocabulary.letter_tokens_only)
    cases = ["ma'am", "ma’am", "o'clock", "rock'n'roll", "int'l", "cap'n", "Shi'a", "o'brien", "don't", "don’t",
             "it's", "C'mon", "O’Brien", "users'"]
    texts = [f"{p}{c}{s}" for c in cases for p, s in (("", ""), (" ", ""), ("I said ", " today."))]
    changed = [t for t, ok in zip(texts, identical(base, ext, texts)) if not ok]
    # known, reported (README): "ma'am" is in no English list the protection is fitted on, and 'Ġma'' starts the
    # most frequent Uzbek words (ma'lumot, ma'no); after a space it becomes 'Ġma'' 'am'. Fixing it by adding the
    # word by hand would fit the protection to this check.
    assert changed == [" ma'am", "I said ma'am today."], changed
