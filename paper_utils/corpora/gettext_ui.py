"""Target-language desktop UI strings from the gettext catalogs (``.mo``) of pinned Debian packages.

Example::

    >>> import pathlib, tempfile
    >>> mo = pathlib.Path(tempfile.mkdtemp()) / "demo.mo"
    >>> write_mo(mo, [("", "_Save", "_Simpan"), ("", "Open the file", "Buka fail itu"), ("", "OK", "OK")])
    >>> catalog_texts(mo)          # msgid order; accelerators removed, untranslated copies left out
    ['Buka fail itu', 'Simpan']
    >>> texts, report = adaptation_text("ms")   # the pinned packages, screened  # doctest: +SKIP
    >>> report["kept"] > 15_000                                                  # doctest: +SKIP
    True

Why: ``demo-full``'s Malay training text was 624 Django strings (16,748 characters), which the adaptation
runs pass over about 14 times and memorize (README section 8). GNOME, MATE, Xfce, KDE, VLC and other free
desktop software ship human translations of their interfaces; Debian packages them as ``.mo`` files under
``usr/share/locale/<locale>/LC_MESSAGES/``. ``data/debian.toml`` pins the packages (``corpus = "gettext-ui"``,
``language``, ``locale``), chosen by how much text survives the screen below (measured 2026-12-02 over every
bookworm package with a Malay or Uzbek catalog, and for Korean and Spanish among the 571 packages downloaded for
that; the 40 largest per language are pinned: Malay 18,008 strings, 455,991 characters; Uzbek 9,508 and 280,776;
Korean 40,276 and 644,163; Spanish 35,580 and 818,321). A package pinned for two languages has one key per language
(``vlc-l10n``, ``vlc-l10n.uz``): one ``.deb``, two unpacked folders.

**Adaptation text only.** :func:`adaptation_text` feeds the text-LM training of stage 04 and the Franken
recipe (``study.OfflineDebian.training_text``); the tokenizer (stage 02) and the initializers (stage 03) keep
``monolingual(lang, "train")``, so their outputs do not change.

**Held out by source.** The held-out documents are Firefox's (:mod:`.firefox_heldout`), another project;
no Mozilla or Django package is pinned here. The screen (:func:`screen_against_heldout`) drops a string when

* ``in_training``: it repeats an earlier string or a ``monolingual(lang, "train")`` text (normalized);
* ``script``: fewer than half of its letters are in the language's script (:func:`script_share`;
  ``data/languages.toml``; Debian's ``uz`` catalogs hold some Cyrillic Uzbek beside the Latin the study uses);
* ``django_heldout``: it holds a held-out (dev or test) Django target, the targets of translation and
  matching: some run of at most ``CONTAINED_MAX_WORDS`` consecutive words equals a whole target, or it contains
  a longer target as whole words, or it shares a word ``NGRAM``-gram with a target (stricter than
  :func:`.monolingual`'s rule for the Django and CLDR training text, which drops only equal texts and texts
  containing a target of ``MIN_CONTAINED_CHARS`` characters or more);
* ``firefox_contained``: some run of at most ``CONTAINED_MAX_WORDS`` consecutive words equals a whole
  Firefox string that the held-out documents may hold (a string :func:`.heldout_documents.screen` keeps
  against ``monolingual(lang, "train")``, dev or test);
* ``firefox_ngram``: it shares a word ``NGRAM``-gram with a Firefox string.

The last two are the overlap rule of :mod:`.heldout_documents` turned around and made strict, so the
held-out documents built against the old training text pass the same rule against the new one: they stay
the same documents (checked on the real packages in the assets tier).

**Cleaning** (:func:`catalog_texts`): the header entry, translator credits and translations equal to their
English source are left out; GTK's ``_`` and KDE's ``&`` accelerator marks before a letter are removed;
a text needs at least one letter. Plural forms count as separate texts.
"""
from __future__ import annotations

import os
import re
import struct
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping, NamedTuple, Sequence

from ..debian_packs import registry
from ..errors import ConfigError, DataError
from .arguments import debian_root
from .heldout_documents import CONTAINED_MAX_WORDS, NGRAM, _ngrams
from .splits import normalize_key

