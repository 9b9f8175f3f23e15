"""Firefox ESR UI strings from Debian's language packs, paired with the en-US source strings.

Example::

    >>> import pathlib, tempfile, zipfile
    >>> root = pathlib.Path(tempfile.mkdtemp())        # a one-file langpack and a one-file omni.ja
    >>> langpack, firefox = root / "uz", root / "en"
    >>> xpi = langpack / XPI_DIR / "langpack-uz@firefox-esr.mozilla.org.xpi"
    >>> xpi.parent.mkdir(parents=True); (firefox / OMNI_DIR).mkdir(parents=True)
    >>> with zipfile.ZipFile(xpi, "w") as zf:
    ...     zf.writestr("localization/uz/toolkit/a.ftl", "save = Saqlash\\nquit = Chiqish\\nok = OK\\n")
    >>> with zipfile.ZipFile(firefox / OMNI_DIR / "omni.ja", "w") as zf:
    ...     zf.writestr("localization/en-US/toolkit/a.ftl", "save = Save\\nok = OK\\n")
    >>> roots = {"firefox-esr-l10n-uz": langpack, "firefox-esr": firefox}
    >>> rows = firefox_strings("uz", roots=roots)
    >>> rows.column_names
    ['file', 'key', 'text', 'en', 'untranslated']
    >>> [(r["key"], r["text"], r["en"], r["untranslated"]) for r in rows]
    [('save', 'Saqlash', 'Save', False), ('quit', 'Chiqish', None, False), ('ok', 'OK', 'OK', True)]
    >>> firefox_documents("uz", min_bytes=5, roots=roots)[0]["text"]
    'Saqlash'

Sources (``data/debian.toml``, fetched by ``assets fetch --preset demo-full``): the package
``firefox-esr-l10n-<locale>`` holds ``langpack-<locale>@firefox-esr.mozilla.org.xpi`` (a zip of
``.ftl`` and ``.properties`` files, parsed by :mod:`.l10n_formats`); ``firefox-esr`` holds the English
files of the same paths inside its two ``omni.ja`` zips (the langpack's ``browser/...`` files in
``browser/omni.ja``, the others in ``omni.ja``; the locale folder is ``en-US`` there).

``file`` is the langpack path with the locale folder written ``{locale}``, the same for every
language; a string pairs with English by ``(file, key)``; ``en`` is None when the English build has
no such string. ``untranslated`` marks strings identical to their English source: language packs
carry English text where a translation is missing (and some strings, such as ``OK``, are the same).
Rows come in sorted file order, each file's strings in file order.

Documents (:func:`firefox_documents`) hold a file's translated strings (paired with English, not
``untranslated``, no keyboard shortcuts) in file order, joined with ``\\n``, cut once the target text reaches ``min_bytes``
(UTF-8); a file's leftover shorter than ``min_bytes`` **joins the file's previous document**, or is
**dropped** when the file has none (the whole file is shorter than ``min_bytes``).
"""
from __future__ import annotations

import os
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import datasets

from ..debian_packs import registry
from ..errors import ConfigError, DataError
from .arguments import choice, debian_root
from .heldout_documents import group_documents
from .l10n_formats import parse_ftl, parse_properties

XPI_DIR = Path("usr/lib/firefox-esr/browser/extensions")
OMNI_DIR = Path("usr/lib/firefox-esr")
ENGLISH_PACKAGE = "firefox-esr"
ENGLISH_LOCALE = "en-US"
_PARSERS = {".ftl": parse_ftl, ".properties": parse_properties}
_STRING_FEATURES = datasets.Features({"file": datasets.Value("string"), "key": datasets.Value("string"),
                                      "text": datasets.Value("string"), "en": datasets.Value("string"),
                                      "untranslated": datasets.Value("bool")})
_DOCUMENT_FEATURES = datasets.Features({"id": datasets.Value("string"), "file": datasets.Value("string"),
                                        "keys": datasets.Sequence(datasets.Value("string")),
                                        "text": datasets.Value("string"), "en": datasets.Value("string")})


def firefox_languages() -> dict[str, tuple[str, str]]:
    """``{language: (package key, Firefox locale)}`` of the pinned language packs."""
    return {p.language: (key, p.locale) for key, p in registry().items() if p.corpus == "firefox-l10n"}


def is_shortcut(key: str) -> bool:
    """True for access keys and key bindings (``save.accesskey``, ``find.commandkey``, ``edit.key``): letters, not text.

    Example::

        >>> is_shortcut("menu-file.accesskey"), is_shortcut("markupView.edit.key"), is_shortcut("monkey")
        (True, True, False)
    """
    lowered = key.lower()
    return lowered.endswith(("accesskey", "commandkey", ".key"))


