"""The faithful rivals ``focus`` (deepfocus 1.0.1) and ``wechsel`` (wechsel 0.0.4) on tiny fixtures.

Where fastText's output is random, the static vectors are replaced by hand-made ones (monkeypatched
``train_static_vectors``) so that similarities, and hence the weights, can be computed by hand.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from paper_utils.errors import ConfigError, DataError
from paper_utils.fixtures import tiny_model, tiny_tokenizer
from paper_utils.init import focus as focus_mod
from paper_utils.init import initialize, new_tokens
from paper_utils.init import wechsel as wechsel_mod
from paper_utils.init.static_vectors import FastTextOptions, StaticVectors, train_static_vectors
from paper_utils.init.wechsel import lexicon_dictionary, parallel_dictionary, procrustes, words
from paper_utils.registry import initializer, initializer_names

ENGLISH = ["The password is too short.", "This field is required.", "Save and continue editing",
           "Please enter a valid email address.", "The book is on the table."] * 4
UZBEK = ["Parol juda qisqa.", "Bu maydon toʻldirilishi shart.", "Saqlash va tahrirlashni davom ettirish",
         "Kitoblar va kitobxonlar", "Bu kitob juda yaxshi", "Kitob oʻqish foydali"] * 4
LEXICON = {"parol": "password", "kitob": "book", "maydon": "field", "qisqa": "short", "va": "and"}


@pytest.fixture(scope="module")
def tiny():
    from paper_utils.vocab import extend_tokenizer

    base = tiny_tokenizer(ENGLISH * 3, "llama", vocab_size=300)
    ext, _ = extend_tokenizer(base, UZBEK, 30, ENGLISH, min_frequency=2)
    return base, ext, tiny_model("llama", len(base)), new_tokens(base, ext)


def test_registered_beside_the_stand_ins():
    names = initializer_names()
    assert {"focus", "wechsel", "focus_ppmi", "wechsel_e5"} <= set(names)
    assert initializer("wechsel").options["top_k"] == 10 and initializer("wechsel").options["temperature"] == 0.1
    assert initializer("wechsel").data == ("target_texts", "english_texts", "lexicon", "parallel_pairs")
    assert initializer("focus").options["min_count"] == 10 and initializer("focus").options["fallback"] == "random"


# ------------------------------------------------------------------------------------------------ building blocks

def test_procrustes_recovers_a_known_rotation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 6))
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    np.testing.assert_allclose(procrustes(x, x @ q), q, atol=1e-8)


def test_static_vectors_deterministic_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("PAPER_UTILS_CACHE", str(tmp_path))
    sents = [words(t) for t in UZBEK]
    opts = FastTextOptions(dim=8, epochs=2, min_count=1, bucket=1000, minn=5, maxn=5)
    a = train_static_vectors(sents, opts, queries=["kitoblari", "va"], cache=False)
    b = train_static_vectors(sents, opts, queries=["kitoblari", "va"])
    assert np.array_equal(a.vectors, b.vectors) and np.array_equal(a.query_vectors, b.query_vectors)
    assert len(list((tmp_path / "static_vectors").glob("*.npz"))) == 1
    c = train_static_vectors(sents, opts, queries=["kitoblari", "va"])              # from the cache
    assert c.words == a.words and np.array_equal(c.query_vectors, a.query_vectors)
    # an in-vocabulary word's query vector is its word vector; "va" (<va> has no 5-gram) is in the vocabulary
    np.testing.assert_array_equal(a.query_vectors[1], a.vectors[a.index()["va"]])


def test_dictionaries_from_lexicon_and_parallel_pairs():
    assert lexicon_dictionary({"Kitob": "book", "Bu kitob": "this book", "maktab": ""}) == [("book", "kitob")]
    pairs = [("Save", "Saqlash"), ("Save and add", "Saqlash va qo'shish"), ("Add", "Qo'shish"),
             ("and", "va"), ("Delete and add", "O'chirish va qo'shish")]
    assert ("and", "va") in parallel_dictionary(pairs) and ("save", "saqlash") in parallel_dictionary(pairs)
    assert ("delete", "o'chirish") not in parallel_dictionary(pairs)             # co-occurs once only


def test_sparsemax_all_is_exact_over_every_anchor():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    a = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8], [-1.0, 0.0]])
    index, weight = focus_mod.sparsemax_all(q, a, chunk_elements=4)            # one query per chunk
    # query 0: sims 1, .8, .6, -1; cumulative sums 1, 1.8, 2.4; support = largest k with 1 + k z_k > cumsum_k:
    # k=3 (2.8 > 2.4), k=4 fails -> tau = (2.4 - 1) / 3 -> weights 1 - tau, .8 - tau, .6 - tau, 0
    w0 = dict(zip(index[0].tolist(), weight[0].tolist()))
    assert set(k for k, w in w0.items() if w > 0) == {0, 1, 2}
    assert math.isclose(w0[0], 1 - 1.4 / 3, abs_tol=1e-5) and math.isclose(w0[2], 0.6 - 1.4 / 3, abs_tol=1e-5)
    w1 = dict(zip(index[1].tolist(), weight[1].tolist()))                    # sims 0, .6, .8, 0
    assert math.isclose(w1[2], 0.6, abs_tol=1e-5) and math.isclose(w1[1], 0.4, abs_tol=1e-5)


# ------------------------------------------------------------------------------------------------ hand-made spaces

def _fake_static(monkeypatch, module, spaces):
    """``train_static_vectors`` returning ``spaces[i]`` on its i-th call: (words->vec, default for queries)."""
    calls = []

    def fake(sentences, options, queries=(), cache=True):
        table = spaces[len(calls)]
        calls.append(list(queries))
        ws = sorted(table)
        dim = len(next(iter(table.values())))
        qv = np.array([table.get(q, np.zeros(dim)) for q in queries], dtype=np.float32).reshape(len(queries), dim)
        return StaticVectors(ws, np.ones(len(ws), dtype=np.int64), np.array([table[w] for w in ws], np.float32),
                             list(queries), qv)

    monkeypatch.setattr(module, "train_static_vectors", fake)
    return calls


def test_wechsel_top_k_softmax_weights_by_hand(tiny, monkeypatch):
    base, ext, model, info = tiny
    surfaces = [s.strip() for s in base.batch_decode([[i] for i in range(len(base))])]
    target = info.surfaces[0].strip()
    # English space: three base tokens at known angles; everything else far away (orthogonal, zero)
    once = {s for s in surfaces if surfaces.count(s) == 1}         # " is" and "is" share a vector, as in WECHSEL
    picks = [i for i, s in enumerate(surfaces) if s.isalpha() and len(s) >= 2 and s in once][:3]
    angles = {picks[0]: 0.0, picks[1]: 0.3, picks[2]: 1.2}
    en = {surfaces[i]: [math.cos(t), math.sin(t), 0.0] for i, t in angles.items()}
    en.update(password=[0.0, 0.0, 1.0], field=[0.0, 1.0, 0.0], book=[1.0, 0.0, 0.0])
    tgt = {target: [1.0, 0.0, 0.0], "parol": [0.0, 0.0, 1.0], "maydon": [0.0, 1.0, 0.0], "kitob": [1.0, 0.0, 0.0]}
    _fake_static(monkeypatch, wechsel_mod, [en, tgt])
    patch = initialize(model, base, ext, "wechsel", target_texts=UZBEK, english_texts=ENGLISH, lexicon=LEXICON,
                       min_count=1, top_k=2, temperature=0.1, min_pairs=3)
    # the dictionary pairs map the English axes onto the same target axes: R = I; the target token points along
    # x, so its top-2 base tokens are picks[0] (cos 0 = 1) and picks[1] (cos .3); softmax over (1, cos .3) / .1
    sims = np.array([1.0, math.cos(0.3)])
    expected = np.exp(sims / 0.1) / np.exp(sims / 0.1).sum()
    rec = patch.provenance[0]
    assert [a.strip() for a, _ in rec["anchors"]] == [surfaces[picks[0]], surfaces[picks[1]]]
    np.testing.assert_allclose([w for _, w in rec["anchors"]], np.round(expected, 4), atol=1e-4)
    w = model.get_input_embeddings().weight.detach()
    row = expected[0] * w[picks[0]] + expected[1] * w[picks[1]]
    torch.testing.assert_close(patch.input_rows[0], row.to(patch.input_rows.dtype), rtol=1e-4, atol=1e-5)
    # tokens with a zero vector get WECHSEL's fill: row id of RandomState(1234).normal(mean, std, (len(ext), h))
    m = w[:len(base)].numpy().astype(np.float64)
    full = np.random.RandomState(1234).normal(m.mean(0), m.std(0), (len(ext), m.shape[1]))
    k = next(r for r, p in enumerate(patch.provenance) if p["rule"].startswith("random"))
    np.testing.assert_allclose(patch.input_rows[k].numpy(), full[info.ids[k]], rtol=1e-5, atol=1e-6)


def test_focus_sparsemax_over_overlapping_tokens_by_hand(tiny, monkeypatch):
    base, ext, model, info = tiny
    base_tokens = base.convert_ids_to_tokens(list(range(len(base))))
    anchors = [i for i, t in enumerate(base_tokens) if t.isalpha() and len(t) >= 2][:3]
    space = {base_tokens[anchors[0]]: [1.0, 0.0], base_tokens[anchors[1]]: [0.8, 0.6],
             base_tokens[anchors[2]]: [-1.0, 0.0], info.tokens[0]: [1.0, 0.0], info.tokens[1]: [0.0, 0.0]}
    _fake_static(monkeypatch, focus_mod, [space, space])
    patch = initialize(model, base, ext, "focus", target_texts=UZBEK, min_count=1)
    # sims 1, .8, -1 -> sparsemax: tau .4 -> weights .6, .4 on the first two overlapping tokens
    w = model.get_input_embeddings().weight.detach()
    torch.testing.assert_close(patch.input_rows[0], 0.6 * w[anchors[0]] + 0.4 * w[anchors[1]], rtol=1e-4, atol=1e-5)
    assert patch.provenance[0]["n_anchors"] == 2 and patch.provenance[0]["rule"].startswith("focus (fastText")
    # a zero vector or no vector: deepfocus's N(mean, std) draws, one per token in id order, generator seed 42
    missing = [r for r, p in enumerate(patch.provenance) if p["rule"].startswith("random")]
    assert missing[:1] == [1]
    gen = torch.Generator().manual_seed(42)
    m = w[:len(base)]
    draws = torch.stack([torch.normal(m.mean(0), m.std(0), generator=gen) for _ in missing])
    torch.testing.assert_close(patch.input_rows[missing], draws)
    fvt = initialize(model, base, ext, "focus", target_texts=UZBEK, min_count=1, fallback="fvt")
    assert fvt.provenance[1]["rule"] == "fvt (fallback: no fastText vector)"
    torch.testing.assert_close(fvt.input_rows[1], w[info.pieces[1]].mean(0))


def test_real_fasttext_end_to_end_is_deterministic(tiny):
    base, ext, model, _ = tiny
    opts = dict(target_texts=UZBEK, min_count=1, dim=8, epochs=1, bucket=1000, cache=False)
    a = initialize(model, base, ext, "focus", **opts)
    b = initialize(model, base, ext, "focus", **opts)
    assert torch.equal(a.input_rows, b.input_rows)
    c = initialize(model, base, ext, "wechsel", english_texts=ENGLISH, lexicon=LEXICON, min_pairs=2, **opts)
    assert torch.isfinite(c.input_rows).all() and any(p["rule"].startswith("wechsel (") for p in c.provenance)


# ------------------------------------------------------------------------------------------------ bad input

def test_dictionary_without_overlap_is_refused_and_nothing_is_written(tiny, tmp_path, monkeypatch):
    base, ext, model, _ = tiny
    monkeypatch.setenv("PAPER_UTILS_CACHE", str(tmp_path))
    opts = dict(target_texts=UZBEK, english_texts=ENGLISH, min_count=1, dim=8, epochs=1, bucket=1000)
    with pytest.raises(DataError, match="lexicon: 0 of 2 dictionary pairs"):
        initialize(model, base, ext, "wechsel", lexicon={"olma": "apple", "nok": "pear"}, **opts)
    with pytest.raises(ConfigError, match="lexicon"):
        initialize(model, base, ext, "wechsel", lexicon=None, **opts)
    with pytest.raises(ConfigError, match="english_texts"):
        initialize(model, base, ext, "wechsel", lexicon=LEXICON, **{**opts, "english_texts": []})
    with pytest.raises(ConfigError, match="fallback"):
        initialize(model, base, ext, "focus", target_texts=UZBEK, fallback="zeros")
    assert not any(tmp_path.rglob("*"))


def test_unseen_ngrams_count_as_zero():
    sents = [words(t) for t in UZBEK]
    opts = FastTextOptions(dim=8, epochs=1, min_count=1, bucket=1000, minn=5, maxn=5)
    zero = train_static_vectors(sents, opts, queries=["xyzzyq", "kitoblari"], cache=False)
    kept = train_static_vectors(sents, FastTextOptions(**{**opts.__dict__, "unseen_ngrams": "random"}),
                                queries=["xyzzyq", "kitoblari"], cache=False)
    assert not zero.query_vectors[0].any() and kept.query_vectors[0].any()      # only never-trained n-grams
    assert zero.query_vectors[1].any()                                           # "<kito", "kitob" were trained
