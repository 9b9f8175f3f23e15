"""The initializers behind :func:`paper_utils.embedding_init.initialize` (batched torch; see that module).

Example::

    >>> import torch
    >>> from paper_utils.init_methods import sparsemax
    >>> sparsemax(torch.tensor([[2.0, 1.0, -1.0]])).tolist()      # sparse, sums to 1
    [[1.0, 0.0, 0.0]]

Every method but ``random`` returns a :class:`Combination`: for each new token, base ids with
weights (plus a weight on the mean of all base rows for fallbacks). Rows are computed from it for
the input matrix and, with the same weights, for an untied output matrix. Similarities are chunked
matrix products with ``topk``; nothing loops in Python over the base vocabulary except building
the anchor strings once.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from .errors import ConfigError, DataError
from .registry import initializer, register_initializer
from .surfaces import surface_forms

CHUNK_ELEMENTS = 1 << 25          # similarity entries per chunk (~128 MiB of float32)
_APOSTROPHES = re.compile(r"[ʻʼ’‘`´ʹ']")


# ------------------------------------------------------------------------------------------------
# building blocks

def sparsemax(z):
    """Sparsemax along the last dimension (Martins & Astudillo 2016): a sparse probability vector."""
    import torch

    zs, _ = torch.sort(z, dim=-1, descending=True)
    k = torch.arange(1, z.shape[-1] + 1, device=z.device, dtype=z.dtype)
    cssv = zs.cumsum(-1) - 1
    support = (zs - cssv / k) > 0
    k_z = support.sum(-1, keepdim=True).clamp(min=1)
    tau = cssv.gather(-1, k_z - 1) / k_z.to(z.dtype)
    return torch.clamp(z - tau, min=0)


@dataclass
class Combination:
    """Per new token: ``row = sum_k weight[k] * W[index[k]] + mean_weight * mean(W)``."""

    index: Any                    # LongTensor (n, K), base ids
    weight: Any                   # Tensor (n, K); padding entries have weight 0
    mean_weight: Any              # Tensor (n,)
    rule: list[str] = field(default_factory=list)      # per token, e.g. "fvt", "anchors", "fvt (fallback: ...)"

    @property
    def n(self) -> int:
        return int(self.index.shape[0])


def _padded(lists: Sequence[Sequence[int]], weights: Sequence[Sequence[float]], device):
    import torch

    width = max([1] + [len(x) for x in lists])
    index = torch.zeros((len(lists), width), dtype=torch.long)
    weight = torch.zeros((len(lists), width), dtype=torch.float32)
    for r, (ids, ws) in enumerate(zip(lists, weights)):
        if ids:
            index[r, :len(ids)] = torch.tensor(list(ids), dtype=torch.long)
            weight[r, :len(ids)] = torch.tensor(list(ws), dtype=torch.float32)
    return index.to(device), weight.to(device)


def uniform(pieces: Sequence[Sequence[int]], device, rule: str) -> Combination:
    """Mean of each token's pieces; tokens without pieces fall back to the mean of all rows."""
    import torch

    index, weight = _padded(pieces, [[1.0 / len(p)] * len(p) if p else [] for p in pieces], device)
    empty = torch.tensor([not p for p in pieces], device=device)
    return Combination(index, weight, empty.float(),
                       [rule if p else "mean (fallback: no sub-tokens)" for p in pieces])


def blend(parts: Sequence[tuple[Combination, Any]]) -> Combination:
    """``sum_i share_i * part_i`` with per-token shares (tensors of shape (n,), or floats)."""
    import torch

    n = parts[0][0].n
    device = parts[0][0].index.device
    shares = [s if torch.is_tensor(s) else torch.full((n,), float(s), device=device) for _, s in parts]
    index = torch.cat([c.index for c, _ in parts], dim=1)
    weight = torch.cat([c.weight * s[:, None] for (c, _), s in zip(parts, shares)], dim=1)
    mean_weight = sum(c.mean_weight * s for (c, _), s in zip(parts, shares))
    rule = []
    for r in range(n):
        used = [c.rule[r] for (c, _), s in zip(parts, shares) if float(s[r]) > 0 and c.rule]
        rule.append(" + ".join(dict.fromkeys(used)) if used else "")
    return Combination(index, weight, mean_weight, rule)


