"""The languages of the study (``data/languages.toml``): codes, scripts, FLORES and CLDR names, offline sources.

Example::

    >>> language("uz").flores, language("uz").apostrophe_words
    ('uzn_Latn', True)
    >>> target_language("en")
    Traceback (most recent call last):
    ...
    paper_utils.errors.ConfigError: invalid lang='en': use one of the target languages: es, id, ko, ms, ta, uz

The table is read once (:func:`languages` is cached; ``corpora.clear_caches()`` forgets it).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache

from ..errors import ConfigError, DataError
from ..paths import DATA_DIR

LANGUAGES_FILE = DATA_DIR / "languages.toml"


@dataclass(frozen=True)
class Language:
    """One row of ``data/languages.toml``."""

    code: str
    name: str
    script: str
    flores: str
    cldr: str
    role: str
    offline: tuple[str, ...]
    note: str = ""
    apostrophe_words: bool = False       # letters written with an apostrophe (Uzbek o' g')
    apostrophe_marks: tuple[str, ...] = ()  # the characters used for it (Uzbek: ' ‘ ’ ʻ ʼ `)


@lru_cache(maxsize=None)
def languages() -> dict[str, Language]:
    """All languages of the study, by code.

    Example::

        >>> sorted(languages())
        ['en', 'es', 'id', 'ko', 'ms', 'ta', 'uz']
    """
    try:
        with open(LANGUAGES_FILE, "rb") as fh:
            table = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataError(f"cannot read language table {LANGUAGES_FILE}: {exc}") from exc
    return {code: Language(code=code, name=row["name"], script=row["script"], flores=row["flores"],
                           cldr=row["cldr"], role=row["role"], offline=tuple(row["offline"]),
                           note=row.get("note", ""), apostrophe_words=bool(row.get("apostrophe_words", False)),
                           apostrophe_marks=tuple(row.get("apostrophe_marks", ())))
            for code, row in table.items()}


def language(code: str) -> Language:
    """The language ``code``; an unknown code raises ConfigError listing the valid ones.

    Example::

        >>> language("ko").flores, language("ko").script
        ('kor_Hang', 'Hang')
    """
    table = languages()
    if code not in table:
        raise ConfigError("lang", code, f"use one of: {', '.join(sorted(table))} ({LANGUAGES_FILE})")
    return table[code]


def target_languages() -> tuple[str, ...]:
    """Codes of the languages we adapt to (``role = "target"``).

    Example::

        >>> target_languages()
        ('es', 'id', 'ko', 'ms', 'ta', 'uz')
    """
    return tuple(sorted(c for c, lang in languages().items() if lang.role == "target"))


def target_language(lang: str) -> Language:
    """The target language ``lang``; any other code raises ConfigError listing the target languages."""
    if lang not in target_languages():
        raise ConfigError("lang", lang, f"use one of the target languages: {', '.join(target_languages())}")
    return language(lang)
