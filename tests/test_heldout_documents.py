"""Held-out documents: overlap removal, grouping, the dev/test split by file, the refusal with numbers."""
from __future__ import annotations

import pytest

from paper_utils.corpora.firefox_heldout import capped
from paper_utils.corpora.heldout_documents import (
    Document,
    TrainingIndex,
    build,
    group_documents,
    require_documents,
    screen,
)
from paper_utils.corpora.splits import SPLIT_SEED, hash_unit
from paper_utils.errors import ConfigError, DataError

TRAINING = ["Faylni saqlash mumkin emas", "Yangi oyna ochildi va yopildi tez orada", "Ha"]


def test_screen_reasons():
    index = TrainingIndex(TRAINING)
    strings = [("a", "1", "Ha", "Yes"),                                     # exact training text
               ("a", "2", "saqlash mumkin", "can save"),                     # whole words inside a training text
               ("a", "3", "Yangi oyna ochildi va yopildi", "x"),            # 4 of 4 3-grams (also contained)
               ("a", "4", "yangi oyna ochildi va boshqa", "x"),              # 2 of 3 3-grams: ngram
               ("a", "5", "oyna ochildi bu yerda umuman yangi gap", "x"),   # 1 of 5: kept
               ("b", "6", "HA!", "Yes"),                                     # same key as "Ha": duplicate first
               ("b", "7", "mumkin", "may")]                                   # one word seen in training
    reasons = [r[-1] for r in screen(strings, index)]
    assert reasons == ["contained", "contained", "contained", "ngram", None, "duplicate", "contained"]


def test_contained_needs_consecutive_whole_words():
    index = TrainingIndex(TRAINING)
    assert index.contains(["saqlash", "mumkin"])
    assert not index.contains(["faylni", "mumkin"])              # both seen, not consecutive
    assert not index.contains(["saql"])                          # a piece of a word is not a word


def test_group_documents_min_bytes_and_leftover():
    strings = [("f", str(i), "x" * 60, "e") for i in range(7)]   # 7 x 60 bytes, joined with newlines
    docs = group_documents(strings, min_bytes=150)
    assert [len(d.text.encode()) for d in docs] == [182, 243]    # 3 strings, then 3 + the short leftover
    assert all(len(d.text.encode()) >= 150 for d in docs)
    assert [d.keys for d in docs] == [("0", "1", "2"), ("3", "4", "5", "6")]
    assert group_documents([("g", "1", "short", "e")], min_bytes=150) == []     # a file shorter than min: dropped


def test_split_by_whole_file():
    strings = [(f"file{n}", str(i), "y" * 120, "e") for n in range(40) for i in range(4)]
    docs = group_documents(strings, min_bytes=100, dev_share=0.6)
    for d in docs:
        assert d.split == ("dev" if hash_unit(SPLIT_SEED, d.file) < 0.6 else "test")
    by_file = {}
    for d in docs:
        by_file.setdefault(d.file, set()).add(d.split)
    assert all(len(s) == 1 for s in by_file.values())
    assert {"dev", "test"} <= {d.split for d in docs}


def test_bad_parameters_are_refused():
    with pytest.raises(ConfigError, match="min_bytes"):
        group_documents([], min_bytes=0)
    with pytest.raises(ConfigError, match="dev_share"):
        group_documents([], dev_share=1.5)


def test_build_report_and_refusal_with_numbers():
    strings = [("f", "1", "Ha", "Yes"), ("f", "2", "Bu butunlay yangi va uzun bir matn", "New")]
    docs, report = build(strings, TRAINING, source="fake", min_bytes=500)
    assert docs == [] and report["removed"]["contained"] == 1 and report["kept_strings"] == 1
    with pytest.raises(DataError, match=r"0 held-out test documents of at least 500 bytes from fake.*2 strings, 1 kept"):
        require_documents(docs, "test", "uz", report)


def test_capped_keeps_per_split_in_hash_order():
    docs = [Document(f"f#{n}", "f", "dev" if n % 2 else "test", "t", "e", ()) for n in range(10)]
    kept = capped(docs, 2)
    assert sum(d.split == "dev" for d in kept) == 2 and sum(d.split == "test" for d in kept) == 2
    assert kept == [d for d in docs if d in kept]                 # original order kept
    first_dev = sorted((d.id for d in docs if d.split == "dev"), key=lambda i: hash_unit(SPLIT_SEED, i))[:2]
    assert {d.id for d in kept if d.split == "dev"} == set(first_dev)


@pytest.mark.assets
@pytest.mark.parametrize("lang", ["uz", "ms"])
def test_real_firefox_heldout_documents(lang):
    from paper_utils import corpora, debian_packs
    from paper_utils.config import load_preset
    from paper_utils.corpora.firefox_heldout import firefox_heldout
    from paper_utils.study import data_source

    needed = [corpora.firefox_languages()[lang][0], "firefox-esr"]
    if not all(debian_packs.get_package(key).is_cached() for key in needed):
        pytest.skip(f"Debian packages {needed} not in the cache (python -m paper_utils assets fetch --preset demo-full)")
    source = data_source(load_preset("demo-full"))
    dev, test = source.step0_dev_text(lang), source.heldout_text(lang)
    assert len(dev) >= 300 and len(test) >= 300
    assert min(len(t.encode()) for t in dev + test) >= 200
    assert not set(dev) & set(test)
    docs, report = firefox_heldout(lang, dev_share=source.DEV_SHARE)
    assert report["removed"]["contained"] > 0
    index = TrainingIndex(source.training_text(lang))
    for text in test[:50]:                                      # no kept line is contained in training text
        for line in text.split("\n"):
            words = corpora.normalize_key(line).split()
            assert not index.contains(words)
