"""``TextLM``: what the scorers need from a model, in text; ``CausalTextLM`` for a causal LM and its tokenizer.

Example::

    >>> from paper_utils.fixtures import evaluation_model
    >>> lm = CausalTextLM(*evaluation_model())                 # the smoke preset's random Llama
    >>> len(lm.generate(["English: Save\\nUzbek:"], max_new_tokens=4))
    1
    >>> scores, meta = lm.choice_logprobs(["Sentiment:", "Topic:"], [" A", " B"])
    >>> len(scores), len(scores[0]), meta["one_pass"]
    (2, 2, True)
    >>> abs(lm.loglik([("Sentiment:", " A")])[0] - scores[0][0]) < 1e-4      # one pass or two: the same log-probability
    True

Every scorer (translation, classification, MMLU, bits per byte) talks to a :class:`TextLM`: strings in,
strings or log-probabilities out. A model that is not a plain causal LM over one tokenizer (an encoder
fused into an LLM, say) implements the same five methods and goes through the same scorers and
significance tests. :class:`CausalTextLM` keeps every computation the study used before the interface
existed (lm-evaluation-harness's split of context and continuation, shared-prefix KV caching, left
truncation of MMLU prompts), so the numbers are the same.
"""
from __future__ import annotations

from typing import Any, Protocol, Sequence, runtime_checkable

from ..bpb import BitsPerByte, bits_per_byte
from ..errors import DataError
from ..surfaces import adds_bos
from .decoding import greedy_generate, next_token_logits


