"""``bxod``: cold-start bilingual anchoring, a reconstruction from the paper's description (no code was published).

Example::

    >>> from paper_utils.registry import initializer
    >>> import paper_utils.init                       # registers the methods
    >>> bxod = initializer("bxod")
    >>> bxod.data, bxod.options["top_k"], bxod.options["lexicon_weight"]
    (('encoder', 'lexicon'), 8, 0.5)

The surface form of each new token (and its English translation when the bilingual lexicon has it)
is embedded with the multilingual encoder; anchors are base tokens embedded the same way; the row is
a top-k softmax (or sparsemax) combination of the anchors' rows; a lexicon translation also anchors
*directly* (its own base sub-tokens receive ``lexicon_weight``). Word-internal pieces take ``fvt``
unless ``continuation="anchor"``; ``subtoken_weight`` mixes a share of ``fvt`` into every row.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..registry import register_initializer
from .anchors import encode, encoder_space, lexicon_map, normalize_word, query_texts
from .common import Combination, Context, anchored_combination, blend, fvt_mean, rows_and_provenance, uniform


def _bxod(ctx: Context, opts: Mapping[str, Any]) -> Combination:
    import torch

    encoder, a_ids, a_vecs, a_initial = encoder_space(ctx, opts)
    texts, ok = query_texts(ctx)
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
    comb = anchored_combination(ctx, queries, q_rows, a_vecs, a_ids, k=opts["top_k"], weighting=opts["weighting"],
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
    fvt = fvt_mean(ctx, "fvt")
    fallback = Combination(fvt.index, fvt.weight, fvt.mean_weight,
                           [r if anchored[i] else f"fvt ({reasons[i]})" for i, r in enumerate(fvt.rule)])
    out = blend([(comb, cov * (1 - sw)), (fallback, 1 - cov * (1 - sw))])
    out.translation = translation                                      # type: ignore[attr-defined]
    return out


@register_initializer("bxod", data=("encoder", "lexicon"),
                      options={"encoder": "e5-small", "anchor_set": "words", "max_anchors": None, "top_k": 8,
                               "weighting": "softmax", "temperature": 0.05, "lexicon": None, "use_lexicon": True,
                               "lexicon_weight": 0.5, "query": "both", "continuation": "fvt", "match_space": True,
                               "subtoken_weight": 0.0, "device": None},
                      summary="bilingual semantic anchoring (a reconstruction of the BXOD paper's description)")
def _run_bxod(ctx: Context, opts: Mapping[str, Any]):
    return rows_and_provenance(ctx, _bxod(ctx, opts))
