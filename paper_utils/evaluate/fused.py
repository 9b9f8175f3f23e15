"""``FusedTextLM``: a :class:`~paper_utils.fusion.FusedEncoderLM` as a :class:`~paper_utils.evaluate.TextLM`.

Example::

    >>> from paper_utils.config import load_preset
    >>> from paper_utils.fusion_data import build_fused, load_fusion_parts
    >>> cfg = load_preset("smoke", **{"grid.recipes": ["staged", "fusion"], "fusion": {"modes": ["last"]}})
    >>> parts = load_fusion_parts(cfg, "smollm2-135m")              # tiny random XLM-R + tiny Llama
    >>> lm = FusedTextLM(build_fused(cfg, parts, "fusion_last"), parts.encoder_tokenizer, parts.tokenizer)
    >>> lp = lm.loglik([("Translate English to Uzbek.\\n\\nEnglish: Save\\nUzbek:", " Saqlash")])
    >>> len(lp), lp[0] < 0
    (1, True)
    >>> scores, meta = lm.choice_logprobs(["Sentiment:", "Topic:"], [" A", " B"])
    >>> len(scores), meta["one_pass"]
    (2, True)
    >>> len(lm.generate(["English: Save\\nUzbek:"], max_new_tokens=3))
    1

**The split of a request.** The context (a prompt, an item's question and instruction, demonstrations included) is
read by the *encoder* (its tokenizer, with its special tokens); the continuation by the *LLM's own embeddings*
(its tokenizer, no special tokens), after ``[BOS] fused context, end-of-input`` (:meth:`FusedEncoderLM.build_inputs`).
So ``loglik`` is ``log p(continuation | context)`` with no lm-eval split of context + continuation: they are two
sequences. **Long contexts** are truncated from the left to the encoder's limit (``max_prompt_tokens`` and the
encoder's positions; a leading special token kept), with one warning naming the limit per :class:`FusedTextLM`,
and counted in ``truncated_contexts`` (the few-shot classification prompts exceed e5's 512 tokens; their end, the
item itself, is kept, as lm-eval keeps the end). ``groups`` and ``share_prefix`` change nothing: every request is
one row (the encoder reads the whole context anyway). **Generation**: greedy, KV cache, one prompt at a time, cut
at the first newline (as :func:`~paper_utils.evaluate.decoding.greedy_generate`). **Bits per byte** is the
*LLM alone* on the text (:func:`paper_utils.bpb.bits_per_byte`): a text scored from its first character has no
context for the encoder to read, and the fusion changes only what the encoder reads, so a fused run's ``bpb`` and
``english_bpb`` equal its base model's by construction (they are reported, not claimed as an effect).
``tokenizer`` is the LLM's: the English check of stage 05 compares it with the base model's.
"""
from __future__ import annotations

import warnings
from typing import Any, Sequence

from ..bpb import BitsPerByte, bits_per_byte
from ..errors import DataError
from ..fusion import encoder_max_tokens
from .decoding import newline_token_ids


