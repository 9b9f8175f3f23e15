"""Is the protection set English, and does English held out from it keep its ids? (checks around the fixpoint)

Example::

    >>> from paper_utils.fixtures import evaluation_tokenizer
    >>> base = evaluation_tokenizer()
    >>> check_english_texts(["Bu kitob juda foydali.", "Kitoblar va maktablar."] * 5)
    Traceback (most recent call last):
    ...
    paper_utils.errors.ConfigError: invalid english_texts='not English-looking': ...
    >>> report = heldout_identity(base, base, {"docs": ["The cat sat.", "It is red."]})
    >>> report["docs"]["share"], report["docs"]["texts"]
    (1.0, 2)

:func:`paper_utils.vocab.extend_tokenizer` fits its English protection on ``english_texts`` (refused when empty
or not English-looking: :func:`check_english_texts`) and measures it on ``english_heldout``, English from other
sources (:func:`heldout_identity`); under ``english_floor`` it stops with the worst examples
(:class:`EnglishDriftError`) and returns nothing, so nothing gets written.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Mapping, Sequence

from ..errors import ConfigError, DataError
from .candidates import backend_of

# The 60 most frequent English words (function words); English running text has ~40 % of its words among them.
ENGLISH_FUNCTION_WORDS = frozenset(
    "the of and to a in is that for it as was with be by on not he i this are or his from at which but have "
    "an they you were her she there been one all we their has would when if so no will more can who what".split())
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


class EnglishDriftError(DataError):
    """The extension changes more held-out English than ``english_floor`` allows; nothing was written."""


def check_english_texts(texts: Sequence[str], parameter: str = "english_texts", min_share: float = 0.10,
                        min_function_words: float = 0.5) -> None:
    """Refuse an empty or not English-looking protection set, naming ``parameter``.

    English-looking: in its running texts (four words or more), if it has any, at least ``min_share`` of the
    words are English function words (:data:`ENGLISH_FUNCTION_WORDS`; English prose: ~40 %); and either that
    share holds over all its words, or at least ``min_function_words`` of the function words occur in it (a
    word list). Uzbek, Malay or Korean text fails; so does a word list mixed with target-language prose.
    """
    texts = [t for t in texts if isinstance(t, str) and t.strip()]
    if not texts:
        raise ConfigError(parameter, "empty", "give English texts to protect, e.g. study.english_protection(cfg)")
    vocab: set[str] = set()
    running = running_function = words_all = function_all = 0
    for text in texts:
        words = [w.lower() for w in _WORD.findall(text)]
        hits = sum(w in ENGLISH_FUNCTION_WORDS for w in words)
        vocab.update(words)
        words_all, function_all = words_all + len(words), function_all + hits
        if len(words) >= 4:
            running, running_function = running + len(words), running_function + hits
    covered = len(ENGLISH_FUNCTION_WORDS & vocab) / len(ENGLISH_FUNCTION_WORDS)
    share, running_share = function_all / max(words_all, 1), running_function / max(running, 1)
    if (running and running_share < min_share) or (share < min_share and covered < min_function_words):
        raise ConfigError(parameter, "not English-looking",
                          f"{running_share:.1%} of its running-text words and {share:.1%} of all its words are common "
                          f"English function words (need {min_share:.0%}), and {covered:.0%} of those words occur "
                          f"in it (a word list needs {min_function_words:.0%}); pass English text, e.g. "
                          "study.english_protection(cfg)")


def identical(base_tokenizer, extended_tokenizer, texts: Sequence[str]) -> list[bool]:
    """Per text: same ids under both tokenizers (no special tokens, as the study's scorers encode)."""
    base, ext = backend_of(base_tokenizer), backend_of(extended_tokenizer)
    a = base.encode_batch(list(texts), add_special_tokens=False)
    b = ext.encode_batch(list(texts), add_special_tokens=False)
    return [x.ids == y.ids for x, y in zip(a, b)]


def changed_units(base_tokenizer, extended_tokenizer, texts: Sequence[str], top: int = 10) -> list[dict]:
    """The pre-tokenized units whose ids change, most frequent first, with their tokens before and after."""
    base, ext = backend_of(base_tokenizer), backend_of(extended_tokenizer)
    norm, pre = ext.normalizer, ext.pre_tokenizer
    counts: Counter = Counter()
    example: dict[str, str] = {}
    for text in texts:
        s = norm.normalize_str(text) if norm is not None else text
        for unit in dict.fromkeys(p for p, _ in pre.pre_tokenize_str(s)) if pre is not None else [s]:
            if [t.id for t in base.model.tokenize(unit)] != [t.id for t in ext.model.tokenize(unit)]:
                counts[unit] += 1
                example.setdefault(unit, text)
    return [{"unit": u, "texts": n, "base": [t.value for t in base.model.tokenize(u)],
             "extended": [t.value for t in ext.model.tokenize(u)], "example": example[u][:120]}
            for u, n in counts.most_common(top)]


def heldout_identity(base_tokenizer, extended_tokenizer, heldout: Mapping[str, Sequence[str]],
                     top: int = 10) -> dict[str, dict]:
    """Per held-out source: ``texts``, ``identical``, ``share`` and the ``worst`` changed units."""
    report = {}
    for source, texts in heldout.items():
        texts = [t for t in texts if t.strip()]
        if not texts:
            raise DataError(f"english_heldout[{source!r}] has no text: give at least one English text per source")
        same = identical(base_tokenizer, extended_tokenizer, texts)
        changed = [t for t, s in zip(texts, same) if not s]
        report[source] = {"texts": len(texts), "identical": sum(same), "share": sum(same) / len(texts),
                          "worst": changed_units(base_tokenizer, extended_tokenizer, changed, top) if changed else []}
    return report


def enforce_floor(report: Mapping[str, dict], floor: float) -> None:
    """Raise :class:`EnglishDriftError` with the worst examples when a source's share is under ``floor``."""
    low = {s: r for s, r in report.items() if r["share"] < floor}
    if not low:
        return
    lines = [f"held-out English identical share under english_floor={floor}:"]
    for source, r in low.items():
        lines.append(f"  {source}: {r['share']:.4%} of {r['texts']:,} texts ({r['texts'] - r['identical']:,} changed); "
                     "worst units:")
        lines += [f"    {w['unit']!r} in {w['texts']} texts: {w['base']} -> {w['extended']}  e.g. {w['example']!r}"
                  for w in r["worst"]]
    lines.append("fix: protect more English (english_texts), use letter_tokens_only=True, a smaller budget, or "
                 "lower english_floor knowingly; nothing was written")
    raise EnglishDriftError("\n".join(lines))
