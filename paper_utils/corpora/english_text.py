"""English text by source: word forms that fit the English protection, and sources held out from it.

Example::

    >>> english_word_forms(["soviet"])
    ['soviet', ' soviet', 'Soviet', ' Soviet', 'SOVIET', ' SOVIET']
    >>> english_word_forms(["don't"], forms=("plain",))        # the typographic apostrophe comes along
    ["don't", 'don’t']
    >>> len(python_docstrings(limit=50))                     # the standard library's docstring paragraphs
    50

The vocabulary extension must leave English ids unchanged (:mod:`paper_utils.vocab.english`). It is fitted
on some English and **measured** on English from other sources (held out by source, never by row):

* fitting (:data:`FIT_SOURCES`, composed in :func:`paper_utils.study.english_protection`): the full MMLU
  prompts as stage 05 scores them, the English side of the parallel data, and wordfreq's English list in
  the surface forms a BPE sees (:func:`english_word_forms`);
* held out (:data:`HELDOUT_SOURCES`): docstring paragraphs of the Python standard library
  (:func:`python_docstrings`), of the third-party packages installed from the lock
  (:func:`package_docstrings`), and the package descriptions (READMEs) in their metadata
  (:func:`package_descriptions`); ``demo-full`` adds Firefox's English UI strings (:func:`firefox_english`,
  the pinned Debian ``firefox-esr``). They are code documentation, manuals and messages written by other people
  for other purposes, and the lock pins their versions, so the held-out set is the same on every machine
  that builds the environment from the lock (the standard library follows the Python version, recorded in
  ``run_info.json``).

Texts are paragraphs (split at blank lines, stripped, deduplicated, in a fixed order: files sorted by path).
"""
from __future__ import annotations

import ast
import importlib.metadata
import re
import sysconfig
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

from .arguments import choice
from .splits import SPLIT_SEED, hash_unit

FIT_SOURCES = ("mmlu_prompts", "parallel_en", "wordfreq_en")
HELDOUT_SOURCES = ("python_docstrings", "package_docstrings", "package_descriptions", "firefox_en")
WORD_FORMS = ("plain", "space", "title", "space_title", "upper", "space_upper")

_PARAGRAPH = re.compile(r"\n\s*\n")
_SKIP_DIRS = {"test", "tests", "testing", "idle_test", "site-packages", "dist-packages", "__pycache__",
              "paper_utils"}
# the installer's own packages vary with the Python that made the environment, not with the lock
_SKIP_PACKAGES = {"pip", "setuptools", "pkg_resources", "_distutils_hack", "wheel"}
_SKIP_DISTRIBUTIONS = {"pip", "setuptools", "wheel", "paper-utils"}


def english_word_forms(words: Iterable[str], forms: Sequence[str] = WORD_FORMS) -> list[str]:
    """Each word in the surface forms a BPE sees: as is, after a space, capitalized, upper case.

    A word with an ASCII apostrophe also comes with the typographic one (``don’t``), the way English text
    is often typeset. Forms: ``plain`` ``space`` ``title`` ``space_title`` ``upper`` ``space_upper``.
    """
    for f in forms:
        choice("forms", f, WORD_FORMS)
    out: dict[str, None] = {}
    for word in words:
        spellings = [word] + ([word.replace("'", "\u2019")] if "'" in word else [])
        for w in spellings:
            cased = {"plain": w, "title": w[:1].upper() + w[1:], "upper": w.upper()}
            for f in forms:
                out[(" " if f.startswith("space") else "") + cased[f.removeprefix("space_") if f != "space"
                                                                     else "plain"]] = None
    return list(out)


def apostrophe_words_of(words: Iterable[str]) -> list[str]:
    """The words written with an apostrophe, possessives (``'s``) left out.

    Example::

        >>> apostrophe_words_of(["ma'am", "john's", "int'l", "kitob"])
        ["ma'am", "int'l"]

    Extension joins letter + apostrophe + letter runs into one unit (Uzbek o'zbek), so English words like these
    are the ones its merges could reach across the apostrophe; a possessive's ASCII ``'s`` is cut off by the base
    pre-tokenizer as a contraction, and protecting all 17,506 of them costs the target cut (README).
    """
    return [w for w in words if "'" in w and not w.endswith("'s")]


