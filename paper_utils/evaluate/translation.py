"""Few-shot translation English <-> X through a :class:`~paper_utils.evaluate.TextLM`; corpus chrF++ and BLEU.

Example::

    >>> scores = translation_scores(["Bu kitob juda yaxshi"], ["Bu kitob juda yaxshi"])   # corpus BLEU, chrF++
    >>> round(scores["bleu"], 1), round(scores["chrf++"], 1), scores["n"]
    (100.0, 100.0, 1)
    >>> print(translation_prompt("Save", [("Open", "Ochish")], "English", "Uzbek"))
    Translate English to Uzbek.
    <BLANKLINE>
    English: Open
    Uzbek: Ochish
    <BLANKLINE>
    English: Save
    Uzbek:

* **Translation** English -> X and X -> English by few-shot prompting; template::

      Translate English to Uzbek.

      English: <demo en>
      Uzbek: <demo uz>
      ... (5 demonstrations) ...
      English: <source>
      Uzbek:

  Demonstrations: the 5 dev pairs (Django ``dev`` split offline, FLORES+ ``dev`` on the Hub; fixtures:
  the fixtures' dev pairs) without markup or line breaks, preferring English of at most 80
  characters, with the smallest ``sha256(f"{DEMO_SEED}\\x1f{en}")``. Batched greedy decoding with a KV cache and
  left padding, stopped at the first newline (or ``3 * source tokens + 16`` new tokens, at most 256). **Primary**:
  corpus chrF++ (sacrebleu ``CHRF(word_order=2)``, signature ``...|nw:2|...``; character n-grams are kinder than
  BLEU to short, morphologically rich outputs and not at 0 for small models); beside it corpus BLEU (sacrebleu 13a,
  exp smoothing). Both signatures are stored (``chrf++_signature``, ``bleu_signature``), ``primary = "chrf++"``.
* **English check** (:func:`english_texts`): the template's English (instruction and field names), every
  ``English: <text>`` line of the demonstrations, and the item's English (the source of en->X, the
  reference of X->English, as the line ``English: <text>``) must keep the base tokenizer's ids
  (:mod:`paper_utils.evaluate.english_identity`).
"""
from __future__ import annotations

import time
from typing import Any, Sequence

from ..corpora import language as lang_info
from ..errors import ConfigError, DataError
from .english_identity import check_items, english_scores, tokenizer_of
from .textlm import TextLM, chat_text

def translation_prompt(source: str, demos: Sequence[tuple[str, str]], src_name: str, tgt_name: str) -> str:
    """The few-shot prompt; ``demos`` are ``(source side, target side)`` pairs in the prompt's direction."""
    lines = [f"Translate {src_name} to {tgt_name}.", ""]
    for s, t in demos:
        lines += [f"{src_name}: {s}", f"{tgt_name}: {t}", ""]
    lines += [f"{src_name}: {source}", f"{tgt_name}:"]
    return "\n".join(lines)

STYLES = ("few_shot", "instruction")


def instruction_prompt(source: str, src_name: str, tgt_name: str) -> str:
    """The zero-shot instruction (``style="instruction"``), sent as one user turn of the model's chat template.

    >>> print(instruction_prompt("Save", "English", "Uzbek"))
    Translate this English text into Uzbek. Reply with the translation only.
    <BLANKLINE>
    Save
    """
    return f"Translate this {src_name} text into {tgt_name}. Reply with the translation only.\n\n{source}"


def instruction_english_texts(english: str, src_name: str, tgt_name: str) -> dict[str, str]:
    """The English texts of one instruction-style item: the instruction, and the item's English on its own line
    (the source of en->X as the prompt holds it; the reference of X->English).

    >>> instruction_english_texts("Save", "English", "Uzbek")["source"]
    'Save'
    """
    texts = {"template": instruction_prompt("", src_name, tgt_name).rstrip()}
    texts["source" if src_name == "English" else "reference"] = english
    return texts


def english_texts(english: str, demos: Sequence[dict], src_name: str, tgt_name: str) -> dict[str, str]:
    """The English texts of one item, labeled: ``template``, ``demo <k>``, and ``source`` (en->X) or ``reference``.

    ``english`` is the item's English side (the source of en->X, the reference of X->English); it and the
    demonstrations' English are checked as the lines they are (or would be) in the prompt, ``"English: <text>"``,
    so the leading space a BPE sees is there.

    >>> texts = english_texts("Save", [{"en": "Open", "target": "Ochish"}], "English", "Uzbek")
    >>> texts["template"], texts["demo 1"], texts["source"]
    ('Translate English to Uzbek.\\n\\nEnglish:\\nUzbek:', 'English: Open', 'English: Save')
    """
    en_name = src_name if src_name == "English" else tgt_name
    texts = {"template": f"Translate {src_name} to {tgt_name}.\n\n{src_name}:\n{tgt_name}:"}
    texts.update({f"demo {k}": f"{en_name}: {d['en']}" for k, d in enumerate(demos, 1)})
    texts["source" if src_name == en_name else "reference"] = f"{en_name}: {english}"
    return texts

