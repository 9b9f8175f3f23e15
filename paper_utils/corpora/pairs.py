"""Parallel English-target pairs: Django UI strings, CLDR names (both offline), FLORES+ (Hub); their splits.

Example::

    >>> import pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())           # a one-entry Django pack, to show the columns
    >>> po = root / "django" / "conf" / "locale" / "uz" / "LC_MESSAGES" / "django.po"
    >>> po.parent.mkdir(parents=True)
    >>> _ = po.write_text('msgid "Save"\\nmsgstr "Saqlash"\\n', encoding="utf-8")
    >>> pairs = parallel("uz", "all", roots={"django": root})
    >>> pairs.column_names, pairs[0]["target"]
    (['id', 'en', 'target', 'source', 'split', 'origin'], 'Saqlash')

* **Django pairs** (``source="django"``): every ``django/**/locale/<lang>/LC_MESSAGES/django.po``,
  files in sorted path order; obsolete and fuzzy entries dropped; plural entries give
  ``msgid -> msgstr[0]`` (the singular form; for languages with one plural form, such as ko/ms/id,
  it is the only form); entries whose translation is empty dropped; both sides stripped of outer
  whitespace; pairs whose either side has no letter or digit (``":"``, ``":?.!"``) dropped;
  deduplicated by exact English text, keeping the first file's translation (``conf/``
  before ``contrib/``). Format placeholders (``%(name)s``, ``%s``, ``{}``) and HTML tags are kept
  verbatim by default: they are part of the human reference and a translator must copy them;
  ``markup="drop"`` removes the pairs that contain any.
* **CLDR pairs** (``source="cldr"``): babel names of territories, languages, stand-alone wide month
  names and wide day names, aligned by CLDR key with ``Locale("en")``; pairs whose target equals the
  English name (``Malaysia``/``Malaysia``) are dropped: no translation signal, and they would put
  English text into the target-language corpus.
* **Splits**: pairs are joined into groups that share a *normalised* English text or a normalised
  target text (:func:`~.splits.normalize_key`), across Django and CLDR; each group goes to one split
  by :func:`~.splits.split_of` of the smallest English text of the group. So near-duplicates across
  Django apps ("Name" / "Name:") and one translation used for two English strings never straddle splits.
  :func:`held_out_keys` are the normalised dev and test targets, which every training text leaves out.
* **FLORES+** (``source="flores"``, the ``paper`` preset): ``openlanguagedata/flores_plus`` from the
  Hub, aligned with ``eng_Latn`` by id; offline it raises AssetError naming ``source='django'``.
"""
from __future__ import annotations

import hashlib
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Mapping, NamedTuple

import datasets
import polib
from babel import Locale

from ..errors import ConfigError, DataError
from .arguments import choice, pack_root
from .hub import hub_load
from .language_table import language, target_language
from .splits import (
    DEV_SIZE,
    HELD_OUT,
    SPLIT_SEED,
    SPLITS,
    TEST_SIZE,
    check_sizes,
    normalize_key,
    split_of,
)

PARALLEL_SOURCES = ("django", "cldr", "flores")
CLDR_CATEGORIES = ("territories", "languages", "months", "days")

_MARKUP_RE = re.compile(r"%\([^)]*\)[-#0+]*\d*(?:\.\d+)?[a-zA-Z]|%[-#0+]*\d*(?:\.\d+)?[sdifrxXeEgGc]"
                        r"|\{[^{}\s]*\}|</?[a-zA-Z][^<>]*>")


def has_markup(text: str) -> bool:
    """True when ``text`` holds a format placeholder or an HTML tag.

    Example::

        >>> has_markup("Delete %(name)s?"), has_markup("<b>Hi</b>"), has_markup("Save")
        (True, True, False)
    """
    return _MARKUP_RE.search(text) is not None


class Pair(NamedTuple):
    en: str
    target: str
    source: str
    origin: str


# --------------------------------------------------------------------------------------------
# Django .po catalogs

