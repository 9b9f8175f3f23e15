"""Low-level scoring and generation for evaluation: shared-prefix KV caching, batched greedy decoding.

Example::

    >>> from paper_utils.evaluate.decoding import greedy_generate, next_token_logits
    >>> from paper_utils.fixtures import evaluation_model
    >>> model, tok = evaluation_model()                             # seconds: the smoke preset's random Llama
    >>> outs = greedy_generate(model, tok, ["English: Save\\nUzbek:"], max_new_tokens=4)
    >>> len(outs)
    1

Everything here works on token id lists so that tokenization is decided once, by the caller, exactly like
lm-evaluation-harness does it (``tokenizer.encode(context + continuation)`` split at ``len(encode(context))``).

* :func:`next_token_logits` -- logits of the tokens that follow given positions of many sequences. Sequences that
  share a token prefix (the few-shot demonstrations of an MMLU subject, of a classification prompt) are grouped;
  the common prefix is run once and its KV cache is repeated over the batch; each sequence then costs ONE
  forward pass over its own suffix (left-padded, explicit position ids). ``share_prefix=False`` runs every
  sequence in full (left padding), which is what the equality tests compare against.
* :func:`greedy_generate` -- batched greedy decoding with a KV cache and left padding; a row stops at the first
  token whose text contains a newline (the newline and what follows are cut) or at EOS.

The smoke preset's model (a random 2-layer Llama over a byte-level BPE trained on the fixtures) is
:func:`paper_utils.fixtures.evaluation_model`.
"""
from __future__ import annotations

import copy
from typing import Callable, Sequence

from ..errors import DataError

def _torch():
    import torch

    return torch


def _device(model):
    return next(model.parameters()).device


def pad_id(tokenizer) -> int:
    """Token id used for padding (pad, else EOS, else 0); pads are always masked out."""
    for tid in (tokenizer.pad_token_id, tokenizer.eos_token_id):
        if tid is not None:
            return int(tid)
    return 0


def common_prefix_len(seqs: Sequence[Sequence[int]]) -> int:
    """Length of the longest token prefix shared by every sequence.

    Example::

        >>> common_prefix_len([[1, 2, 3], [1, 2, 4, 5]])
        2
    """
    if not seqs:
        return 0
    first = seqs[0]
    n = min(len(s) for s in seqs)
    for s in seqs[1:]:
        k = 0
        while k < n and s[k] == first[k]:
            k += 1
        n = k
        if n == 0:
            break
    return n


def _repeat_cache(cache, batch: int):
    out = copy.deepcopy(cache)
    if batch > 1:
        out.batch_repeat_interleave(batch)
    return out


def _left_pad(seqs: Sequence[Sequence[int]], pad: int):
    torch = _torch()
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):
        if s:
            ids[r, width - len(s):] = torch.tensor(list(s), dtype=torch.long)
            mask[r, width - len(s):] = 1
    return ids, mask


def _forward_suffixes(model, suffixes, prefix_cache, prefix_len: int, pad: int, keep: int):
    """One forward pass over left-padded ``suffixes`` after an optional shared prefix; last ``keep`` logits."""
    torch = _torch()
    dev = _device(model)
    ids, mask = _left_pad(suffixes, pad)
    positions = (prefix_len + mask.cumsum(-1) - 1).clamp(min=prefix_len)
    if prefix_len:
        full_mask = torch.cat([torch.ones((len(suffixes), prefix_len), dtype=torch.long), mask], dim=1)
        past = _repeat_cache(prefix_cache, len(suffixes))
    else:
        full_mask, past = mask, None
    out = model(input_ids=ids.to(dev), attention_mask=full_mask.to(dev), position_ids=positions.to(dev),
                past_key_values=past, use_cache=past is not None, logits_to_keep=keep)
    return out.logits.float(), ids.shape[1]


def next_token_logits(model, seqs: Sequence[Sequence[int]], positions: Sequence[Sequence[int]], *,
                      reduce: Callable[[int, "object"], object], groups: Sequence[object] | None = None,
                      batch_size: int = 8, share_prefix: bool = True, min_prefix: int = 8) -> list:
    """Run the model over token sequences and hand the logits at ``positions[i]`` to ``reduce(i, logits)``.

    ``logits`` has shape ``(len(positions[i]), vocab)``: row ``j`` is the distribution of the token *after*
    ``seqs[i][positions[i][j]]``. Returns ``[reduce(i, ...) for i in range(len(seqs))]`` in input order.
    ``groups`` (e.g. the MMLU subject) limits prefix sharing to sequences of one group (default: all one group);
    within a group the shared prefix is the longest common token prefix, cut so that every requested position
    lies after it. Sequences are batched by length (fewer pads). Deterministic; no gradients.
    """
    torch = _torch()
    n = len(seqs)
    if len(positions) != n:
        raise DataError(f"{n} sequences but {len(positions)} position lists")
    for i, (s, p) in enumerate(zip(seqs, positions)):
        if not s:
            raise DataError(f"sequence {i} is empty: nothing to score (empty prompt?)")
        if not p or min(p) < 0 or max(p) >= len(s):
            raise DataError(f"sequence {i}: positions {list(p)[:5]} outside 0..{len(s) - 1}")
    groups = list(groups) if groups is not None else [0] * n
    by_group: dict[object, list[int]] = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    pad = 0                                     # any id: padded positions are masked out
    results: list = [None] * n
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for members in by_group.values():
            prefix_len = 0
            if share_prefix and len(members) > 1:
                prefix_len = min(common_prefix_len([seqs[i] for i in members]), min(min(positions[i]) for i in members))
                if prefix_len < min_prefix:
                    prefix_len = 0
            cache = None
            if prefix_len:
                dev = _device(model)
                prefix = torch.tensor([list(seqs[members[0]][:prefix_len])], dtype=torch.long, device=dev)
                cache = model(input_ids=prefix, use_cache=True, logits_to_keep=1).past_key_values
            order = sorted(members, key=lambda i: -len(seqs[i]))
            for start in range(0, len(order), batch_size):
                batch = order[start:start + batch_size]
                suffixes = [list(seqs[i][prefix_len:]) for i in batch]
                width = max(len(s) for s in suffixes)
                # columns needed: position p of row r sits at column width - len(suffix) + (p - prefix_len)
                keep = max(len(seqs[i]) - min(positions[i]) for i in batch)
                logits, _ = _forward_suffixes(model, suffixes, cache, prefix_len, pad, keep)
                for r, i in enumerate(batch):
                    cols = [keep - (len(seqs[i]) - p) for p in positions[i]]
                    results[i] = reduce(i, logits[r, cols])
    model.train(was_training)
    return results


