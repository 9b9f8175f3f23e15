"""Which language a text is in: py3langid restricted to the study's languages and their known confusers.

Example::

    >>> identify("Please enter a valid email address.")
    'en'
    >>> identify("Introduzca una dirección de correo electrónico válida.")
    'es'
    >>> identify("올바른 이메일 주소를 입력하세요.")
    'ko'
    >>> identify("12345"), identify("")
    ('und', 'und')
    >>> target_rate(["Hola, ¿cómo estás?", "Hello, how are you?"], "es")
    0.5

**Identifier.** ``py3langid`` (0.4.0, BSD; a fork of langid.py whose model covers 140 labels, Uzbek ``uz``
among them) with its classes restricted to :data:`CANDIDATES`: English, the study's languages (``uz ms ko
es``) and Indonesian (:data:`CONFUSERS`: ``id``, Malay's near twin, which langid prefers on many Malay
strings). Restricting the classes keeps a short UI string from landing on one of 140 unrelated labels. More
confusers cost accuracy on the study's parallel data (``benchmarks/language_id_accuracy.py`` measures three
sets on the Django test split; adding ``tr zh`` -- where a small Qwen model drifts -- lowers Uzbek from 0.89 to
0.82 and English from 0.70-0.78 to 0.68-0.77, per language's test set); pass ``candidates=`` to use another set. A text with no letters is ``"und"``.
Short UI strings are hard: with the default set, English on the Django test split is right 70-78 % of the time
(single words such as "Name" or "Email" are shared by many languages; ``uz`` is the usual wrong label), Korean
97 %, Spanish 86 %, Uzbek 89 %, Malay 88 % (``ms`` or ``id``; 53 % as ``ms`` alone); longer responses are easier.

**Malay and Indonesian.** The two are close standard varieties that langid often cannot tell apart on short
strings. :func:`identify` returns what the model says (``"id"`` stays ``"id"``); :func:`target_rate` counts
a text as Malay when it is ``ms`` *or* ``id`` (:data:`ACCEPTED`), since the question there is "did the model
answer in the target language rather than English", not which Malay standard it used. Both the strict and
the accepted accuracy are measured on the study's parallel data (``benchmarks/language_id_accuracy.py``).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Iterable

from .errors import ConfigError

STUDY_LANGUAGES = ("uz", "ms", "ko", "es")
CONFUSERS = ("id",)
WIDE_CONFUSERS = ("id", "tr", "zh")   # where a small Qwen model drifts (Turkish for Uzbek, Chinese); a reference set
CANDIDATES = ("en",) + STUDY_LANGUAGES + CONFUSERS
ACCEPTED = {"ms": frozenset({"ms", "id"})}
UNDETERMINED = "und"


@lru_cache(maxsize=4)
def _identifier(candidates: tuple[str, ...] = CANDIDATES):
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    unknown = sorted(set(candidates) - set(identifier.labels))
    if unknown:
        raise ConfigError("candidates", unknown, f"py3langid's model has no such label; it knows "
                                                 f"{', '.join(sorted(identifier.labels))}")
    identifier.set_languages(list(candidates))
    return identifier


def identify(text: str, candidates: tuple[str, ...] = CANDIDATES) -> str:
    """The language code of ``text`` among ``candidates`` (``"und"`` when it has no letters)."""
    if not any(c.isalpha() for c in text):
        return UNDETERMINED
    return _identifier(tuple(candidates)).classify(text)[0]


def accepted_labels(language: str) -> frozenset[str]:
    """The labels that count as ``language`` in :func:`target_rate` (``ms``: ``ms`` and ``id``)."""
    if language not in CANDIDATES:
        raise ConfigError("language", language, f"use one of: {', '.join(CANDIDATES)}")
    return ACCEPTED.get(language, frozenset({language}))


def target_rate(texts: Iterable[str], language: str, candidates: tuple[str, ...] = CANDIDATES) -> float:
    """The share of ``texts`` identified as ``language`` (Malay: ``ms`` or ``id``); ``nan`` for no texts."""
    wanted = accepted_labels(language)
    labels = [identify(t, candidates) for t in texts]
    return sum(label in wanted for label in labels) / len(labels) if labels else float("nan")


__all__ = ["STUDY_LANGUAGES", "CONFUSERS", "WIDE_CONFUSERS", "CANDIDATES", "ACCEPTED", "UNDETERMINED", "identify",
           "accepted_labels", "target_rate"]
