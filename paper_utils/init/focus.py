"""``focus``: FOCUS (Dobler & de Melo 2023) as the published ``deepfocus`` 1.0.1 runs it, with fastText from gensim.

Example::

    >>> from paper_utils.registry import initializer
    >>> import paper_utils.init                       # registers the methods
    >>> o = initializer("focus").options
    >>> o["epochs"], o["dim"], o["min_count"], o["model"], o["fallback"]
    (3, 100, 10, 'cbow', 'random')

As ``deepfocus.FOCUS(..., auxiliary_embedding_mode="fasttext-tokenlevel")``:

1. the target training text is tokenized with the **extended** tokenizer and fastText (CBOW, negative 10,
   3 epochs, dim 100, ``min_count`` 10: deepfocus's defaults) is trained on the token strings
   (:mod:`paper_utils.init.static_vectors`);
2. the anchors are the overlapping tokens (base tokens, all kept by the extension) that have a fastText
   vector (seen ``min_count`` times);
3. each new token with a fastText vector gets sparsemax over its cosine similarities to *every* anchor
   (exact, no candidate cut-off, no temperature) and the convex combination of those anchors' base rows;
4. a new token without a fastText vector gets a draw from N(mean, std) of the base rows (per dimension,
   ``torch.Generator`` seeded with ``seed``, one draw per token in id order: deepfocus's fill), or,
   with ``fallback="fvt"`` (a labelled option, not the paper's), the mean of its sub-token rows.

``seed`` seeds both fastText (gensim) and the fill. deepfocus also copies the row of a base token whose decoded form equals a new token's; the extension here
adds no such token (the peer benchmark counted none), so that step is absent.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..errors import ConfigError, DataError
from ..registry import register_initializer
from .common import Combination, Context, provenance, rows_of, sparsemax, with_fallback
from .static_vectors import fasttext_options, train_static_vectors

RANDOM_RULE = "random N(mean, std): no fastText vector"
CHUNK_ELEMENTS = 1 << 24


def sparsemax_all(queries, anchors, chunk_elements: int = CHUNK_ELEMENTS):
    """Exact sparsemax over the cosine similarities of each query to *all* anchors: ``(index, weight)`` padded.

    Example::

        >>> import torch
        >>> q = torch.tensor([[1.0, 0.0]]); a = torch.tensor([[1.0, 0.0], [0.8, 0.6], [-1.0, 0.0]])
        >>> index, weight = sparsemax_all(q, a)      # sims 1.0, 0.8, -1.0 -> tau 0.4: weights 0.6, 0.4
        >>> index.tolist(), [round(w, 4) for w in weight[0].tolist()]
        ([[0, 1]], [0.6, 0.4])
    """
    import torch

    q = torch.nn.functional.normalize(queries, dim=-1)
    a = torch.nn.functional.normalize(anchors, dim=-1)
    step = max(1, chunk_elements // max(a.shape[0], 1))
    parts = []
    for s in range(0, q.shape[0], step):
        w = sparsemax(q[s:s + step] @ a.T)
        k = int((w > 0).sum(-1).max().clamp(min=1))
        parts.append(w.topk(k, dim=-1))
    width = max([1] + [p.values.shape[1] for p in parts])
    index = torch.zeros((q.shape[0], width), dtype=torch.long, device=q.device)
    weight = torch.zeros((q.shape[0], width), device=q.device)
    s = 0
    for p in parts:
        n, k = p.values.shape
        index[s:s + n, :k], weight[s:s + n, :k] = p.indices, p.values
        s += n
    return index, weight


def deepfocus_random_rows(matrix, count: int, seed: int):
    """``count`` draws N(mean, std) of ``matrix``'s rows, as deepfocus: one ``torch.normal`` per token, seeded."""
    import torch

    m = matrix.detach().float().cpu()
    mean, std = m.mean(0), m.std(0)
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    rows = [torch.normal(mean, std, generator=gen) for _ in range(count)]
    return (torch.stack(rows) if rows else torch.zeros((0, m.shape[1]))).to(matrix.device, matrix.dtype)


def token_strings(tokenizer, texts) -> list[list[str]]:
    """Each text as the extended tokenizer's token strings (deepfocus: ``tokenizer.tokenize(text)``)."""
    texts = [t for t in texts if t and t.strip()]
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []
    return [tokenizer.convert_ids_to_tokens(s) for s in ids]