CORPUS = "gettext-ui"
REASONS = ("in_training", "script", "django_heldout", "firefox_contained", "firefox_ngram")
SCRIPT_NAMES = {"Latn": "LATIN", "Cyrl": "CYRILLIC", "Hang": "HANGUL", "Taml": "TAMIL", "Sinh": "SINHALA"}
_MAGIC = 0x950412DE
_CREDIT_IDS = {"translator-credits", "translator_credits", "Your names", "Your emails", "translators"}
_CREDIT_CONTEXTS = {"NAME OF TRANSLATORS", "EMAIL OF TRANSLATORS"}
_ACCELERATOR = re.compile(r"(?<![\w&_])(?:_|&(?!amp;|lt;|gt;|quot;|apos;|#))(?=\w)")


class MoEntry(NamedTuple):
    """One catalog entry: ``context`` ('' when none), ``msgid``, ``plural`` ('' when none), ``forms``."""

    context: str
    msgid: str
    plural: str
    forms: tuple[str, ...]


def read_mo(path: str | os.PathLike) -> list[MoEntry]:
    """The entries of a GNU ``.mo`` file, decoded with the charset its header names (UTF-8 when none).

    Example::

        >>> import pathlib, tempfile
        >>> mo = pathlib.Path(tempfile.mkdtemp()) / "x.mo"
        >>> write_mo(mo, [("menu", "File", "Fail")])
        >>> read_mo(mo)[-1]
        MoEntry(context='menu', msgid='File', plural='', forms=('Fail',))
    """
    data = Path(path).read_bytes()
    if len(data) < 20:
        raise DataError(f"{path} is not a gettext .mo file ({len(data)} bytes)")
    for order in "<>":
        magic, revision, count, originals, translations = struct.unpack(order + "5I", data[:20])
        if magic == _MAGIC:
            break
    else:
        raise DataError(f"{path} is not a gettext .mo file (magic {data[:4].hex()})")
    if revision >> 16 > 1:
        raise DataError(f"{path}: .mo major revision {revision >> 16} is not supported (0 and 1 are)")
    if max(originals, translations) + 8 * count > len(data):
        raise DataError(f"{path}: its string tables ({count} entries) run past the end of the file")

    def strings(offset: int) -> list[bytes]:
        out = []
        for i in range(count):
            length, start = struct.unpack(order + "2I", data[offset + 8 * i: offset + 8 * i + 8])
            if start + length > len(data):
                raise DataError(f"{path}: entry {i} points past the end of the file")
            out.append(data[start:start + length])
        return out

    raw = list(zip(strings(originals), strings(translations)))
    found = re.search(rb"charset=([\w.-]+)", dict(raw).get(b"", b""))            # the header entry's charset
    charset = "utf-8"
    if found and found.group(1).lower() not in (b"charset", b"utf-8", b"utf8"):
        charset = found.group(1).decode("ascii")
    entries = []
    for key, value in raw:
        try:
            original, translated = key.decode(charset), value.decode(charset)
        except (UnicodeDecodeError, LookupError) as exc:
            raise DataError(f"{path}: cannot decode an entry as {charset}: {exc}") from exc
        context, _, original = original.rpartition("\x04")
        msgid, _, plural = original.partition("\x00")
        entries.append(MoEntry(context, msgid, plural, tuple(translated.split("\x00"))))
    return entries


def write_mo(path: str | os.PathLike, entries: Iterable[tuple[str, str, str]]) -> None:
    """Write ``(context, msgid, msgstr)`` entries as a little-endian UTF-8 ``.mo`` file (tests and examples)."""
    pairs = [(b"", b"Content-Type: text/plain; charset=UTF-8\n")]
    pairs += sorted(((f"{c}\x04{m}" if c else m).encode(), s.encode()) for c, m, s in entries)
    count = len(pairs)
    head, table = 28, 28 + 16 * count          # 7 header words: magic, revision, count, two tables, no hash table
    blob, offsets = b"", []
    for part in [k for k, _ in pairs] + [v for _, v in pairs]:
        offsets.append((len(part), table + len(blob)))
        blob += part + b"\x00"
    header = struct.pack("<7I", _MAGIC, 0, count, head, head + 8 * count, 0, 0)
    Path(path).write_bytes(header + b"".join(struct.pack("<2I", *o) for o in offsets) + blob)


