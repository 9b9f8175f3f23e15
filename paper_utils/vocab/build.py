"""Write kept candidates into a copy of the base tokenizer's model JSON (BPE merges or Unigram pieces).

Example::

    >>> import json
    >>> from paper_utils.fixtures import evaluation_tokenizer
    >>> from paper_utils.vocab.build import build, model_only, select
    >>> from paper_utils.vocab.candidates import learn_candidates, vocab_of
    >>> base = evaluation_tokenizer()
    >>> spec = json.loads(base.backend_tokenizer.to_str())
    >>> cands = learn_candidates(base, ["kitob kitoblar kitobxon"] * 10, max_new=3)
    >>> kept = select(cands, set(), vocab_of(spec), budget=3)
    >>> ext_spec, new_entries = build(spec, "byte_level_bpe", cands, kept, 1.0, base.backend_tokenizer.model)
    >>> len(new_entries), len(ext_spec["model"]["merges"]) - len(spec["model"]["merges"])
    (3, 3)
    >>> model_only(spec).encode("Ġkitob").tokens, model_only(ext_spec).encode("Ġkitob").tokens  # one unit in
    (['Ġk', 'it', 'o', 'b'], ['Ġkitob'])

Learned merges are appended *after* the base merges, so base merges keep priority. Merges whose result
already is a base token cost no budget; the budget counts new vocabulary entries only. New ids start after
the highest id in use (model vocabulary and added/special tokens). SentencePiece Unigram: new pieces get
the score of their best base segmentation plus ``unigram_margin``, so Viterbi prefers them over that
segmentation.
"""
from __future__ import annotations

import json

from tokenizers import Tokenizer

from ..errors import ConfigError
from .candidates import Candidate


def select(cands: list[Candidate], dropped: set[int], vocab: dict, budget: int) -> list[int]:
    """Indices of candidates kept: not dropped, built on available tokens, up to ``budget`` new."""
    have, kept, n_new = set(vocab), [], 0
    for i, c in enumerate(cands):
        if n_new >= budget:
            break
        if i in dropped or (c.left is not None and (c.left not in have or c.right not in have)):
            continue
        is_new = c.token not in have
        if c.left is None and not is_new:
            continue
        kept.append(i)
        n_new += is_new
        have.add(c.token)
    return kept


def build(spec: dict, family: str, cands: list[Candidate], kept: list[int],
           unigram_margin: float, base_model) -> tuple[dict, dict]:
    """The extended tokenizer JSON and {token: candidate index} of its new entries."""
    spec = dict(spec)
    model = spec["model"] = dict(spec["model"])
    model["vocab"] = list(model["vocab"]) if family == "unigram" else dict(model["vocab"])
    if "merges" in model:
        model["merges"] = list(model["merges"])
    used = [t["id"] for t in spec.get("added_tokens", [])]
    new_entries: dict[str, int] = {}
    if family == "unigram":
        pieces = model["vocab"]
        if used and max(used) >= len(pieces):
            raise ConfigError("base_tokenizer", "Unigram with added tokens past the vocabulary",
                              "Unigram ids are list positions; re-save the tokenizer with them inside the vocab")
        score = dict(map(tuple, pieces))
        have = {p for p, _ in pieces}
        for i in kept:
            t = cands[i].token
            if t in have:
                continue
            path = base_model.tokenize(t)
            base_score = sum(score.get(p.value, -20.0) for p in path)
            pieces.append([t, base_score + unigram_margin])
            have.add(t)
            new_entries[t] = i
    else:
        vocab = model["vocab"]
        # Added tokens above the model vocabulary (Llama-3's 256 specials) go into it at their ids:
        # tokenizers re-numbers added tokens missing from the model from its size on, which would
        # collide with the new entries. Added tokens are matched before the model, so nothing changes.
        taken = set(vocab.values())
        for t in spec.get("added_tokens", []):
            if t["content"] not in vocab and t["id"] not in taken:
                vocab[t["content"]] = t["id"]
                taken.add(t["id"])
        next_id = max(list(vocab.values()) + used) + 1
        as_str = bool(model["merges"]) and isinstance(model["merges"][0], str)
        for i in kept:
            c = cands[i]
            if c.token not in vocab:
                vocab[c.token] = next_id
                next_id += 1
                new_entries[c.token] = i
            if c.left is not None:
                model["merges"].append(f"{c.left} {c.right}" if as_str else [c.left, c.right])
    return spec, new_entries


def model_only(spec: dict) -> Tokenizer:
    """Only the model: encodes already normalized, pre-tokenized units."""
    return Tokenizer.from_str(json.dumps(dict(spec, normalizer=None, pre_tokenizer=None, post_processor=None,
                                              decoder=None, added_tokens=[])))