def _focus(ctx: Context, opts: Mapping[str, Any]) -> tuple[Combination, np.ndarray]:
    import torch

    if not opts["target_texts"]:
        raise ConfigError("target_texts", opts["target_texts"], "FOCUS trains fastText on target-language text: "
                                                                "pass target_texts=[...]")
    ft = fasttext_options(opts)
    sv = train_static_vectors(token_strings(ctx.extended_tokenizer, opts["target_texts"]), ft,
                              cache=opts["cache"])
    where = sv.index()
    special = ctx.special_ids()
    base_tokens = ctx.base_tokenizer.convert_ids_to_tokens(list(range(ctx.info.base_vocab_size)))
    a_ids = np.array([i for i, t in enumerate(base_tokens) if t in where and i not in special], dtype=np.int64)
    if not len(a_ids):
        raise DataError(f"no base token occurs min_count={ft.min_count} times in target_texts, so FOCUS has no "
                        "anchor; pass more target text or a smaller min_count")
    anchors = torch.from_numpy(sv.vectors[[where[base_tokens[i]] for i in a_ids]]).to(ctx.device)
    covered = np.array([t in where and bool(np.abs(sv.vectors[where[t]]).sum() > 0) for t in ctx.info.tokens])
    q_rows = np.flatnonzero(covered)
    n = len(ctx.info.ids)
    queries = torch.from_numpy(sv.vectors[[where[ctx.info.tokens[r]] for r in q_rows]]).to(ctx.device)
    idx, w = sparsemax_all(queries, anchors) if len(q_rows) else (torch.zeros((0, 1), dtype=torch.long),
                                                                   torch.zeros((0, 1)))
    index = torch.zeros((n, idx.shape[1]), dtype=torch.long, device=ctx.device)
    weight = torch.zeros((n, idx.shape[1]), device=ctx.device)
    rows = torch.as_tensor(q_rows, device=ctx.device)
    index[rows] = torch.as_tensor(a_ids, device=ctx.device)[idx.to(ctx.device)]
    weight[rows] = w.to(ctx.device)
    rule = f"focus (fastText token-level, sparsemax over {len(a_ids)} anchors)"
    comb = Combination(index, weight, torch.zeros(n, device=ctx.device), [rule if c else "" for c in covered])
    return comb, covered


def _run_focus(ctx: Context, opts: Mapping[str, Any]):
    if opts["fallback"] not in ("random", "fvt"):
        raise ConfigError("fallback", opts["fallback"], "use 'random' (deepfocus: N(mean, std) of the base rows) "
                                                        "or 'fvt' (mean of the sub-token rows)")
    comb, covered = _focus(ctx, opts)
    if opts["fallback"] == "fvt":
        comb = with_fallback(ctx, comb, covered, "no fastText vector")
        rows_in = rows_of(comb, ctx.w_in)
        rows_out = None if ctx.w_out is None else rows_of(comb, ctx.w_out)
        return rows_in, rows_out, provenance(ctx, comb)
    import torch

    missing = torch.as_tensor(np.flatnonzero(~covered), device=ctx.device)
    out = []
    for w in (ctx.w_in, ctx.w_out):
        if w is None:
            out.append(None)
            continue
        rows = rows_of(comb, w)
        rows[missing] = deepfocus_random_rows(w, len(missing), opts["seed"])
        out.append(rows)
    comb.rule = [r if c else RANDOM_RULE for r, c in zip(comb.rule, covered)]
    prov = provenance(ctx, comb)
    for rec, c in zip(prov, covered):
        if not c:
            rec["weight_sum"] = 0.0
    return out[0], out[1], prov


register_initializer(
    "focus", data=("target_texts",),
    options={"target_texts": None, "epochs": 3, "dim": 100, "min_count": 10, "window": 5, "negative": 10,
             "minn": 3, "maxn": 6, "model": "cbow", "lr": 0.05, "sample": 1e-4, "bucket": 2_000_000,
             "fallback": "random", "seed": 42, "cache": True, "device": None},
    summary="FOCUS as deepfocus 1.0.1: fastText (gensim) on extended-tokenizer text, exact sparsemax over "
            "overlapping tokens")(_run_focus)