def clean(text: str) -> str:
    """``text`` stripped, with GTK (``_``) and KDE (``&``) accelerator marks before a letter removed.

    Example::

        >>> clean(" Laman _Web "), clean("&Fail"), clean("Tom &amp; Jerry"), clean("nama_fail")
        ('Laman Web', 'Fail', 'Tom &amp; Jerry', 'nama_fail')
    """
    return _ACCELERATOR.sub("", text.strip())


def catalog_texts(path: str | os.PathLike) -> list[str]:
    """The cleaned translations of one ``.mo`` file, in file order (see the module docstring)."""
    out = []
    for entry in read_mo(path):
        if not entry.msgid or entry.msgid in _CREDIT_IDS or entry.context in _CREDIT_CONTEXTS:
            continue
        sources = {clean(entry.msgid), clean(entry.plural)}
        for form in entry.forms:
            text = clean(form)
            if text and text not in sources and any(c.isalpha() for c in text):
                out.append(text)
    return out


def gettext_packages(lang: str) -> list[str]:
    """Keys of the pinned ``gettext-ui`` packages of ``lang`` (``data/debian.toml``), in file order."""
    return [key for key, p in registry().items() if p.corpus == CORPUS and p.language == lang]


def gettext_strings(lang: str, *, roots: Mapping[str, str | os.PathLike] | None = None) -> list[tuple[str, str]]:
    """``(package key, text)`` of every catalog of ``lang`` in its pinned packages, first occurrence of each text.

    A package's catalogs are the ``.mo`` files under ``<locale>/LC_MESSAGES/`` folders of its unpacked tree,
    read in sorted path order; a pinned package without one is an error (its ``extract`` paths are wrong).
    """
    seen: dict[str, str] = {}
    for key in gettext_packages(lang):
        locale = registry()[key].locale or lang
        root = debian_root(key, roots)
        files = sorted(p for p in root.rglob("*.mo") if p.parent.name == "LC_MESSAGES" and p.parent.parent.name == locale)
        if not files:
            raise DataError(f"Debian package {key!r} ({root}) has no {locale}/LC_MESSAGES/*.mo catalog: check its "
                            f"`extract` paths in data/debian.toml")
        for file in files:
            for text in catalog_texts(file):
                seen.setdefault(text, key)
    return [(key, text) for text, key in seen.items()]


def _windows(words: Sequence[str]) -> list[tuple[str, ...]]:
    """Every run of 1 to ``CONTAINED_MAX_WORDS`` consecutive words (the n-grams ``TrainingIndex`` holds)."""
    return [g for n in range(1, CONTAINED_MAX_WORDS + 1) for g in _ngrams(words, n)]


def script_share(text: str, script: str) -> float:
    """The share of the letters of ``text`` in ``script`` (an ISO 15924 code of ``SCRIPT_NAMES``); 0 without letters.

    For a language not written in Latin, Latin letters are left out of the count: Korean UI strings name
    technical terms in Latin (``ISO 9660 설정``), which is still Korean text; a text with no letter of the
    script (``DVD-ROM``) scores 0. Modifier letters (Uzbek ``ʻ``) are not counted.

    Example::

        >>> script_share("Faylni saqlash", "Latn"), script_share("Файлни сақлаш", "Latn"), script_share("gʻoʻza", "Latn")
        (1.0, 0.0, 1.0)
        >>> script_share("ISO 9660 설정", "Hang"), script_share("DVD-ROM", "Hang")
        (1.0, 0.0)
    """
    if script not in SCRIPT_NAMES:
        raise ConfigError("script", script, f"use one of: {', '.join(SCRIPT_NAMES)} (data/languages.toml)")
    name = SCRIPT_NAMES[script]
    letters = [unicodedata.name(c, "") for c in text if c.isalpha() and unicodedata.category(c) != "Lm"]
    if name != "LATIN":
        letters = [n for n in letters if not n.startswith("LATIN")]
    return sum(n.startswith(name) for n in letters) / len(letters) if letters else 0.0