@lru_cache(maxsize=64)
def django_pairs(lang: str, root: str) -> tuple[Pair, ...]:
    """The pairs of every ``django.po`` of ``lang`` under ``root`` (the rules in the module docstring)."""
    base = Path(root)
    files = sorted(base.glob(f"**/locale/{lang}/LC_MESSAGES/django.po"))
    if not files:
        raise DataError(f"no django.po for lang={lang!r} under {base} (expected **/locale/{lang}/LC_MESSAGES/)")
    pairs: dict[str, Pair] = {}
    for path in files:
        try:
            catalog = polib.pofile(str(path))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot parse {path}: {exc}") from exc
        rel = path.relative_to(base).as_posix()
        origin = rel.split("/locale/")[0]
        for entry in catalog:
            if entry.obsolete or "fuzzy" in entry.flags:
                continue
            target = entry.msgstr_plural.get(0, "") if entry.msgid_plural else entry.msgstr
            en, target = entry.msgid.strip(), (target or "").strip()
            if en in pairs or not normalize_key(en) or not normalize_key(target):
                continue                                # empty or punctuation-only (":", ":?.!")
            pairs[en] = Pair(en, target, "django", origin)
    return tuple(pairs.values())


# --------------------------------------------------------------------------------------------
# CLDR names (babel)

@lru_cache(maxsize=64)
def cldr_pairs(lang: str) -> tuple[Pair, ...]:
    """CLDR names of ``lang`` (territories, languages, months, days) aligned with English by CLDR key."""
    loc, en = Locale.parse(language(lang).cldr), Locale("en")

    def tables(locale):
        return {"territories": locale.territories, "languages": locale.languages,
                "months": locale.months["stand-alone"]["wide"], "days": locale.days["format"]["wide"]}

    src, tgt = tables(en), tables(loc)
    pairs, seen = [], set()
    for category in CLDR_CATEGORIES:
        for key in sorted(src[category], key=str):
            en_name, name = src[category].get(key), tgt[category].get(key)
            if not en_name or not name:
                continue
            en_name, name = str(en_name).strip(), str(name).strip()
            if not en_name or not name or name == en_name or en_name in seen:
                continue
            seen.add(en_name)
            pairs.append(Pair(en_name, name, "cldr", f"{category}:{key}"))
    return tuple(pairs)


# --------------------------------------------------------------------------------------------
# split assignment over Django + CLDR