@runtime_checkable
class TextLM(Protocol):
    """A language model seen through text: what :mod:`paper_utils.evaluate` scores."""

    name: str

    def generate(self, prompts: Sequence[str], *, max_new_tokens: int | Sequence[int] = 64,
                 batch_size: int = 8) -> list[str]:
        """Greedy continuation of each prompt, cut at the first newline."""

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text (no special tokens): how long a translation may run."""

    def loglik(self, requests: Sequence[tuple[str, str]], *, batch_size: int = 8,
               share_prefix: bool = True, groups: Sequence[object] | None = None) -> list[float]:
        """``log p(continuation | context)`` (natural log, summed over its tokens) of each request.

        ``groups`` (optional, one key per request) only says which requests share their context (the four
        candidates of one multiple-choice item), so an implementation may compute that context once; the values
        do not depend on it."""

    def choice_logprobs(self, contexts: Sequence[str], choices: Sequence[str], *, groups: Sequence[str] | None = None,
                        batch_size: int = 8, share_prefix: bool = True) -> tuple[list[list[float]], dict]:
        """Log-probability of each of ``choices`` after each context, and facts about how it was computed."""

    def bits_per_byte(self, texts: Sequence[str]) -> BitsPerByte:
        """Bits per UTF-8 byte of each text from its first character on."""


def chat_text(tokenizer, prompt: str) -> str:
    """``prompt`` as one user turn of the chat template with the generation prompt (no template: ``User:``...).

    A template that writes the BOS token itself (Gemma's) loses it here when the tokenizer adds BOS on encoding
    (the scorers encode with the tokenizer's defaults), so the model sees one BOS, not two."""
    if not getattr(tokenizer, "chat_template", None):
        return f"User: {prompt}\nAssistant: "
    text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                         tokenize=False)
    bos = tokenizer.bos_token
    if bos and text.startswith(bos) and adds_bos(tokenizer):
        text = text[len(bos):]
    return text


def continuation_tokens(tokenizer, context: str, continuation: str) -> tuple[list[int], int]:
    """``(tokens of context + continuation, number of context tokens)``, split like lm-eval."""
    ctx = tokenizer(context)["input_ids"]
    whole = tokenizer(context + continuation)["input_ids"]
    if whole[:len(ctx)] != ctx or len(whole) == len(ctx):
        whole = ctx + tokenizer(continuation, add_special_tokens=False)["input_ids"]
    return whole, len(ctx)


def choice_token_ids(tokenizer, prompt: str, choices: Sequence[str]) -> list[list[int]]:
    """Tokens of each choice (``" A"``) as it follows ``prompt`` (lm-eval's split of context + continuation)."""
    ctx = tokenizer(prompt)["input_ids"]
    out = []
    for choice in choices:
        whole = tokenizer(prompt + choice)["input_ids"]
        cont = whole[len(ctx):] if whole[:len(ctx)] == ctx else tokenizer(choice, add_special_tokens=False)["input_ids"]
        if not cont:
            raise DataError(f"{choice!r} encodes to no token after {prompt[-20:]!r} with this tokenizer")
        out.append(cont)
    return out


class CausalTextLM:
    """A causal LM and its tokenizer as a :class:`TextLM` (``model`` and ``tokenizer`` stay reachable)."""

    def __init__(self, model: Any, tokenizer: Any, name: str = ""):
        self.model, self.tokenizer = model, tokenizer
        self.name = name or type(model).__name__

    def generate(self, prompts: Sequence[str], *, max_new_tokens: int | Sequence[int] = 64,
                 batch_size: int = 8) -> list[str]:
        return greedy_generate(self.model, self.tokenizer, prompts, max_new_tokens=max_new_tokens,
                               batch_size=batch_size)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]]

    def loglik(self, requests: Sequence[tuple[str, str]], *, batch_size: int = 8,
               share_prefix: bool = True, groups: Sequence[object] | None = None) -> list[float]:
        """Every request as its own sequence (context + continuation), summed log-probs of the continuation.

        ``groups``: prefix sharing within each group only (the context of one multiple-choice item is run once
        and its KV cache reused for the item's continuations); ``None``: one group, the longest token prefix
        common to every request (the classification prompts' instruction and demonstrations)."""
        import torch

        seqs, positions, conts = [], [], []
        for context, continuation in requests:
            whole, n_ctx = continuation_tokens(self.tokenizer, context, continuation)
            seqs.append(whole)
            positions.append(list(range(n_ctx - 1, len(whole) - 1)))
            conts.append(whole[n_ctx:])

        def reduce(k, logits):
            logp = torch.log_softmax(logits, dim=-1)
            return float(logp[torch.arange(len(conts[k])), torch.tensor(conts[k])].sum())

        return next_token_logits(self.model, seqs, positions, reduce=reduce, batch_size=batch_size,
                                 share_prefix=share_prefix, groups=groups)

    def choice_logprobs(self, contexts: Sequence[str], choices: Sequence[str], *, groups: Sequence[str] | None = None,
                        batch_size: int = 8, share_prefix: bool = True) -> tuple[list[list[float]], dict]:
        """One forward pass per context when every choice is one token after it (the usual case: the
        next-token log-softmax read at the choices' ids); else one sequence per choice, summed. Contexts
        longer than the model's context are left-truncated (lm-eval). ``meta``: ``one_pass`` and the
        context lengths in tokens (``context_tokens``)."""
        import torch

        choice_ids = choice_token_ids(self.tokenizer, contexts[0], choices)
        seqs = self.tokenizer(list(contexts))["input_ids"]
        max_len = getattr(getattr(self.model, "config", None), "max_position_embeddings", None)
        one_pass = all(len(t) == 1 for t in choice_ids)
        groups = list(groups) if groups is not None else None
        if one_pass:
            if max_len:
                seqs = [s[-max_len:] for s in seqs]
            ids = torch.tensor([t[0] for t in choice_ids])

            def reduce(i, logits):
                return torch.log_softmax(logits[-1], dim=-1)[ids].tolist()

            logprobs = next_token_logits(self.model, seqs, [[len(s) - 1] for s in seqs], reduce=reduce, groups=groups,
                                         batch_size=batch_size, share_prefix=share_prefix)
        else:
            k = len(choice_ids)
            full = [s + t for s in seqs for t in choice_ids]
            if max_len:
                full = [f[-max_len:] for f in full]
            conts = [t for _ in seqs for t in choice_ids]

            def reduce_choice(j, logits):
                logp = torch.log_softmax(logits, dim=-1)
                return float(logp[torch.arange(len(conts[j])), torch.tensor(conts[j])].sum())

            flat = next_token_logits(self.model, full,
                                     [list(range(len(f) - len(c) - 1, len(f) - 1)) for f, c in zip(full, conts)],
                                     reduce=reduce_choice, groups=[g for g in groups for _ in range(k)] if groups else None,
                                     batch_size=batch_size, share_prefix=share_prefix)
            logprobs = [flat[k * i:k * i + k] for i in range(len(seqs))]
        return logprobs, {"one_pass": one_pass, "context_tokens": [len(s) for s in seqs]}

    def bits_per_byte(self, texts: Sequence[str]) -> BitsPerByte:
        return bits_per_byte(self.model, self.tokenizer, texts)


__all__ = ["TextLM", "CausalTextLM", "chat_text", "continuation_tokens", "choice_token_ids"]