def _held_index(held: Iterable[str]) -> tuple[set, set, list[str]]:
    """Held-out strings as (word tuples of at most ``CONTAINED_MAX_WORDS`` words, their word ``NGRAM``-grams,
    the normalized strings of more words)."""
    whole, grams, longer = set(), set(), []
    for text in held:
        key = normalize_key(text)
        words = key.split()
        if 0 < len(words) <= CONTAINED_MAX_WORDS:
            whole.add(tuple(words))
        elif words:
            longer.append(key)
        grams.update(_ngrams(words, NGRAM))
    return whole, grams, longer


def screen_against_heldout(texts: Sequence[str], training: Iterable[str], django_heldout: Iterable[str],
                           firefox: Iterable[str], script: str | None = None) -> list[str | None]:
    """For each text, the reason it is dropped (``REASONS``) or None when it is kept (module docstring).

    Example::

        >>> screen_against_heldout(["Buka fail itu", "Simpan", "Tutup tetingkap ini sekarang", "Cetak semua"],
        ...                        training=["simpan"], django_heldout=[], firefox=["Tutup tetingkap"])
        [None, 'in_training', 'firefox_contained', None]
    """
    from .monolingual_text import _containing

    seen = {normalize_key(t) for t in training}
    django_whole, django_grams, django_long = _held_index(django_heldout)
    firefox_whole, firefox_grams, _ = _held_index(firefox)
    keys = [normalize_key(t) for t in texts]
    containing = _containing(keys, django_long)
    reasons: list[str | None] = []
    for i, key in enumerate(keys):
        words = key.split()
        windows = _windows(words)
        grams = [g for g in windows if len(g) == NGRAM]
        if not words or key in seen:
            reason = "in_training"
        elif script is not None and script_share(texts[i], script) < 0.5:
            reason = "script"
        elif i in containing or any(w in django_whole for w in windows) or any(g in django_grams for g in grams):
            reason = "django_heldout"
        elif any(w in firefox_whole for w in windows):
            reason = "firefox_contained"
        elif any(g in firefox_grams for g in grams):
            reason = "firefox_ngram"
        else:
            reason = None
        seen.add(key)
        reasons.append(reason)
    return reasons


def adaptation_text(lang: str, *, roots: Mapping[str, str | os.PathLike] | None = None) -> tuple[list[str], dict]:
    """``(texts, report)``: the screened gettext texts of ``lang`` and how many each rule dropped.

    Empty (with a report saying so) for a language without pinned ``gettext-ui`` packages.
    """
    if roots is not None:
        return _build(lang, roots)
    texts, report = _cached(lang)
    return list(texts), dict(report)


@lru_cache(maxsize=8)
def _cached(lang: str) -> tuple[tuple[str, ...], dict]:
    texts, report = _build(lang, None)
    return tuple(texts), report


def _build(lang, roots):
    packages = gettext_packages(lang)
    if not packages:
        return [], {"source": CORPUS, "packages": [], "strings": 0, "kept": 0}
    from .firefox_l10n import translated_strings
    from .heldout_documents import TrainingIndex, screen
    from .language_table import target_language
    from .monolingual_text import monolingual
    from .pairs import held_out_keys_for
    from .splits import DEV_SIZE, SPLIT_SEED, TEST_SIZE

    rows = gettext_strings(lang, roots=roots)
    training = monolingual(lang, "train", roots=roots)["text"]
    # the Firefox strings the held-out documents may hold: those heldout_documents.screen keeps (dev and test)
    firefox = [text for _, _, text, _, reason in screen(translated_strings(lang, roots=roots), TrainingIndex(training))
               if reason is None]
    reasons = screen_against_heldout([t for _, t in rows], training,
                                     held_out_keys_for(lang, roots, SPLIT_SEED, TEST_SIZE, DEV_SIZE), firefox,
                                     script=target_language(lang).script)
    kept = [(key, text) for (key, text), reason in zip(rows, reasons) if reason is None]
    report = {"source": CORPUS, "packages": packages, "strings": len(rows),
              "removed": {r: reasons.count(r) for r in REASONS}, "kept": len(kept),
              "kept_characters": sum(len(t) for _, t in kept),
              "kept_by_package": {k: sum(1 for key, _ in kept if key == k) for k in packages}}
    return [text for _, text in kept], report