def translation_scores(hypotheses: Sequence[str], references: Sequence[str]) -> dict:
    """Corpus chrF++ (primary) and BLEU (13a) with their sacrebleu signatures."""
    from sacrebleu.metrics import BLEU, CHRF

    hyps, refs = list(hypotheses), list(references)
    if len(hyps) != len(refs):
        raise DataError(f"{len(hyps)} hypotheses but {len(refs)} references: they must be paired one to one")
    if not refs:
        raise DataError("no references: empty test set")
    bleu, chrf = BLEU(), CHRF(word_order=2)
    b, c = bleu.corpus_score(hyps, [refs]), chrf.corpus_score(hyps, [refs])
    return {"primary": "chrf++", "chrf++": c.score, "bleu": b.score, "bleu_signature": bleu.get_signature().format(),
            "chrf++_signature": chrf.get_signature().format(), "bleu_detail": str(b), "n": len(hyps)}


def evaluate_translation(lm: TextLM, test: Sequence[dict], demos: Sequence[dict], language: str,
                         direction: str, *, batch_size: int = 8, max_new_tokens: int = 256,
                         base_tokenizer: Any = None, style: str = "few_shot") -> tuple[list[dict], dict]:
    """Translate ``test`` in ``direction`` (``"en-xx"`` or ``"xx-en"``); returns (records, scores).

    ``style``: ``"few_shot"`` (the template above with ``demos``) or ``"instruction"`` (zero-shot:
    :func:`instruction_prompt` as one user turn of the model's chat template, ``demos`` unused; for instruction
    models, the Franken-Adapter comparison). Every record carries ``english_identical`` (and ``english_changed``)
    from the check of :func:`english_texts` (:func:`instruction_english_texts`) against ``base_tokenizer``
    (``None``: the model's own tokenizer); the scores carry ``english_identical_share`` and the ``style``.
    """
    if style not in STYLES:
        raise ConfigError("style", style, f"use one of: {', '.join(STYLES)}")
    en_name, x_name = "English", lang_info(language).name
    to_x = direction == f"en-{language}"
    if not to_x and direction != f"{language}-en":
        raise ConfigError("direction", direction, f"use 'en-{language}' or '{language}-en'")
    src_key, tgt_key = ("en", "target") if to_x else ("target", "en")
    src_name, tgt_name = (en_name, x_name) if to_x else (x_name, en_name)
    if style == "instruction":
        demos, tok = [], tokenizer_of(lm)
        prompts = [chat_text(tok, instruction_prompt(r[src_key], src_name, tgt_name)) for r in test]
        template = chat_text(tok, instruction_prompt("<source>", src_name, tgt_name))
    else:
        pairs = [(d[src_key], d[tgt_key]) for d in demos]
        prompts = [translation_prompt(r[src_key], pairs, src_name, tgt_name) for r in test]
        template = translation_prompt("<source>", [], src_name, tgt_name)
    src_lens = lm.count_tokens([r[src_key] for r in test])
    limits = [min(max_new_tokens, 3 * n + 16) for n in src_lens]
    start = time.perf_counter()
    hyps = lm.generate(prompts, max_new_tokens=limits, batch_size=batch_size)
    seconds = time.perf_counter() - start
    refs = [r[tgt_key] for r in test]
    scores = translation_scores(hyps, refs)
    scores.update({"direction": direction, "style": style, "shots": len(demos), "demo_ids": [d["id"] for d in demos],
                   "seconds": round(seconds, 2), "template": template})
    english = check_items(tokenizer_of(lm) if base_tokenizer is None else base_tokenizer, tokenizer_of(lm),
                          [instruction_english_texts(r["en"], src_name, tgt_name) if style == "instruction"
                           else english_texts(r["en"], demos, src_name, tgt_name) for r in test])
    records = [{"id": r["id"], "source": r[src_key], "reference": ref, "hypothesis": h, **e}
               for r, ref, h, e in zip(test, refs, hyps, english)]
    scores.update(english_scores(records))
    return records, scores


__all__ = ["STYLES", "english_texts", "instruction_english_texts", "instruction_prompt", "translation_prompt",
           "translation_scores", "evaluate_translation"]