class FusedTextLM:
    """A fused model (``model``), its encoder's tokenizer and the LLM's ``tokenizer`` as a TextLM."""

    def __init__(self, model: Any, encoder_tokenizer: Any, tokenizer: Any, name: str = "",
                 max_prompt_tokens: int | None = None):
        self.model, self.encoder_tokenizer, self.tokenizer = model.eval(), encoder_tokenizer, tokenizer
        self.name = name or f"fused ({model.mode})"
        limit = encoder_max_tokens(model.encoder)
        self.context_limit = min(x for x in (limit, max_prompt_tokens, 10 ** 9) if x is not None)
        self.truncated_contexts = 0
        self._warned = False
        self._leading = {i for i in (encoder_tokenizer.bos_token_id, encoder_tokenizer.cls_token_id) if i is not None}

    # ---------------------------------------------------------------------------------------- encoding
    def _context_ids(self, contexts: Sequence[str]) -> list[list[int]]:
        out = []
        for ids in self.encoder_tokenizer(list(contexts))["input_ids"]:
            if len(ids) > self.context_limit:
                keep = 1 if ids[0] in self._leading else 0       # XLM-R's <s> stays first; T5 has no BOS
                ids = ids[:keep] + ids[len(ids) - self.context_limit + keep:]
                self.truncated_contexts += 1
                if not self._warned:
                    warnings.warn(f"FusedTextLM: a context longer than the encoder's limit of {self.context_limit} "
                                  "tokens is truncated from the left (its end is kept)", stacklevel=3)
                    self._warned = True
            out.append(list(ids))
        return out

    def _device(self):
        return self.model.projection.weight.device

    def _batch(self, rows: Sequence[list[int]], pad: int):
        import torch

        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros(len(rows), width, dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, :len(r)], mask[i, :len(r)] = torch.tensor(r, dtype=torch.long), 1
        return ids.to(self._device()), mask.to(self._device())

    @property
    def _pad(self) -> int:
        return self.encoder_tokenizer.pad_token_id or 0

    # ---------------------------------------------------------------------------------------- TextLM
    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]]

    def loglik(self, requests: Sequence[tuple[str, str]], *, batch_size: int = 8,
               share_prefix: bool = True, groups: Sequence[object] | None = None) -> list[float]:
        import torch

        requests = list(requests)
        if not requests:
            return []
        contexts = self._context_ids([c for c, _ in requests])
        conts = self.tokenizer([c for _, c in requests], add_special_tokens=False)["input_ids"]
        for (_, text), ids in zip(requests, conts):
            if not ids:
                raise DataError(f"continuation {text!r} encodes to no token with the LLM's tokenizer")
        out: list[float] = []
        with torch.inference_mode():
            for start in range(0, len(requests), batch_size):
                ids, mask = self._batch(contexts[start:start + batch_size], self._pad)
                tids, tmask = self._batch(conts[start:start + batch_size], 0)
                sums, _ = self.model.target_loglik(ids, mask, tids, tmask)
                out += [float(x) for x in sums]
        return out

    def choice_logprobs(self, contexts: Sequence[str], choices: Sequence[str], *, groups: Sequence[str] | None = None,
                        batch_size: int = 8, share_prefix: bool = True) -> tuple[list[list[float]], dict]:
        """One pass per context when every choice is one LLM token (its log-softmax after end-of-input), else
        one row per choice, summed. ``meta``: ``one_pass``, the contexts' encoder tokens, ``truncated_contexts``."""
        import torch

        contexts = list(contexts)
        choice_ids = self.tokenizer(list(choices), add_special_tokens=False)["input_ids"]
        if any(not t for t in choice_ids):
            raise DataError(f"a choice of {list(choices)} encodes to no token with the LLM's tokenizer")
        before = self.truncated_contexts
        encoded = self._context_ids(contexts)
        one_pass = all(len(t) == 1 for t in choice_ids)
        if one_pass:
            wanted = torch.tensor([t[0] for t in choice_ids])
            logprobs = []
            with torch.inference_mode():
                for start in range(0, len(encoded), batch_size):
                    ids, mask = self._batch(encoded[start:start + batch_size], self._pad)
                    logits = self.model.prompt_logits(ids, mask)
                    logprobs += torch.log_softmax(logits, dim=-1)[:, wanted.to(logits.device)].tolist()
        else:
            flat = self.loglik([(c, ch) for c in contexts for ch in choices], batch_size=batch_size)
            k = len(choices)
            logprobs = [flat[k * i:k * i + k] for i in range(len(contexts))]
        return logprobs, {"one_pass": one_pass, "context_tokens": [len(s) for s in encoded],
                          "truncated_contexts": self.truncated_contexts - before}

    def generate(self, prompts: Sequence[str], *, max_new_tokens: int | Sequence[int] = 64,
                 batch_size: int = 8) -> list[str]:
        import torch

        prompts = list(prompts)
        limits = [max_new_tokens] * len(prompts) if isinstance(max_new_tokens, int) else list(max_new_tokens)
        if len(limits) != len(prompts) or (limits and min(limits) < 1):
            raise DataError("max_new_tokens must be a positive int or one positive int per prompt")
        stops, eos = newline_token_ids(self.tokenizer), self.tokenizer.eos_token_id
        table = self.model.llm.get_input_embeddings()
        texts = []
        with torch.inference_mode():
            for ids, limit in zip(self._context_ids(prompts), limits):
                inputs = self.model.build_inputs(*self._batch([ids], self._pad))
                out = self.model.llm(inputs_embeds=inputs["inputs_embeds"], attention_mask=inputs["attention_mask"],
                                     use_cache=True)
                mask, generated = inputs["attention_mask"], []
                for _ in range(limit):
                    tok = int(out.logits[0, -1].float().argmax())
                    if tok == eos:
                        break
                    generated.append(tok)
                    if tok in stops:
                        break
                    mask = torch.cat([mask, mask.new_ones(1, 1)], dim=1)
                    step = table(torch.tensor([[tok]], device=mask.device)).to(inputs["inputs_embeds"].dtype)
                    out = self.model.llm(inputs_embeds=step, attention_mask=mask, past_key_values=out.past_key_values,
                                         use_cache=True)
                text = self.tokenizer.decode(generated, skip_special_tokens=True)
                texts.append(text.split("\n", 1)[0].strip())
        return texts

    def bits_per_byte(self, texts: Sequence[str]) -> BitsPerByte:
        """The LLM alone (module doc)."""
        return bits_per_byte(self.model.llm, self.tokenizer, texts)


__all__ = ["FusedTextLM"]