def rows_of(comb: Combination, matrix, chunk: int = 1024):
    """Rows ``(n, hidden)`` of a combination over ``matrix`` (base rows only)."""
    import torch

    mean = matrix.mean(0)
    out = torch.empty((comb.n, matrix.shape[1]), dtype=matrix.dtype, device=matrix.device)
    for s in range(0, comb.n, chunk):
        idx, w = comb.index[s:s + chunk], comb.weight[s:s + chunk].to(matrix.dtype)
        out[s:s + chunk] = torch.einsum("nk,nkd->nd", w, matrix[idx]) + comb.mean_weight[s:s + chunk, None].to(matrix.dtype) * mean
    return out


def topk_similar(queries, anchors, k: int):
    """``(values, indices)`` of the ``k`` most similar anchors (dot products) for each query, chunked."""
    import torch

    n, m = queries.shape[0], anchors.shape[0]
    k = min(k, m)
    values = torch.empty((n, k), dtype=torch.float32, device=queries.device)
    indices = torch.empty((n, k), dtype=torch.long, device=queries.device)
    step = max(1, CHUNK_ELEMENTS // max(m, 1))
    for s in range(0, n, step):
        v, i = (queries[s:s + step] @ anchors.T).topk(k, dim=1)
        values[s:s + step], indices[s:s + step] = v, i
    return values, indices


def weigh(values, weighting: str, temperature: float):
    import torch

    z = values / temperature
    return torch.softmax(z, dim=-1) if weighting == "softmax" else sparsemax(z)


# ------------------------------------------------------------------------------------------------
# context shared by the methods

@dataclass
class Context:
    info: Any                      # embedding_init.NewTokens
    base_tokenizer: Any
    extended_tokenizer: Any
    w_in: Any                      # base rows only (base_vocab_size, hidden), float32
    w_out: Any                     # same for an untied head, else None
    device: Any
    _base: dict = field(default_factory=dict)

    def base_surfaces(self) -> list[str]:
        """Surface form of every base id (index = id)."""
        if "surfaces" not in self._base:
            tokens = self.base_tokenizer.convert_ids_to_tokens(list(range(self.info.base_vocab_size)))
            tokens = [t if t is not None else "" for t in tokens]
            added = {i: a.content for i, a in getattr(self.base_tokenizer, "added_tokens_decoder", {}).items()}
            surfaces = surface_forms(self.base_tokenizer, tokens)
            self._base["surfaces"] = [added.get(i, s) for i, s in enumerate(surfaces)]
            self._base["special"] = set(self.base_tokenizer.all_special_ids) | set(added)
        return self._base["surfaces"]

    def special_ids(self) -> set[int]:
        self.base_surfaces()
        return self._base["special"]


def usable(text: str) -> bool:
    """A surface form an encoder can read: non-empty, printable, no broken UTF-8."""
    return bool(text) and "\ufffd" not in text and text.isprintable()


def _is_alpha(text: str) -> bool:
    core = _APOSTROPHES.sub("", text).replace("-", "")
    return len(text) >= 2 and core.isalpha()


def anchor_ids(ctx: Context, anchor_set: str, max_anchors: int | None) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Base ids usable as anchors, their encoder texts and a word-initial flag (lowest ids first)."""
    surfaces = ctx.base_surfaces()
    special = ctx.special_ids()
    ids, texts, initial = [], [], []
    for i, s in enumerate(surfaces):
        text = s.strip()
        if i in special or not usable(text):
            continue
        word_initial = s[:1].isspace()
        if anchor_set == "words" and not (word_initial and _is_alpha(text)):
            continue
        if anchor_set == "alpha" and not _is_alpha(text):
            continue
        ids.append(i)
        texts.append(text)
        initial.append(word_initial)
        if max_anchors and len(ids) >= max_anchors:
            break
    if not ids:
        raise DataError(f"anchor_set={anchor_set!r} leaves no base token to anchor on; use anchor_set='all'")
    return np.array(ids), texts, np.array(initial)


def resolve_encoder(encoder):
    if isinstance(encoder, str):
        from .encoders import load_encoder

        return load_encoder(encoder)
    if not hasattr(encoder, "encode"):
        raise ConfigError("encoder", type(encoder).__name__, "pass an encoder name ('e5-small', 'labse') or an object "
                                                               "with encode(list[str]) -> array")
    return encoder


def encode(encoder, texts: Sequence[str], device):
    import torch

    vecs = np.asarray(encoder.encode(list(texts)), dtype=np.float32)
    if vecs.shape[0] != len(texts):
        raise DataError(f"encoder returned {vecs.shape[0]} vectors for {len(texts)} texts")
    vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    return torch.from_numpy(vecs).to(device)


def normalize_word(text: str) -> str:
    """Lexicon key: NFKC, case-folded, every apostrophe form as ``'``."""
    return _APOSTROPHES.sub("'", unicodedata.normalize("NFKC", text)).casefold().strip()


def lexicon_map(lexicon) -> dict[str, str]:
    """``{normalized target word: English}`` from a mapping, (target, en) pairs or a Dataset."""
    if lexicon is None:
        return {}
    if hasattr(lexicon, "column_names"):
        pairs = zip(lexicon["target"], lexicon["en"])
    elif isinstance(lexicon, Mapping):
        pairs = lexicon.items()
    else:
        pairs = lexicon
    out: dict[str, str] = {}
    for target, en in pairs:
        if target and en and en.strip():
            out.setdefault(normalize_word(target), en.strip())
    return out


# ------------------------------------------------------------------------------------------------
# auxiliary co-occurrence space (FOCUS's fastText stand-in)

def cooc_vectors(tokenizer, texts: Sequence[str], dim: int = 100, window: int = 5, min_count: int = 2):
    """PPMI-SVD vectors of the tokens of ``texts`` under ``tokenizer``: ``(token ids, unit vectors)``.

    Co-occurrence within ``window`` tokens (weight 1/distance, both directions, not across texts),
    PPMI with context-distribution smoothing 0.75 (Levy et al. 2015), truncated SVD with symmetric
    weighting. Only tokens seen at least ``min_count`` times get a vector.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import svds

    texts = [t for t in texts if t and t.strip()]
    if not texts:
        raise DataError("target_texts is empty: co-occurrence vectors need target-language text")
    seqs = tokenizer(texts, add_special_tokens=False)["input_ids"]
    flat = np.concatenate([np.asarray(s, dtype=np.int64) for s in seqs if len(s)])
    doc = np.repeat(np.arange(len(seqs)), [len(s) for s in seqs])
    counts = np.bincount(flat)
    kept = np.flatnonzero(counts >= min_count)
    if len(kept) < 3:
        raise DataError(f"only {len(kept)} tokens occur >= {min_count} times in target_texts; pass more text")
    pos = np.full(counts.shape[0], -1)
    pos[kept] = np.arange(len(kept))
    rows, cols, vals = [], [], []
    for o in range(1, window + 1):
        a, b = flat[:-o], flat[o:]
        ok = (doc[:-o] == doc[o:]) & (pos[a] >= 0) & (pos[b] >= 0)
        pa, pb = pos[a[ok]], pos[b[ok]]
        rows += [pa, pb]
        cols += [pb, pa]
        vals += [np.full(len(pa), 1.0 / o)] * 2
    n = len(kept)
    m = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)).tocsr()
    m.sum_duplicates()
    total = m.sum()
    row_sum = np.asarray(m.sum(1)).ravel()
    ctx = np.asarray(m.sum(0)).ravel() ** 0.75
    ctx = ctx / ctx.sum()
    coo = m.tocoo()
    pmi = np.log((coo.data / total) / ((row_sum[coo.row] / total) * ctx[coo.col]))
    keep = pmi > 0
    ppmi = coo_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=(n, n)).tocsr()
    k = max(1, min(dim, n - 2))
    u, s, _ = svds(ppmi.astype(np.float64), k=k, random_state=0)
    vecs = (u * np.sqrt(s)).astype(np.float32)
    vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    return kept, vecs


# ------------------------------------------------------------------------------------------------
# methods

def _fvt(ctx: Context, rule: str = "fvt") -> Combination:
    return uniform(ctx.info.pieces, ctx.device, rule)


def _mean(ctx: Context) -> Combination:
    import torch

    n = len(ctx.info.ids)
    return Combination(torch.zeros((n, 1), dtype=torch.long, device=ctx.device),
                       torch.zeros((n, 1), device=ctx.device), torch.ones(n, device=ctx.device), ["mean"] * n)


def _random_rows(ctx: Context, seed: int):
    import torch

    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    n = len(ctx.info.ids)
    out = []
    for w in (ctx.w_in, ctx.w_out):
        if w is None:
            out.append(None)
            continue
        mu, sd = w.mean(0).cpu(), w.std(0).cpu()
        out.append((torch.randn((n, w.shape[1]), generator=gen) * sd + mu).to(w.device))
    return out


def _query_texts(ctx: Context) -> tuple[list[str], np.ndarray]:
    texts = [s.strip() for s in ctx.info.surfaces]
    return texts, np.array([usable(t) for t in texts])


def _anchored(ctx: Context, queries, q_rows: np.ndarray, anchor_vecs, a_ids: np.ndarray, *, k: int,
              weighting: str, temperature: float, groups: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
              rule: str) -> Combination:
    """Top-k similarity combination for the rows ``q_rows`` of the new tokens (others get weight 0)."""
    import torch

    n = len(ctx.info.ids)
    k_eff = min(k, len(a_ids))
    index = torch.zeros((n, k_eff), dtype=torch.long, device=ctx.device)
    weight = torch.zeros((n, k_eff), device=ctx.device)
    a_ids_t = torch.as_tensor(a_ids, device=ctx.device)
    groups = groups or [(np.ones(len(q_rows), dtype=bool), np.ones(len(a_ids), dtype=bool))]
    for q_mask, a_mask in groups:
        sel = np.flatnonzero(q_mask)
        if not len(sel):
            continue
        if not a_mask.any():
            a_mask = np.ones(len(a_ids), dtype=bool)
        a_sel = np.flatnonzero(a_mask)
        vals, idx = topk_similar(queries[sel], anchor_vecs[a_sel], k_eff)
        w = weigh(vals, weighting, temperature)
        rows = torch.as_tensor(q_rows[sel], device=ctx.device)
        kk = vals.shape[1]
        index[rows, :kk] = a_ids_t[torch.as_tensor(a_sel, device=ctx.device)[idx]]
        weight[rows, :kk] = w
    rules = [""] * n
    for r in q_rows:
        rules[int(r)] = rule
    return Combination(index, weight, torch.zeros(n, device=ctx.device), rules)


def _with_fallback(ctx: Context, comb: Combination, covered: np.ndarray, reason: str) -> Combination:
    """Rows not ``covered`` take FVT (recorded as a fallback)."""
    import torch

    cov = torch.as_tensor(covered, dtype=torch.float32, device=ctx.device)
    return blend([(comb, cov), (_fvt(ctx, f"fvt (fallback: {reason})"), 1 - cov)])


def _encoder_space(ctx: Context, opts: Mapping[str, Any]):
    encoder = resolve_encoder(opts["encoder"])
    a_ids, a_texts, a_initial = anchor_ids(ctx, opts["anchor_set"], opts["max_anchors"])
    return encoder, a_ids, encode(encoder, a_texts, ctx.device), a_initial


def _cooc_space(ctx: Context, opts: Mapping[str, Any]):
    import torch

    ids, vecs = cooc_vectors(ctx.extended_tokenizer, opts["target_texts"], opts["dim"], opts["window"], opts["min_count"])
    special = ctx.special_ids()
    base = np.array([i < ctx.info.base_vocab_size and int(i) not in special for i in ids], dtype=bool)
    if not base.any():
        raise DataError("no base token occurs in target_texts often enough to serve as an anchor; pass more text")
    where = {int(i): r for r, i in enumerate(ids)}
    vecs_t = torch.from_numpy(vecs).to(ctx.device)
    rows = np.array([where.get(i, -1) for i in ctx.info.ids])
    return ids[base], vecs_t[torch.as_tensor(np.flatnonzero(base), device=ctx.device)], rows, vecs_t


def _similarity_method(ctx: Context, opts: Mapping[str, Any], weighting: str, k: int, name: str) -> Combination:
    """FOCUS (sparsemax) and WECHSEL (top-k softmax) over the chosen auxiliary space."""
    import torch

    if opts["aux"] == "cooc":
        a_ids, a_vecs, rows, all_vecs = _cooc_space(ctx, opts)
        covered = rows >= 0
        q_rows = np.flatnonzero(covered)
        queries = all_vecs[torch.as_tensor(rows[covered], device=ctx.device)]
        reason = "token not in the target text"
    else:
        _, a_ids, a_vecs, _ = _encoder_space(ctx, opts)
        texts, covered = _query_texts(ctx)
        q_rows = np.flatnonzero(covered)
        encoder = resolve_encoder(opts["encoder"])
        queries = encode(encoder, [texts[r] for r in q_rows], ctx.device)
        reason = "no usable surface form"
    comb = _anchored(ctx, queries, q_rows, a_vecs, a_ids, k=k, weighting=weighting,
                     temperature=opts["temperature"], rule=f"{name} ({opts['aux']})")
    return _with_fallback(ctx, comb, covered, reason)


def _bxod(ctx: Context, opts: Mapping[str, Any]) -> Combination:
    import torch

    encoder, a_ids, a_vecs, a_initial = _encoder_space(ctx, opts)
    texts, ok = _query_texts(ctx)
    initial = np.array(ctx.info.word_initial)
    anchored = ok & (initial | (opts["continuation"] == "anchor"))
    lex = lexicon_map(opts["lexicon"]) if opts["use_lexicon"] or opts["query"] != "surface" else {}
    translation = [lex.get(normalize_word(t)) if a and w else None
                   for t, a, w in zip(texts, anchored, initial)]
    q_rows = np.flatnonzero(anchored)
    queries = encode(encoder, [texts[r] for r in q_rows], ctx.device)
    hit_rows = [k for k, r in enumerate(q_rows) if translation[r]]
    if hit_rows and opts["query"] != "surface":
        t_vecs = encode(encoder, [translation[q_rows[k]] for k in hit_rows], ctx.device)
        hr = torch.as_tensor(hit_rows, device=ctx.device)
        queries[hr] = t_vecs if opts["query"] == "translation" else torch.nn.functional.normalize(queries[hr] + t_vecs, dim=-1)
    groups = None
    if opts["match_space"]:
        q_init = initial[q_rows]
        groups = [(q_init, a_initial), (~q_init, ~a_initial)]
    comb = _anchored(ctx, queries, q_rows, a_vecs, a_ids, k=opts["top_k"], weighting=opts["weighting"],
                     temperature=opts["temperature"], groups=groups, rule="anchors")
    n = len(ctx.info.ids)
    lw = torch.zeros(n, device=ctx.device)
    if opts["use_lexicon"] and any(translation):
        rows = [r for r in range(n) if translation[r]]
        texts_en = [(" " if initial[r] else "") + translation[r] for r in rows]
        pieces_en = ctx.base_tokenizer(texts_en, add_special_tokens=False)["input_ids"]
        pieces = [[] for _ in range(n)]
        for r, p in zip(rows, pieces_en):
            pieces[r] = list(p)
        lex_comb = uniform(pieces, ctx.device, "lexicon")
        lex_comb.mean_weight = torch.zeros(n, device=ctx.device)      # rows without a hit get share 0
        lw[torch.as_tensor(rows, device=ctx.device)] = float(opts["lexicon_weight"])
        comb = blend([(comb, 1 - lw), (lex_comb, lw)])
    reasons = np.where(ok, "word-internal piece", "no usable surface form")
    cov = torch.as_tensor(anchored, dtype=torch.float32, device=ctx.device)
    sw = float(opts["subtoken_weight"])
    fvt = _fvt(ctx, "fvt")
    fallback = Combination(fvt.index, fvt.weight, fvt.mean_weight,
                           [r if anchored[i] else f"fvt ({reasons[i]})" for i, r in enumerate(fvt.rule)])
    out = blend([(comb, cov * (1 - sw)), (fallback, 1 - cov * (1 - sw))])
    out.translation = translation                                      # type: ignore[attr-defined]
    return out


def _salt(ctx: Context, opts: Mapping[str, Any]) -> Combination:
    import torch

    encoder, a_ids, a_vecs, _ = _encoder_space(ctx, opts)
    texts, ok = _query_texts(ctx)
    q_rows = np.flatnonzero(ok)
    n = len(ctx.info.ids)
    c = min(opts["candidates"], len(a_ids))
    index = torch.zeros((n, c), dtype=torch.long, device=ctx.device)
    weight = torch.zeros((n, c), device=ctx.device)
    a_ids_t = torch.as_tensor(a_ids, device=ctx.device)
    queries = encode(encoder, [texts[r] for r in q_rows], ctx.device)
    vals, idx = topk_similar(queries, a_vecs, c)
    rank = torch.arange(c, device=ctx.device)
    step = 512
    for s in range(0, len(q_rows), step):
        v, ix = vals[s:s + step], idx[s:s + step]
        mask = (sparsemax(v / opts["temperature"]) > 0) | (rank < min(opts["min_anchors"], c))
        m = mask.float()
        A = a_vecs[ix]                                               # (b, c, q)
        K = A @ A.transpose(1, 2) * (m[:, :, None] * m[:, None, :])
        K = K + torch.diag_embed(opts["ridge"] + (1 - m))
        w = torch.linalg.solve(K, (v * m).unsqueeze(-1)).squeeze(-1) * m
        rows = torch.as_tensor(q_rows[s:s + step], device=ctx.device)
        index[rows] = a_ids_t[ix]
        weight[rows] = w
    covered = ok.copy()
    covered[ok] = (weight[torch.as_tensor(q_rows, device=ctx.device)].abs().sum(-1) > 1e-6).cpu().numpy()
    rules = ["salt" if o else "" for o in covered]
    comb = Combination(index, weight, torch.zeros(n, device=ctx.device), rules)
    return _with_fallback(ctx, comb, covered, "no usable surface form or no similar anchor")


def provenance(ctx: Context, comb: Combination, top: int = 8, translation=None) -> list[dict]:
    """Per-token record: id, token, surface, rule, the ``top`` anchors by |weight| (surface, weight)."""
    surfaces = ctx.base_surfaces()
    index, weight, mean_w = comb.index.tolist(), comb.weight.tolist(), comb.mean_weight.tolist()
    out = []
    for r, (tid, tok, surf) in enumerate(zip(ctx.info.ids, ctx.info.tokens, ctx.info.surfaces)):
        agg: dict[int, float] = {}
        for i, w in zip(index[r], weight[r]):
            if w != 0:
                agg[i] = agg.get(i, 0.0) + w
        anchors = sorted(agg.items(), key=lambda kv: -abs(kv[1]))[:top]
        rec = {"id": tid, "token": tok, "surface": surf, "rule": comb.rule[r] if comb.rule else "",
               "anchors": [[surfaces[i], round(w, 4)] for i, w in anchors], "n_anchors": len(agg),
               "weight_sum": round(sum(agg.values()) + mean_w[r], 6)}
        if mean_w[r]:
            rec["anchors"].append(["<mean of all rows>", round(mean_w[r], 4)])
        if translation is not None and translation[r]:
            rec["translation"] = translation[r]
        out.append(rec)
    return out


def _rows_and_provenance(ctx: Context, comb: Combination):
    rows_in = rows_of(comb, ctx.w_in)
    rows_out = None if ctx.w_out is None else rows_of(comb, ctx.w_out)
    return rows_in, rows_out, provenance(ctx, comb, translation=getattr(comb, "translation", None))


# ------------------------------------------------------------------------------------------------
# the registered initializers: every option with its default. ``encoder`` is a name for
# ``paper_utils.encoders.load_encoder`` or any object with ``encode(list[str]) -> (n, d) array``.

@register_initializer("random", options={"seed": 0, "device": None},
                      summary="normal draws with the per-dimension mean and std of the base rows")
def _run_random(ctx: Context, opts: Mapping[str, Any]):
    rows_in, rows_out = _random_rows(ctx, opts["seed"])
    prov = [{"id": i, "token": t, "surface": s, "rule": "random", "anchors": []}
            for i, t, s in zip(ctx.info.ids, ctx.info.tokens, ctx.info.surfaces)]
    return rows_in, rows_out, prov


@register_initializer("mean", options={"device": None}, summary="mean of all base rows (Hewitt 2021)")
def _run_mean(ctx: Context, opts: Mapping[str, Any]):
    return _rows_and_provenance(ctx, _mean(ctx))


@register_initializer("fvt", options={"device": None}, summary="mean of the sub-token rows (Gee et al. 2022)")
def _run_fvt(ctx: Context, opts: Mapping[str, Any]):
    return _rows_and_provenance(ctx, _fvt(ctx))


@register_initializer("focus", data=("encoder", "target_texts"),
                      options={"aux": "cooc", "target_texts": None, "encoder": "e5-small", "anchor_set": "alpha",
                               "max_anchors": None, "candidates": 64, "temperature": 1.0, "dim": 100, "window": 5,
                               "min_count": 2, "device": None},
                      summary="FOCUS-style sparsemax over overlapping tokens (PPMI-SVD stand-in for fastText)")
def _run_focus(ctx: Context, opts: Mapping[str, Any]):
    return _rows_and_provenance(ctx, _similarity_method(ctx, opts, "sparsemax", opts["candidates"], "focus"))


@register_initializer("wechsel", data=("encoder", "target_texts"),
                      options={"aux": "encoder", "target_texts": None, "encoder": "e5-small", "anchor_set": "alpha",
                               "max_anchors": None, "top_k": 10, "temperature": 0.1, "dim": 100, "window": 5,
                               "min_count": 2, "device": None},
                      summary="WECHSEL-style top-k softmax over encoder similarities (no bilingual dictionary)")
def _run_wechsel(ctx: Context, opts: Mapping[str, Any]):
    return _rows_and_provenance(ctx, _similarity_method(ctx, opts, "softmax", opts["top_k"], "wechsel"))


@register_initializer("bxod", data=("encoder", "lexicon"),
                      options={"encoder": "e5-small", "anchor_set": "words", "max_anchors": None, "top_k": 8,
                               "weighting": "softmax", "temperature": 0.05, "lexicon": None, "use_lexicon": True,
                               "lexicon_weight": 0.5, "query": "both", "continuation": "fvt", "match_space": True,
                               "subtoken_weight": 0.0, "device": None},
                      summary="bilingual semantic anchoring (a reconstruction of the BXOD paper's description)")
def _run_bxod(ctx: Context, opts: Mapping[str, Any]):
    return _rows_and_provenance(ctx, _bxod(ctx, opts))


@register_initializer("salt", data=("encoder",),
                      options={"encoder": "e5-small", "anchor_set": "alpha", "max_anchors": None, "candidates": 32,
                               "min_anchors": 8, "temperature": 0.05, "ridge": 0.1, "device": None},
                      summary="SALT-style per-token ridge regression from encoder space to embedding space")
def _run_salt(ctx: Context, opts: Mapping[str, Any]):
    return _rows_and_provenance(ctx, _salt(ctx, opts))


def run(method: str, ctx: Context, opts: Mapping[str, Any]):
    """``(input_rows, output_rows_or_None, provenance)`` for ``method`` (options already checked)."""
    return initializer(method).run(ctx, opts)
