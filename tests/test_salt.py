"""``salt`` (SALT, token-embedding regression) on tiny models with a hand-made token space."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from paper_utils.errors import ConfigError
from paper_utils.fixtures import tiny_model, tiny_tokenizer
from paper_utils.init import initialize, new_tokens
from paper_utils.init.salt import fit_ridge, local_weights
from paper_utils.init.token_space import TokenSpace, marker_form
from paper_utils.vocab import extend_tokenizer

ENGLISH = ["The quick brown fox jumps over the lazy dog.", "Please enter a valid email address.",
           "Which of the following is the capital of France?", "This field is required.",
           "Save and continue editing", "The password is too short."] * 4
UZBEK = ["Bu maydon toʻldirilishi shart.", "Toʻgʻri elektron pochta manzilini kiriting.",
         "Saqlash va tahrirlashni davom ettirish", "Parol juda qisqa.", "Kitoblar va kitobxonlar",
         "Kitob oʻqish foydali", "Maktab kitoblari", "Bu kitob juda yaxshi"] * 4
DIM = 8


@pytest.fixture(scope="module")
def tokenizers():
    base = tiny_tokenizer(ENGLISH * 3, "llama", vocab_size=300)
    ext, _ = extend_tokenizer(base, UZBEK, 40, ENGLISH, min_frequency=2)
    return base, ext


def _surfaces(tok):
    return tok.batch_decode([[i] for i in range(len(tok))])


def space_for(base, ext, new_as_pieces: int, seed: int = 0) -> tuple[TokenSpace, list[str]]:
    """Pieces: the base surfaces (the overlap) and the surfaces of the first ``new_as_pieces`` new tokens."""
    info = new_tokens(base, ext)
    special = set(base.all_special_ids)
    overlap = [marker_form(s) for i, s in enumerate(_surfaces(base)) if i not in special and s.strip()]
    extra = [marker_form(s) for s in info.surfaces[:new_as_pieces]]
    pieces = list(dict.fromkeys(overlap + extra))
    rng = np.random.default_rng(seed)
    return TokenSpace.from_pieces(pieces, rng.normal(size=(len(pieces), DIM)).astype(np.float32)), pieces


def linear_model(base, space, amap):
    """A tiny Llama whose rows of overlapping tokens are exactly ``x @ amap`` (x: their token-space vector)."""
    model = tiny_model("llama", len(base))
    w = model.get_input_embeddings().weight
    with torch.no_grad():
        for i, s in enumerate(_surfaces(base)):
            pid = space.piece_id(s)
            if pid is not None and i not in base.all_special_ids:
                w[i] = torch.as_tensor(space.vectors[pid] @ amap)
    return model


# ------------------------------------------------------------------------------------------------ the maths

def test_ridge_recovers_a_known_linear_map():
    rng = np.random.default_rng(1)
    x = torch.as_tensor(rng.normal(size=(200, DIM)), dtype=torch.float64)
    amap = torch.as_tensor(rng.normal(size=(DIM, 5)), dtype=torch.float64)
    torch.testing.assert_close(fit_ridge(x, x @ amap, 1e-9), amap, rtol=1e-6, atol=1e-6)
    shrunk = fit_ridge(x, x @ amap, 10.0)                       # a strong ridge shrinks the map
    assert shrunk.norm() < 0.5 * amap.norm()


def test_local_weights_are_per_query_least_squares():
    rng = np.random.default_rng(2)
    a = torch.as_tensor(rng.normal(size=(3, 4, DIM)), dtype=torch.float64)      # 3 queries, 4 neighbours each
    q = torch.as_tensor(rng.normal(size=(3, DIM)), dtype=torch.float64)
    w = local_weights(a, q, 0.1)
    for b in range(3):
        gram = a[b] @ a[b].T
        lam = 0.1 * gram.diagonal().mean()
        torch.testing.assert_close(w[b], torch.linalg.solve(gram + lam * torch.eye(4, dtype=gram.dtype), a[b] @ q[b]))


# ------------------------------------------------------------------------------------------------ salt

def test_new_token_that_is_a_piece_gets_exactly_the_mapped_vector(tokenizers):
    base, ext = tokenizers
    space, _ = space_for(base, ext, new_as_pieces=10)
    amap = np.random.default_rng(3).normal(size=(DIM, 64)).astype(np.float32)
    model = linear_model(base, space, amap)
    patch = initialize(model, base, ext, "salt", plm=space, regression="global", ridge=1e-8)
    info = new_tokens(base, ext)
    for r in range(10):
        x = space.vectors[space.piece_id(info.surfaces[r])]
        assert patch.provenance[r]["rule"] == "salt (e5 piece)"
        np.testing.assert_allclose(patch.input_rows[r].numpy(), x @ amap, rtol=1e-3, atol=1e-3)
    local = initialize(model, base, ext, "salt", plm=space, top_k=16, ridge=1e-8)
    for r in range(10):                                          # 16 neighbours span the 8-dim space: exact too
        x = space.vectors[space.piece_id(info.surfaces[r])]
        np.testing.assert_allclose(local.input_rows[r].numpy(), x @ amap, rtol=1e-3, atol=1e-3)
        assert local.provenance[r]["n_anchors"] == 16


def test_other_new_tokens_use_the_mean_of_their_pieces(tokenizers):
    base, ext = tokenizers
    space, _ = space_for(base, ext, new_as_pieces=0)
    amap = np.random.default_rng(4).normal(size=(DIM, 64)).astype(np.float32)
    model = linear_model(base, space, amap)
    patch = initialize(model, base, ext, "salt", plm=space, regression="global", ridge=1e-8)
    info = new_tokens(base, ext)
    for r, surface in enumerate(info.surfaces):
        rule = patch.provenance[r]["rule"]
        if rule == "salt (e5 pieces)":
            x = np.asarray(space.vectors[space.segment(surface)]).mean(0)
            np.testing.assert_allclose(patch.input_rows[r].numpy(), x @ amap, rtol=1e-3, atol=1e-3)
        else:
            assert rule.startswith("fvt (fallback")
    assert sum(r["rule"] == "salt (e5 pieces)" for r in patch.provenance) >= len(info.ids) // 2


def test_local_is_a_combination_of_the_nearest_overlapping_rows(tokenizers):
    base, ext = tokenizers
    space, _ = space_for(base, ext, new_as_pieces=5)
    model = tiny_model("llama", len(base))
    patch = initialize(model, base, ext, "salt", plm=space, top_k=4, ridge=0.5)
    again = initialize(model, base, ext, "salt", plm=space, top_k=4, ridge=0.5)
    torch.testing.assert_close(patch.input_rows, again.input_rows, rtol=0, atol=0)        # deterministic
    w = model.get_input_embeddings().weight.detach()
    surf = _surfaces(base)
    rec = patch.provenance[0]
    ids = [surf.index(a) for a, _ in rec["anchors"]]
    xs = np.stack([space.vectors[space.piece_id(surf[i])] for i in ids])
    x = space.vectors[space.piece_id(rec["surface"])]
    unit = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)                        # noqa: E731
    overlap_ids = [i for i, s in enumerate(surf) if i not in base.all_special_ids and space.piece_id(s) is not None]
    sims = np.stack([unit(space.vectors[space.piece_id(surf[i])]) for i in overlap_ids]) @ unit(x)
    assert sorted(sims, reverse=True)[3] <= min(unit(xs) @ unit(x)) + 1e-6                # the 4 most similar
    gram = xs @ xs.T
    weights = np.linalg.solve(gram + 0.5 * np.trace(gram) / 4 * np.eye(4), xs @ x)
    torch.testing.assert_close(patch.input_rows[0], torch.tensor(weights, dtype=torch.float32) @ w[ids],
                               rtol=1e-3, atol=1e-4)


def test_untied_head_gets_its_own_regression(tokenizers):
    base, ext = tokenizers
    space, _ = space_for(base, ext, new_as_pieces=3)
    model = tiny_model("llama", len(base), tied=False)
    for regression in ("local", "global"):
        patch = initialize(model, base, ext, "salt", plm=space, regression=regression, top_k=8)
        assert patch.output_rows is not None and patch.output_rows.shape == patch.input_rows.shape
        assert not torch.allclose(patch.output_rows, patch.input_rows)


# ------------------------------------------------------------------------------------------------ bad input

def test_overlap_too_small_names_the_parameter(tokenizers):
    base, ext = tokenizers
    space = TokenSpace.from_pieces(["▁the", "▁fox", "e"], np.eye(3, DIM, dtype=np.float32))
    model = tiny_model("llama", len(base))
    with pytest.raises(ConfigError, match="top_k") as err:
        initialize(model, base, ext, "salt", plm=space, top_k=16)
    assert err.value.parameter == "top_k" and "use top_k <=" in err.value.fix
    with pytest.raises(ConfigError, match="regression='local'") as err:
        initialize(model, base, ext, "salt", plm=space, regression="global")
    assert err.value.parameter == "regression"
    with pytest.raises(ConfigError, match="use one of: local, global"):
        initialize(model, base, ext, "salt", plm=space, regression="quadratic")
    with pytest.raises(ConfigError, match="plm"):
        initialize(model, base, ext, "salt", plm=42)
    with pytest.raises(ConfigError, match="ridge"):
        initialize(model, base, ext, "salt", plm=space, ridge=0)