def _read_zip_strings(zip_path: Path, members: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """``{file: [(key, text)]}`` for ``members = {name inside the zip: file}`` that the zip has."""
    out: dict[str, list[tuple[str, str]]] = {}
    try:
        with zipfile.ZipFile(zip_path) as zf:
            names = set(zf.namelist())
            for name, file in members.items():
                if name in names:
                    out[file] = _PARSERS[Path(name).suffix](zf.read(name).decode("utf-8"))
    except (OSError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read localization files from {zip_path}: {exc}") from exc
    return out


def _file_name(path: str, locale: str) -> str:
    return "/".join("{locale}" if part == locale else part for part in path.split("/"))


def _english_location(file: str) -> tuple[Path, str]:
    """(omni.ja relative to the firefox-esr folder, name inside it) of a langpack file's English source."""
    parts = [ENGLISH_LOCALE if part == "{locale}" else part for part in file.split("/")]
    if parts[0] == "browser":
        return OMNI_DIR / "browser" / "omni.ja", "/".join(parts[1:])
    return OMNI_DIR / "omni.ja", "/".join(parts)


@lru_cache(maxsize=None)
def firefox_rows(lang: str, langpack_root: str, english_root: str) -> tuple[tuple[str, str, str, str | None], ...]:
    """``(file, key, text, en)`` of one language pack, sorted by file, strings in file order."""
    _, locale = firefox_languages()[lang]
    xpis = sorted((Path(langpack_root) / XPI_DIR).glob("langpack-*.xpi"))
    if len(xpis) != 1:
        raise DataError(f"expected one langpack-*.xpi in {Path(langpack_root) / XPI_DIR}, found {[p.name for p in xpis]}")
    with zipfile.ZipFile(xpis[0]) as zf:
        members = {name: _file_name(name, locale) for name in zf.namelist() if Path(name).suffix in _PARSERS}
    target = _read_zip_strings(xpis[0], members)
    wanted: dict[Path, dict[str, str]] = {}
    for file in target:
        omni, inner = _english_location(file)
        wanted.setdefault(omni, {})[inner] = file
    english: dict[str, dict[str, str]] = {}
    for omni, inner_members in sorted(wanted.items()):
        english.update({file: dict(entries) for file, entries in
                        _read_zip_strings(Path(english_root) / omni, inner_members).items()})
    return tuple((file, key, text, english.get(file, {}).get(key))
                 for file in sorted(target) for key, text in target[file])


def _rows(lang: str, roots: Mapping[str, str | os.PathLike] | None):
    choice("lang", lang, tuple(firefox_languages()))
    package, _ = firefox_languages()[lang]
    return firefox_rows(lang, str(debian_root(package, roots)), str(debian_root(ENGLISH_PACKAGE, roots)))


def firefox_strings(lang: str, *, roots: Mapping[str, str | os.PathLike] | None = None) -> datasets.Dataset:
    """Every string of the Firefox ESR language pack of ``lang``: columns ``file, key, text, en, untranslated``.

    Example::

        >>> firefox_strings("uz").num_rows > 8000      # reads the pinned Debian packages  # doctest: +SKIP
        True

    ``roots={package key: folder}`` reads other copies of the unpacked packages (the tests' fakes).
    """
    rows = _rows(lang, roots)
    return datasets.Dataset.from_dict(
        {"file": [r[0] for r in rows], "key": [r[1] for r in rows], "text": [r[2] for r in rows],
         "en": [r[3] for r in rows], "untranslated": [r[2] == r[3] for r in rows]}, features=_STRING_FEATURES)


def translated_strings(lang: str, *, roots: Mapping[str, str | os.PathLike] | None = None
                       ) -> list[tuple[str, str, str, str]]:
    """``(file, key, text, en)`` of the strings documents use: an English source that differs, no shortcuts."""
    return [(file, key, text, en) for file, key, text, en in _rows(lang, roots)
            if en is not None and text != en and not is_shortcut(key)]


def firefox_documents(lang: str, min_bytes: int = 200, *,
                      roots: Mapping[str, str | os.PathLike] | None = None) -> datasets.Dataset:
    """A file's translated strings grouped into documents of at least ``min_bytes``: ``id, file, keys, text, en``.

    Example::

        >>> min(len(t.encode()) for t in firefox_documents("uz")["text"]) >= 200   # doctest: +SKIP
        True

    Only strings with an English source that differs from them are used, keyboard shortcuts
    (:func:`is_shortcut`) left out; ``id`` is ``<file>#<n>``.
    """
    documents = group_documents(translated_strings(lang, roots=roots), min_bytes)
    return datasets.Dataset.from_dict(
        {"id": [d.id for d in documents], "file": [d.file for d in documents],
         "keys": [list(d.keys) for d in documents], "text": [d.text for d in documents],
         "en": [d.en for d in documents]}, features=_DOCUMENT_FEATURES)
