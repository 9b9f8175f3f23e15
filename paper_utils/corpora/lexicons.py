"""Word and phrase translations: CLDR names for every language, plus the Uzbek-English dictionary for Uzbek.

Example::

    >>> import json, pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())           # a two-entry uz-en dictionary pack
    >>> base = root / "uz_en_dictionary" / "database"
    >>> for folder, entry in (("uz-en", {"kitob": "n. book; volume"}), ("en-uz", {"book": "n. kitob, daftar"})):
    ...     (base / folder).mkdir(parents=True)
    ...     _ = (base / folder / "k.json").write_text(json.dumps(entry), encoding="utf-8")
    >>> rows, texts = uz_dictionary(str(root))
    >>> for row in rows:                                  # (target, en, pos, source): both directions
    ...     print(row)
    ('kitob', 'book', 'noun', 'uz-en-dictionary/uz-en')
    ('kitob', 'book', 'noun', 'uz-en-dictionary/en-uz')
    >>> texts
    ('kitob', 'kitob, daftar')
    >>> lexicon("es", exclude_held_out=False)[0]["source"]   # CLDR names: no pack needed
    'cldr'

The dictionary pack also gives Uzbek monolingual text (the uz-en headwords and the en-uz
translations, :mod:`.monolingual_text`); :func:`uz_dictionary` parses it once for both.
"""
from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import datasets

from ..errors import DataError
from .arguments import pack_root
from .language_table import target_language
from .pairs import cldr_pairs, held_out_keys_for
from .splits import DEV_SIZE, SPLIT_SEED, TEST_SIZE, check_sizes, normalize_key

_UZ_EN_LABELS = {"v.i.": "verb", "v.t.": "verb", "v.": "verb", "v.n.": "noun", "abstr.": "noun",
                 "n.": "noun", "adj.": "adj", "adv.": "adv", "num.": "num", "pron.": "pron",
                 "int.": "intj", "interj.": "intj", "conj.": "conj", "postp.": "adp", "dim.": "",
                 "s.": "see"}
_EN_UZ_POS = {"n": "noun", "v": "verb", "vt": "verb", "vi": "verb", "adj": "adj", "a": "adj",
              "adv": "adv", "prep": "adp", "cj": "conj", "conj": "conj", "num": "num", "pron": "pron",
              "int": "intj", "interj": "intj", "pl": "noun"}
_LEADING_MARK = re.compile(r"^\s*(\([^()]*\)|\[[A-Za-z]\]|[a-z]{1,6}\.(?:[a-z]{1,2}\.)?)\s*")
_PAREN = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_SENSE_NO = re.compile(r"\b\d+\)\s*")
_GLOSS_OK = re.compile(r"^[A-Za-z][A-Za-z0-9 '\-/]*$")   # an English gloss: no leftover markup