def newline_token_ids(tokenizer) -> frozenset[int]:
    """Ids whose decoded text contains a newline (computed once, kept on the tokenizer object)."""
    vocab = len(tokenizer)
    cached = getattr(tokenizer, "_paper_utils_newlines", None)
    if cached is None or cached[0] != vocab:
        texts = tokenizer.batch_decode([[i] for i in range(vocab)], skip_special_tokens=False)
        cached = (vocab, frozenset(i for i, t in enumerate(texts) if "\n" in t))
        tokenizer._paper_utils_newlines = cached
    return cached[1]


END_OF_TURN = ("<end_of_turn>", "<|im_end|>", "<|eot_id|>")      # Gemma, ChatML (SmolLM2, Qwen), Llama 3


def end_token_ids(tokenizer) -> frozenset[int]:
    """Ids that end a generation: EOS and a chat format's end-of-turn token where the vocabulary has it as a
    single special token (an instruction model's turn ends there even when it is not its EOS).

    >>> from paper_utils.fixtures import evaluation_model
    >>> _, tok = evaluation_model()
    >>> end_token_ids(tok) == {tok.eos_token_id}
    True
    """
    ids = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    special = set(getattr(tokenizer, "all_special_tokens", ())) | set(getattr(tokenizer, "added_tokens_encoder", {}))
    for text in END_OF_TURN:
        if text in special:
            ids.add(tokenizer.convert_tokens_to_ids(text))
    return frozenset(ids)


def greedy_generate(model, tokenizer, prompts: Sequence[str], *, max_new_tokens: int | Sequence[int] = 64,
                    batch_size: int = 8, stop_at_newline: bool = True) -> list[str]:
    """Greedy continuations of ``prompts`` (batched, KV cache, left padding), cut at the first newline.

    ``max_new_tokens`` is one limit or one per prompt. Prompts are encoded with the tokenizer's defaults (as
    lm-evaluation-harness does). The text returned is the decoded continuation up to (not including) the first
    newline, with special tokens skipped and outer whitespace stripped.
    """
    torch = _torch()
    prompts = list(prompts)
    if not prompts:
        return []
    limits = [max_new_tokens] * len(prompts) if isinstance(max_new_tokens, int) else list(max_new_tokens)
    if len(limits) != len(prompts) or min(limits) < 1:
        raise DataError("max_new_tokens must be a positive int or one positive int per prompt")
    encoded = tokenizer(prompts)["input_ids"]
    stops = newline_token_ids(tokenizer) if stop_at_newline else frozenset()
    ends = end_token_ids(tokenizer)
    pad = pad_id(tokenizer)
    dev = _device(model)
    order = sorted(range(len(prompts)), key=lambda i: -len(encoded[i]))
    generated: list[list[int]] = [[] for _ in prompts]
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            ids, mask = _left_pad([encoded[i] for i in batch], pad)
            pos = (mask.cumsum(-1) - 1).clamp(min=0)
            ids, mask, pos = ids.to(dev), mask.to(dev), pos.to(dev)
            out = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True, logits_to_keep=1)
            past, last_pos = out.past_key_values, pos[:, -1:]
            done = [False] * len(batch)
            for step in range(max(limits[i] for i in batch)):
                nxt = out.logits[:, -1].float().argmax(-1)
                for r, i in enumerate(batch):
                    if done[r]:
                        continue
                    tok = int(nxt[r])
                    if tok in ends:
                        done[r] = True
                        continue
                    generated[i].append(tok)             # a newline token's text is cut after decoding
                    if tok in stops or len(generated[i]) >= limits[i]:
                        done[r] = True
                if all(done):
                    break
                mask = torch.cat([mask, torch.ones((len(batch), 1), dtype=mask.dtype, device=dev)], dim=1)
                last_pos = last_pos + 1
                out = model(input_ids=nxt[:, None], attention_mask=mask, position_ids=last_pos,
                            past_key_values=past, use_cache=True)
                past = out.past_key_values
    model.train(was_training)
    texts = tokenizer.batch_decode(generated, skip_special_tokens=True)
    return [t.split("\n", 1)[0].strip() for t in texts]