@lru_cache(maxsize=64)
def assigned_pairs(lang: str, django_root: str, seed: int, test_size: float, dev_size: float
                   ) -> tuple[tuple[Pair, str], ...]:
    """Every Django and CLDR pair of ``lang`` with its split (groups sharing a normalised side never straddle)."""
    pairs = list(django_pairs(lang, django_root)) + list(cldr_pairs(lang))
    parent = list(range(len(pairs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple[str, str], int] = {}
    for i, pair in enumerate(pairs):
        for side, text in (("en", pair.en), ("target", pair.target)):
            key = normalize_key(text)
            if not key:
                continue
            j = first.setdefault((side, key), i)
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
    rep: dict[int, str] = {}
    for i, pair in enumerate(pairs):
        r = find(i)
        rep[r] = min(rep.get(r, pair.en), pair.en)
    return tuple((pair, split_of(rep[find(i)], seed, test_size, dev_size)) for i, pair in enumerate(pairs))


def held_out_keys(lang: str) -> frozenset[str]:
    """Normalised target texts of every held-out (dev and test) Django and CLDR pair of ``lang``.

    Example::

        >>> normalize_key("Pagi") in held_out_keys("ms")     # a one-word Django string (real pack)  # doctest: +SKIP
        True

    Training text equal to one of these is left out everywhere (:func:`monolingual`, :func:`lexicon`,
    ``study.vocabulary_training``).
    """
    target_language(lang)
    return held_out_keys_for(lang, None, SPLIT_SEED, TEST_SIZE, DEV_SIZE)


def held_out_keys_for(lang: str, roots, seed: int, test_size: float, dev_size: float) -> frozenset[str]:
    """:func:`held_out_keys` for another Django copy (``roots``) or another split rule."""
    assigned = assigned_pairs(lang, str(pack_root("django", roots)), seed, test_size, dev_size)
    keys = {normalize_key(p.target) for p, s in assigned if s in HELD_OUT}
    keys.discard("")
    return frozenset(keys)


def _pair_id(pair: Pair) -> str:
    return f"{pair.source}-{hashlib.sha256(pair.en.encode('utf-8')).hexdigest()[:12]}"


# --------------------------------------------------------------------------------------------
# FLORES+ (Hub)

def _flores(lang: str, split: str) -> datasets.Dataset:
    if split not in HELD_OUT:
        raise ConfigError("split", split, "FLORES+ has no training split; use 'dev' or 'test' (devtest)")
    hub_split = {"dev": "dev", "test": "devtest"}[split]
    alt = f"corpora.parallel({lang!r}, {split!r}, source='django')"
    code = language(lang).flores
    eng = hub_load("openlanguagedata/flores_plus", "eng_Latn", hub_split, alt)
    tgt = hub_load("openlanguagedata/flores_plus", code, hub_split, alt)
    by_id = {row["id"]: row["text"] for row in eng}
    rows = [(row["id"], by_id[row["id"]], row["text"]) for row in tgt if row["id"] in by_id]
    if not rows:
        raise DataError(f"FLORES+ {code} {hub_split}: no sentence aligned with eng_Latn by id")
    return datasets.Dataset.from_dict({
        "id": [f"flores-{hub_split}-{i}" for i, _, _ in rows], "en": [e for _, e, _ in rows],
        "target": [t for _, _, t in rows], "source": ["flores"] * len(rows), "split": [split] * len(rows),
        "origin": [f"flores_plus/{code}"] * len(rows)})


# --------------------------------------------------------------------------------------------
# the loader

def parallel(lang: str, split: str = "test", source: str = "django", *, markup: str = "keep",
             seed: int = SPLIT_SEED, test_size: float = TEST_SIZE, dev_size: float = DEV_SIZE,
             roots: Mapping[str, str | os.PathLike] | None = None) -> datasets.Dataset:
    """English-target sentence pairs, columns ``id, en, target, source, split, origin``.

    Example::

        >>> parallel("uz", "test")[0]["source"]      # reads the Django pack (fetched once)  # doctest: +SKIP
        'django'

    ``split``: ``"train"``, ``"dev"``, ``"test"`` or ``"all"``. ``source``: ``"django"`` (offline,
    human-translated UI strings), ``"cldr"`` (offline names via babel) or ``"flores"`` (FLORES+ from
    the Hub, ``dev``/``test`` = dev/devtest; offline it raises AssetError). ``markup="drop"``
    removes pairs holding a placeholder or HTML tag on either side (``"keep"``: verbatim).
    ``origin`` is the Django app (``contrib/admin``) or the CLDR key (``territories:UZ``).
    """
    target_language(lang)
    choice("source", source, PARALLEL_SOURCES)
    choice("split", split, SPLITS + ("all",))
    choice("markup", markup, ("keep", "drop"))
    check_sizes(test_size, dev_size)
    if source == "flores":
        if split == "all":
            raise ConfigError("split", split, "for source='flores' use 'dev' or 'test'")
        return _flores(lang, split)
    assigned = assigned_pairs(lang, str(pack_root("django", roots)), seed, test_size, dev_size)
    rows = [(p, s) for p, s in assigned if p.source == source and split in ("all", s)
            and not (markup == "drop" and (has_markup(p.en) or has_markup(p.target)))]
    return datasets.Dataset.from_dict({
        "id": [_pair_id(p) for p, _ in rows], "en": [p.en for p, _ in rows],
        "target": [p.target for p, _ in rows], "source": [p.source for p, _ in rows],
        "split": [s for _, s in rows], "origin": [p.origin for p, _ in rows]},
        features=datasets.Features({c: datasets.Value("string")
                                    for c in ("id", "en", "target", "source", "split", "origin")}))