def _read_dictionary_json(path: Path) -> list[tuple[str, str]]:
    """All (key, value) pairs of one dictionary file, duplicates kept, invalid UTF-8 -> U+FFFD."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
        return json.loads(text, object_pairs_hook=lambda items: items)
    except json.JSONDecodeError as exc:
        raise DataError(f"cannot parse {path} line {exc.lineno}: {exc.msg}") from exc
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc


def _first_item(text: str) -> str:
    """First comma/semicolon item of the first sentence, parentheses removed."""
    text = _SENSE_NO.sub("", _PAREN.sub(" ", text))
    text = re.split(r"(?<=[^\W\d_]{2})\.|;|,", text, maxsplit=1)[0]
    return " ".join(text.split()).strip(" .:-")


def _uz_apostrophes(text: str) -> str:
    """The en-uz files write o` g` with a backtick; use the ASCII apostrophe like the uz-en files."""
    return text.replace("`", "'")


@lru_cache(maxsize=8)
def uz_dictionary(root: str) -> tuple[tuple[tuple[str, str, str, str], ...], tuple[str, ...]]:
    """(lexicon rows (target, en, pos, source), Uzbek monolingual texts) from the uz-en dictionary."""
    base = Path(root) / "uz_en_dictionary" / "database"
    rows: list[tuple[str, str, str, str]] = []
    texts: list[str] = []
    uz_en = sorted((base / "uz-en").glob("*.json"))
    en_uz = sorted((base / "en-uz").glob("*.json"))
    if not uz_en or not en_uz:
        raise DataError(f"no dictionary files under {base}/{{uz-en,en-uz}}/<letter>.json")
    for path in uz_en:
        for key, value in _read_dictionary_json(path):
            if "\ufffd" in key + value:
                continue
            head = key.replace("\ufeff", "").strip()
            if not head:
                continue
            texts.append(head)
            rest, marks = value.strip(), []
            while (m := _LEADING_MARK.match(rest)):
                marks.append(m.group(1))
                rest = rest[m.end():]
            if "s." in marks:                          # cross-reference "s. other_word"
                continue
            pos = next((_UZ_EN_LABELS[k] for k in marks if k in _UZ_EN_LABELS), "")
            rest = re.sub(r"^of \S+?(?:;|\.\s|\.$)\s*", "", rest)
            gloss = _first_item(rest)
            if _GLOSS_OK.match(gloss):
                rows.append((head, gloss, pos, "uz-en-dictionary/uz-en"))
    for path in en_uz:
        for key, value in _read_dictionary_json(path):
            if "\ufffd" in key + value:
                continue
            head, rest, pos = key.strip(), value.strip(), ""
            while (m := re.match(r"^\s*(\([^()]*\)|\[[A-Za-z]\]|[a-z]{1,6}[.,]?)(?=\s|$)\s*", rest)):
                token = m.group(1).strip(".,")
                if token not in _EN_UZ_POS and not m.group(1).startswith(("(", "[")):
                    break
                pos = pos or _EN_UZ_POS.get(token, "")
                rest = rest[m.end():]
            if not head or "qarang" in rest.split(";")[0]:
                continue
            uz_text = _uz_apostrophes(" ".join(_SENSE_NO.sub("", _PAREN.sub(" ", rest)).split())).strip(" .;,")
            if uz_text:
                texts.append(uz_text)
            first = _uz_apostrophes(_first_item(rest))
            if first and "~" not in first and "?" not in first:
                rows.append((first, head, pos, "uz-en-dictionary/en-uz"))
    seen, unique = set(), []
    for row in rows:
        k = (row[0].casefold(), row[1].casefold(), row[3])
        if k not in seen:
            seen.add(k)
            unique.append(row)
    return tuple(unique), tuple(texts)


def lexicon(lang: str, *, exclude_held_out: bool = True, seed: int = SPLIT_SEED,
            test_size: float = TEST_SIZE, dev_size: float = DEV_SIZE,
            roots: Mapping[str, str | os.PathLike] | None = None) -> datasets.Dataset:
    """Word/phrase translations, columns ``target, en, pos, source``.

    Example::

        >>> sorted(set(lexicon("es", exclude_held_out=False)["source"]))   # CLDR names only: no pack
        ['cldr']
        >>> sorted(set(lexicon("uz")["source"]))      # reads the dictionary pack  # doctest: +SKIP
        ['cldr', 'uz-en-dictionary/en-uz', 'uz-en-dictionary/uz-en']

    Every language gets its CLDR names (``pos`` ``"propn"`` for territories/languages, ``"noun"`` for
    months/days). Uzbek adds the uz-en dictionary (both directions; entries with undecodable bytes
    dropped; cross-references ``s. X`` / ``qarang`` dropped; ``en`` (uz-en) or ``target`` (en-uz) is
    the first item of the first sense; ``pos`` is a coarse tag ``noun verb adj adv adp conj num pron
    intj propn`` or ``""``). With ``exclude_held_out`` (default) rows whose target equals a held-out
    parallel target (normalised) are dropped.
    """
    lg = target_language(lang)
    check_sizes(test_size, dev_size)
    rows: list[tuple[str, str, str, str]] = []
    for p in cldr_pairs(lang):
        category = p.origin.split(":")[0]
        rows.append((p.target, p.en, "propn" if category in ("territories", "languages") else "noun", "cldr"))
    if "uz-en-dictionary" in lg.offline:
        rows.extend(uz_dictionary(str(pack_root("uz-en-dictionary", roots)))[0])
    if exclude_held_out:
        held = held_out_keys_for(lang, roots, seed, test_size, dev_size)
        rows = [r for r in rows if normalize_key(r[0]) not in held]
    return datasets.Dataset.from_dict({"target": [r[0] for r in rows], "en": [r[1] for r in rows],
                                       "pos": [r[2] for r in rows], "source": [r[3] for r in rows]},
                                      features=datasets.Features({c: datasets.Value("string") for c in
                                                                  ("target", "en", "pos", "source")}))

