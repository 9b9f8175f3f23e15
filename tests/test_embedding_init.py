"""Embedding initializers on tiny random Llama (tied and untied) and Gemma-style models."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from paper_utils.errors import AssetError, ConfigError, DataError
from paper_utils.fixtures import tiny_model, tiny_tokenizer
from paper_utils.init import (METHODS, EmbeddingPatch, NgramHashEncoder, anchor_table, apply_patch, embedding_matrices,
                              initialize, new_tokens, patched, sparsemax)
from paper_utils.init.token_space import TokenSpace

ENGLISH = ["The quick brown fox jumps over the lazy dog.", "Please enter a valid email address.",
           "Which of the following is the capital of France?", "This field is required.",
           "Save and continue editing", "The password is too short."] * 4
UZBEK = ["Bu maydon toʻldirilishi shart.", "Toʻgʻri elektron pochta manzilini kiriting.",
         "Saqlash va tahrirlashni davom ettirish", "Parol juda qisqa.", "Kitoblar va kitobxonlar",
         "Kitob oʻqish foydali", "Maktab kitoblari", "Bu kitob juda yaxshi"] * 4
LEXICON = {"kitob": "book", "maktab": "school", "parol": "password", "shart": "condition"}


class PinnedEncoder(NgramHashEncoder):
    """Hash vectors, except that some texts read exactly like others (a fake 'translation' signal)."""

    def __init__(self, same_as):
        super().__init__()
        self.same_as = same_as

    def encode(self, texts):
        return super().encode([self.same_as.get(t, t) for t in texts])


def _extend(base, texts=UZBEK, budget=40):
    from paper_utils.vocab import extend_tokenizer

    ext, _ = extend_tokenizer(base, texts, budget, ENGLISH, min_frequency=2)
    return ext


@pytest.fixture(scope="module")
def llama():
    base = tiny_tokenizer(ENGLISH * 3, "llama", vocab_size=300)
    return base, _extend(base)


@pytest.fixture(scope="module")
def gemma():
    base = tiny_tokenizer(ENGLISH * 3, "gemma", vocab_size=300)
    return base, _extend(base)


def _fixture_token_space():
    """A token space for ``salt``: every word and word-start/inner substring (<= 4 characters) of the texts."""
    words = {w for text in ENGLISH + UZBEK for w in text.split()}
    pieces = set()
    for w in words:
        pieces |= {"▁" + w} | {w[a:b] for a in range(len(w)) for b in range(a + 1, min(len(w), a + 4) + 1)}
        pieces |= {"▁" + w[:b] for b in range(1, min(len(w), 4) + 1)}
    pieces = sorted(pieces)
    return TokenSpace.from_pieces(pieces, NgramHashEncoder(dim=16).encode(pieces))


TOKEN_SPACE = _fixture_token_space()


def enc_opts(method, **extra):
    opts = {"encoder": NgramHashEncoder()} if method in ("focus_ppmi", "wechsel_e5", "bxod", "salt_e5sentence") else {}
    if method == "salt":
        opts["plm"] = TOKEN_SPACE
    if method in ("focus_ppmi", "wechsel_e5"):
        opts.update(target_texts=UZBEK, min_count=1, dim=8)
    if method in ("focus", "wechsel"):                  # fastText (gensim) in well under a second
        opts.update(target_texts=UZBEK, min_count=1, dim=8, epochs=1, bucket=1000, cache=False)
    if method == "wechsel":
        opts.update(english_texts=ENGLISH, lexicon=LEXICON, min_pairs=1)
    if method == "bxod":
        opts["lexicon"] = LEXICON
    opts.update(extra)
    return opts


# ------------------------------------------------------------------------------------------------ tokens

def test_new_tokens_surfaces_and_pieces(llama, gemma):
    for base, ext in (llama, gemma):
        info = new_tokens(base, ext)
        assert min(info.ids) >= len(base.get_vocab()) and len(info.ids) == len(ext) - len(base)
        for surf, pieces, initial in zip(info.surfaces, info.pieces, info.word_initial):
            assert pieces and initial == surf.startswith(" ")
            assert base.decode(pieces) == surf                  # the pieces spell the token, space included
    llama_info, gemma_info = new_tokens(*llama), new_tokens(*gemma)
    assert any(t.startswith("Ġ") and s == " " + t[1:] for t, s in zip(llama_info.tokens, llama_info.surfaces))
    assert any(t.startswith("▁") and s == " " + t[1:] for t, s in zip(gemma_info.tokens, gemma_info.surfaces))


def test_fvt_is_mean_of_subtokens_with_leading_space(llama):
    base, ext = llama
    model = tiny_model("llama", len(base))
    patch = initialize(model, base, ext, "fvt")
    w = model.get_input_embeddings().weight.detach()
    info = new_tokens(base, ext)
    checked = 0
    for k, (tok, surf) in enumerate(zip(info.tokens, info.surfaces)):
        if tok.startswith("Ġ") and "\ufffd" not in surf:
            ids = base(surf, add_special_tokens=False)["input_ids"]       # " kitob" -> [' k', 'it', 'ob'] etc.
            assert base.convert_ids_to_tokens(ids)[0].startswith("Ġ")
            torch.testing.assert_close(patch.input_rows[k], w[ids].mean(0))
            checked += 1
    assert checked >= 3


def test_patch_rows_only_and_apply_keeps_ties(llama):
    base, ext = llama
    model = tiny_model("llama", len(base))
    before = model.get_input_embeddings().weight.detach().clone()
    patch = initialize(model, base, ext, "mean")
    assert patch.input_rows.shape == (len(ext) - len(base), model.config.hidden_size)
    assert patch.tied and patch.output_rows is None
    assert torch.equal(model.get_input_embeddings().weight, before)          # initialize never touches the model
    torch.testing.assert_close(patch.input_rows, before.mean(0).expand_as(patch.input_rows))
    apply_patch(model, patch, tokenizer=ext)
    w_in, w_out = embedding_matrices(model)
    assert w_out is None and model.lm_head.weight.data_ptr() == w_in.data_ptr()
    assert model.config.vocab_size == len(ext) == w_in.shape[0]
    assert torch.equal(w_in[:len(base)], before)
    torch.testing.assert_close(w_in[patch.token_ids], patch.input_rows)


def test_base_logits_unchanged_after_patch(llama):
    base, ext = llama
    model = tiny_model("llama", len(base))
    ids = torch.tensor([base("The quick brown fox", add_special_tokens=False)["input_ids"]])
    ref = model(input_ids=ids).logits
    apply_patch(model, initialize(model, base, ext, "fvt"))
    assert ext("The quick brown fox", add_special_tokens=False)["input_ids"] == ids[0].tolist()
    out = model(input_ids=ids).logits
    assert out.shape[-1] == len(ext)
    torch.testing.assert_close(out[..., :len(base)], ref)


def test_untied_head_gets_output_rows(llama):
    base, ext = llama
    model = tiny_model("llama", len(base), tied=False)
    w_out0 = model.lm_head.weight.detach().clone()
    patch = initialize(model, base, ext, "fvt")
    assert patch.output_rows is not None and not patch.tied
    info = new_tokens(base, ext)
    torch.testing.assert_close(patch.output_rows[0], w_out0[info.pieces[0]].mean(0))
    apply_patch(model, patch)
    assert model.lm_head.weight.data_ptr() != model.get_input_embeddings().weight.data_ptr()
    torch.testing.assert_close(model.lm_head.weight[patch.token_ids], patch.output_rows)
    assert torch.equal(model.lm_head.weight[:len(base)], w_out0)


def test_gemma_scaled_embeddings_combine_stored_rows(gemma):
    base, ext = gemma
    model = tiny_model("gemma", len(base))
    w = model.get_input_embeddings().weight.detach().clone()
    for method in ("fvt", "bxod", "wechsel"):
        patch = initialize(model, base, ext, method, **enc_opts(method))
        info = new_tokens(base, ext)
        if method == "fvt":
            torch.testing.assert_close(patch.input_rows[0], w[info.pieces[0]].mean(0))
        # rows are in the stored (unscaled) space: same scale as the base rows
        ratio = patch.input_rows.norm(dim=1).mean() / w.norm(dim=1).mean()
        assert 0.2 < float(ratio) < 2.0
    with patched(model, patch):
        emb = model.get_input_embeddings()
        new_id = torch.tensor([patch.token_ids[0]])
        scale = model.config.hidden_size ** 0.5
        torch.testing.assert_close(emb(new_id)[0], patch.input_rows[0] * scale, rtol=1e-3, atol=1e-4)
        assert model.lm_head.weight.data_ptr() == emb.weight.data_ptr()


def test_padding_rows_are_covered_without_resizing(llama):
    base, ext = llama
    model = tiny_model("llama", len(ext) + 24)                  # the checkpoint already has spare rows
    patch = initialize(model, base, ext, "fvt")
    apply_patch(model, patch)
    assert model.get_input_embeddings().weight.shape[0] == len(ext) + 24 == model.config.vocab_size
    torch.testing.assert_close(model.get_input_embeddings().weight[patch.token_ids], patch.input_rows)


def test_save_load_roundtrip_and_patched_restores(llama, tmp_path):
    base, ext = llama
    model = tiny_model("llama", len(base), tied=False)
    patch = initialize(model, base, ext, "bxod", **enc_opts("bxod"))
    patch.save(tmp_path / "p")
    assert (tmp_path / "p" / "rows.safetensors").exists() and (tmp_path / "p" / "patch.json").exists()
    loaded = EmbeddingPatch.load(tmp_path / "p")
    assert loaded.token_ids == patch.token_ids and loaded.provenance == patch.provenance
    assert torch.equal(loaded.input_rows, patch.input_rows) and torch.equal(loaded.output_rows, patch.output_rows)
    assert loaded.options["lexicon"] == "<4 entries>" and loaded.options["encoder"] == "ngram-hash"
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with patched(model, loaded):
        assert model.get_input_embeddings().weight.shape[0] == len(ext)
    after = model.state_dict()
    assert model.config.vocab_size == len(base) and all(torch.equal(state[k], after[k]) for k in state)
    with pytest.raises(DataError):
        EmbeddingPatch.load(tmp_path / "missing")


# ------------------------------------------------------------------------------------------------ methods

def test_every_method_runs_tied_untied_gemma(llama, gemma):
    for (base, ext), kind, tied in ((llama, "llama", True), (llama, "llama", False), (gemma, "gemma", True)):
        model = tiny_model(kind, len(base), tied=tied)
        for method in METHODS:
            patch = initialize(model, base, ext, method, **enc_opts(method))
            assert torch.isfinite(patch.input_rows).all() and len(patch.provenance) == len(patch.token_ids)
            assert (patch.output_rows is None) == tied


def test_random_and_mean():
    base = tiny_tokenizer(ENGLISH * 3, "llama", vocab_size=300)
    ext = _extend(base, budget=40)
    model = tiny_model("llama", len(base), hidden=64)
    a = initialize(model, base, ext, "random", seed=1)
    b = initialize(model, base, ext, "random", seed=1)
    c = initialize(model, base, ext, "random", seed=2)
    assert torch.equal(a.input_rows, b.input_rows) and not torch.equal(a.input_rows, c.input_rows)
    w = model.get_input_embeddings().weight.detach()
    assert abs(float(a.input_rows.std()) - float(w.std())) < 0.3 * float(w.std())
    m = initialize(model, base, ext, "mean")
    assert m.provenance[0]["rule"] == "mean"


def test_sparsemax():
    z = torch.tensor([[3.0, 1.0, 0.5, -2.0], [0.1, 0.1, 0.1, 0.1]])
    p = sparsemax(z)
    torch.testing.assert_close(p.sum(-1), torch.ones(2))
    assert p[0].tolist() == [1.0, 0.0, 0.0, 0.0] and torch.allclose(p[1], torch.full((4,), 0.25))


def test_focus_ppmi_weights_convex_and_sparse(llama):
    base, ext = llama
    model = tiny_model("llama", len(base))
    for aux in ("cooc", "encoder"):
        patch = initialize(model, base, ext, "focus_ppmi", **enc_opts("focus_ppmi", aux=aux, candidates=16))
        anchored = [r for r in patch.provenance if r["rule"].startswith("focus_ppmi")]
        assert anchored
        for r in anchored:
            assert math.isclose(r["weight_sum"], 1.0, abs_tol=1e-4)
            assert all(w >= 0 for _, w in r["anchors"])
        if aux == "cooc":
            assert any(r["n_anchors"] < 16 for r in anchored)            # sparsemax leaves anchors out
    # the row is the convex combination written in the provenance (when it lists every anchor)
    w = model.get_input_embeddings().weight.detach()
    surf = {s: i for i, s in enumerate(base.batch_decode([[i] for i in range(len(base))]))}
    listed = [k for k, r in enumerate(patch.provenance) if r["rule"].startswith("focus_ppmi") and r["n_anchors"] <= 8]
    assert listed, "no focus row lists all its anchors: nothing to check the convex combination on"
    for k in listed:
        row = sum(wt * w[surf[a]] for a, wt in patch.provenance[k]["anchors"])
        torch.testing.assert_close(patch.input_rows[k], row, rtol=1e-3, atol=1e-3)


def test_wechsel_e5_top_k_and_temperature(llama):
    base, ext = llama
    model = tiny_model("llama", len(base))
    sharp = initialize(model, base, ext, "wechsel_e5", **enc_opts("wechsel_e5", top_k=3, temperature=0.01))
    flat = initialize(model, base, ext, "wechsel_e5", **enc_opts("wechsel_e5", top_k=3, temperature=10.0))
    anchored = [r for r in sharp.provenance if r["rule"].startswith("wechsel_e5")]
    assert anchored
    for r in anchored:
        assert r["n_anchors"] == 3 and math.isclose(r["weight_sum"], 1.0, abs_tol=1e-4)
    top = lambda p: np.mean([r["anchors"][0][1] for r in p.provenance if r["rule"].startswith("wechsel_e5")])  # noqa: E731
    assert top(sharp) > top(flat) and abs(top(flat) - 1 / 3) < 0.05
    cooc = initialize(model, base, ext, "wechsel_e5", **enc_opts("wechsel_e5", aux="cooc", top_k=2))
    assert any(r["rule"] == "wechsel_e5 (cooc)" and r["n_anchors"] <= 2 for r in cooc.provenance)


def test_salt_e5sentence_is_ridge_regression_on_selected_anchors(llama):
    base, ext = llama
    model = tiny_model("llama", len(base))
    enc = NgramHashEncoder()
    patch = initialize(model, base, ext, "salt_e5sentence", encoder=enc, candidates=4, min_anchors=4, ridge=0.5)
    w = model.get_input_embeddings().weight.detach()
    vocab_surf = base.batch_decode([[i] for i in range(len(base))])
    k = next(i for i, r in enumerate(patch.provenance) if r["rule"] == "salt_e5sentence" and r["n_anchors"] == 4)
    r = patch.provenance[k]
    assert all(r["rule"] != "salt_e5sentence" or r["weight_sum"] != 0 for r in patch.provenance)
    anchor_ids = [vocab_surf.index(a) for a, _ in r["anchors"]]
    A = enc.encode([vocab_surf[i].strip() for i in anchor_ids])
    x = enc.encode([r["surface"].strip()])[0]
    weights = np.linalg.solve(A @ A.T + 0.5 * np.eye(4), A @ x)
    expected = torch.tensor(weights, dtype=torch.float32) @ w[anchor_ids]
    torch.testing.assert_close(patch.input_rows[k], expected, rtol=1e-3, atol=1e-4)


# ------------------------------------------------------------------------------------------------ bxod options

def _anchored(patch):
    return [r for r in patch.provenance if "anchors" in r["rule"]]


def test_bxod_top_k_weighting_temperature(llama):
    base, ext = llama
    model = tiny_model("llama", len(base))
    soft = initialize(model, base, ext, "bxod", **enc_opts("bxod", top_k=4, use_lexicon=False, anchor_set="all"))
    assert _anchored(soft) and all(r["n_anchors"] == 4 for r in _anchored(soft))
    assert all(math.isclose(r["weight_sum"], 1.0, abs_tol=1e-4) for r in _anchored(soft))
    sparse = initialize(model, base, ext, "bxod", **enc_opts("bxod", top_k=4, weighting="sparsemax", temperature=0.5,
                                                             use_lexicon=False, anchor_set="all"))
    assert all(r["n_anchors"] <= 4 for r in _anchored(sparse)) and any(r["n_anchors"] < 4 for r in _anchored(sparse))
    hot = initialize(model, base, ext, "bxod", **enc_opts("bxod", top_k=4, temperature=100.0, use_lexicon=False,
                                                          anchor_set="all"))
    assert _anchored(hot) and all(abs(r["anchors"][0][1] - 0.25) < 0.01 for r in _anchored(hot))


def test_bxod_anchor_set_match_space_and_continuation(llama):
    base, ext = llama
    model = tiny_model("llama", len(base))
    words = initialize(model, base, ext, "bxod", **enc_opts("bxod", anchor_set="words", use_lexicon=False))
    assert _anchored(words)
    for r in _anchored(words):
        assert r["surface"].startswith(" ") and all(a.startswith(" ") for a, _ in r["anchors"])
    pieces = [r for r in words.provenance if not r["surface"].startswith(" ")]
    assert pieces and all(r["rule"] == "fvt (word-internal piece)" for r in pieces)
    cont = initialize(model, base, ext, "bxod", **enc_opts("bxod", anchor_set="all", continuation="anchor",
                                                           use_lexicon=False))
    inner = [r for r in _anchored(cont) if not r["surface"].startswith(" ")]
    assert inner and all(not a.startswith(" ") for r in inner for a, _ in r["anchors"])      # match_space
    limited = initialize(model, base, ext, "bxod", **enc_opts("bxod", anchor_set="all", max_anchors=20,
                                                              use_lexicon=False))
    assert _anchored(limited)
    assert all(a in base.batch_decode([[i] for i in range(40)]) for r in _anchored(limited) for a, _ in r["anchors"])


def test_bxod_lexicon_direct_anchoring_on_off(llama):
    base, ext = llama
    model = tiny_model("llama", len(base))
    w = model.get_input_embeddings().weight.detach()
    on = initialize(model, base, ext, "bxod", **enc_opts("bxod", lexicon_weight=0.5))
    off = initialize(model, base, ext, "bxod", **enc_opts("bxod", use_lexicon=False, query="surface"))
    hits = [k for k, r in enumerate(on.provenance) if r.get("translation")]
    assert hits, "the fixture lexicon should cover a new token such as ' kitob'"
    for k in hits:
        r = on.provenance[k]
        assert "lexicon" in r["rule"] and "translation" not in off.provenance[k]
        en_ids = base(" " + r["translation"], add_special_tokens=False)["input_ids"]
        # row = 0.5 * mean(rows of the English translation) + 0.5 * encoder anchors
        enc_part = on.input_rows[k] - 0.5 * w[en_ids].mean(0)
        assert not torch.allclose(on.input_rows[k], off.input_rows[k])
        assert torch.isfinite(enc_part).all()
    only_lex = initialize(model, base, ext, "bxod", **enc_opts("bxod", lexicon_weight=1.0))
    k = hits[0]
    en_ids = base(" " + only_lex.provenance[k]["translation"], add_special_tokens=False)["input_ids"]
    torch.testing.assert_close(only_lex.input_rows[k], w[en_ids].mean(0))
    pinned = PinnedEncoder({"book": "the"})               # the translation reads like the anchor ' the'
    query = {q: initialize(model, base, ext, "bxod", **enc_opts("bxod", query=q, lexicon_weight=0.0, encoder=pinned))
             for q in ("translation", "surface", "both")}
    hit = [k for k in hits if on.provenance[k]["translation"] == "book"][0]
    assert query["translation"].provenance[hit]["anchors"][0][0] == " the"
    assert query["surface"].provenance[hit]["anchors"][0][0] != " the"
    assert query["both"].provenance[hit]["anchors"] != query["surface"].provenance[hit]["anchors"]


def test_bxod_subtoken_weight_one_is_fvt(llama):
    base, ext = llama
    model = tiny_model("llama", len(base))
    fvt = initialize(model, base, ext, "fvt")
    mixed = initialize(model, base, ext, "bxod", **enc_opts("bxod", subtoken_weight=1.0))
    torch.testing.assert_close(mixed.input_rows, fvt.input_rows)
    table = anchor_table(initialize(model, base, ext, "bxod", **enc_opts("bxod")))
    assert list(table.columns) == ["method", "token", "rule", "translation", "anchors (weight)"] and len(table)


# ------------------------------------------------------------------------------------------------ bad input

def test_unknown_method_and_option_list_valid_ones(llama):
    base, ext = llama
    model = tiny_model("llama", len(base))
    with pytest.raises(ConfigError, match="random, mean, fvt, focus, wechsel, focus_ppmi, wechsel_e5, bxod, salt, salt_e5sentence"):
        initialize(model, base, ext, "magic")
    with pytest.raises(ConfigError, match="top_k"):
        initialize(model, base, ext, "bxod", topk=3)
    with pytest.raises(ConfigError, match="weighting"):
        initialize(model, base, ext, "bxod", weighting="argmax")
    with pytest.raises(ConfigError, match="target_texts"):
        initialize(model, base, ext, "focus_ppmi", encoder=NgramHashEncoder())
    with pytest.raises(ConfigError, match="encoder"):
        initialize(model, base, ext, "salt_e5sentence", encoder=42)
    with pytest.raises(ConfigError, match="plm"):
        initialize(model, base, ext, "salt", plm=42)


def test_extended_tokenizer_must_be_a_superset(llama):
    base, ext = llama
    other = tiny_tokenizer(UZBEK * 3, "llama", vocab_size=320)
    model = tiny_model("llama", len(base))
    with pytest.raises(ConfigError, match="keeps every base token"):
        initialize(model, base, other, "fvt")
    with pytest.raises(DataError, match="no tokens"):
        initialize(model, base, base, "fvt")


def test_mismatched_model_and_patch(llama):
    base, ext = llama
    small = tiny_model("llama", 50)
    with pytest.raises(ConfigError, match="embedding rows"):
        initialize(small, base, ext, "fvt")
    model = tiny_model("llama", len(base))
    patch = initialize(model, base, ext, "fvt")
    with pytest.raises(ConfigError, match="the model it was made for"):
        apply_patch(tiny_model("llama", len(base) + 7), patch)
    with pytest.raises(ConfigError, match="untied"):
        apply_patch(tiny_model("llama", len(base), tied=False), patch)
    with pytest.raises(ConfigError, match="base fingerprint"):
        apply_patch(model, patch, tokenizer=tiny_tokenizer(UZBEK * 3, "llama", vocab_size=300))
    with pytest.raises(ConfigError, match="base fingerprint"):            # another extension of the same base
        apply_patch(model, patch, tokenizer=_extend(base, budget=20))
    apply_patch(model, patch, tokenizer=base)
    apply_patch(model, patch, tokenizer=ext)


def test_token_without_usable_surface_falls_back(llama):
    base, _ = llama
    import copy

    ext = copy.deepcopy(base)
    ext.add_tokens(["\u200b", " kitob"])
    model = tiny_model("llama", len(base))
    patch = initialize(model, base, ext, "bxod", **enc_opts("bxod"))
    rec = {r["surface"]: r for r in patch.provenance}
    assert rec["\u200b"]["rule"] == "fvt (no usable surface form)"
    assert rec[" kitob"]["rule"].startswith("anchors") and rec[" kitob"].get("translation") == "book"


def test_encoder_missing_offline(llama, monkeypatch):
    base, ext = llama
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = tiny_model("llama", len(base))
    with pytest.raises(AssetError, match="e5-small"):
        initialize(model, base, ext, "bxod", encoder="labse")
    with pytest.raises(ConfigError, match="e5-small"):
        initialize(model, base, ext, "bxod", encoder="word2vec")