def paragraphs(text: str) -> list[str]:
    """Non-empty paragraphs of ``text`` (split at blank lines, stripped)."""
    return [p.strip() for p in _PARAGRAPH.split(text) if p.strip()]


def _docstrings(path: Path) -> list[str]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node)
            if doc:
                found += paragraphs(doc)
    return found


def _python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if not _SKIP_DIRS & set(p.relative_to(root).parts[:-1]))


def _collect(files: Iterable[Path], limit: int | None) -> list[str]:
    texts: dict[str, None] = {}
    for path in files:
        texts.update(dict.fromkeys(_docstrings(path)))
        if limit and len(texts) >= limit:
            break
    return list(texts)[:limit] if limit else list(texts)


@lru_cache(maxsize=4)
def python_docstrings(limit: int | None = None) -> list[str]:
    """Docstring paragraphs of the Python standard library (tests left out); ``limit`` stops early."""
    return _collect(_python_files(Path(sysconfig.get_paths()["stdlib"])), limit)


def _site_packages() -> list[Path]:
    roots = dict.fromkeys(Path(sysconfig.get_paths()[k]).resolve() for k in ("purelib", "platlib"))
    return [r for r in roots if r.is_dir()]


@lru_cache(maxsize=4)
def package_docstrings(limit: int | None = None) -> list[str]:
    """Docstring paragraphs of the installed third-party packages (this study's own package left out)."""
    files = [p for root in _site_packages() for p in _python_files(root)
             if p.relative_to(root).parts[0] not in _SKIP_PACKAGES]
    return _collect(sorted(files), limit)


@lru_cache(maxsize=4)
def package_descriptions(limit: int | None = None) -> list[str]:
    """Paragraphs of the long descriptions (READMEs) of the installed distributions, by distribution name."""
    dists = sorted(importlib.metadata.distributions(), key=lambda d: (d.metadata["Name"] or "").lower())
    texts: dict[str, None] = {}
    for dist in dists:
        if (dist.metadata["Name"] or "").lower().replace("_", "-") in _SKIP_DISTRIBUTIONS:
            continue
        body = dist.metadata.get_payload() or dist.metadata.get("Description") or ""
        texts.update(dict.fromkeys(paragraphs(body if isinstance(body, str) else "")))
        if limit and len(texts) >= limit:
            break
    return list(texts)[:limit] if limit else list(texts)


@lru_cache(maxsize=4)
def firefox_english(limit: int | None = None) -> list[str]:
    """Firefox's English (en-US) UI strings behind every pinned language pack (Debian ``firefox-esr``)."""
    from .firefox_l10n import firefox_languages, firefox_strings

    texts: dict[str, None] = {}
    for lang in sorted(firefox_languages()):
        texts.update(dict.fromkeys(t.strip() for t in firefox_strings(lang)["en"] if t and t.strip()))
    return list(texts)[:limit] if limit else list(texts)


def heldout_english(source: str, limit: int | None = None) -> list[str]:
    """The texts of one held-out English source (:data:`HELDOUT_SOURCES`)."""
    choice("source", source, HELDOUT_SOURCES)
    return {"python_docstrings": python_docstrings, "package_docstrings": package_docstrings,
            "package_descriptions": package_descriptions, "firefox_en": firefox_english}[source](limit)


SAMPLE_MIN_BYTES = 100
SAMPLE_MAX_BYTES = 2000


def sample_texts(texts: Sequence[str], n: int, min_bytes: int = SAMPLE_MIN_BYTES,
                 max_bytes: int = SAMPLE_MAX_BYTES,
                 seed: int = SPLIT_SEED) -> list[str]:
    """Up to ``n`` distinct texts of ``min_bytes``..``max_bytes`` UTF-8 bytes, in ``hash_unit(seed, text)`` order.

    Example::

        >>> texts = ["x" * 50, "y" * 150, "z" * 5000, "w" * 400, "y" * 150]
        >>> sorted(len(t) for t in sample_texts(texts, 5, min_bytes=100, max_bytes=2000))   # deduplicated, in bounds
        [150, 400]
    """
    fitting = {t for t in texts if min_bytes <= len(t.encode("utf-8")) <= max_bytes}
    return sorted(fitting, key=lambda t: hash_unit(seed, t))[:n]
