"""What every translator is: a name, a version that pins its asset, the directions it covers, ``translate``.

Example::

    >>> from paper_utils.translate.base import FixtureTagTranslator
    >>> t = FixtureTagTranslator()
    >>> t.translate(["Hello.", "Good night."], "en", "ko")
    ['[ko] Hello.', '[ko] Good night.']
    >>> t.name, t.supports("en", "ko"), t.missing_assets()
    ('fixture_tag', True, [])

A translator's ``version`` names its package/model version and a hash of its pinned asset (and of its
prompt, where it has one), so a cached translation records exactly what made it. ``missing_assets()``
lists what is not installed as ``(package, command that fetches it)``; :meth:`Translator.require_assets`
turns a non-empty list into an :class:`~paper_utils.errors.AssetError` that names both, before anything is
translated or written.
"""
from __future__ import annotations

import hashlib

from ..errors import AssetError, ConfigError

# language codes a translator may be asked for, with the English name prompts and messages use
LANGUAGE_NAMES = {"en": "English", "uz": "Uzbek", "ms": "Malay", "ko": "Korean", "es": "Spanish"}


def short_hash(text: str, n: int = 12) -> str:
    """The first ``n`` hex digits of the sha256 of ``text`` (versions and ids)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


def fetch_command(name: str) -> str:
    """The command that installs translator ``name``'s assets."""
    return f"python -m paper_utils assets fetch --translator {name}"


class Translator:
    """Base class: subclasses set ``name`` and ``directions`` and implement ``version`` and ``_translate``."""

    name: str = ""
    directions: frozenset[tuple[str, str]] = frozenset()      # (source, target) pairs it covers
    stand_in: bool = False                                    # True: not a real MT system (labelled in reports)

    @property
    def version(self) -> str:
        raise NotImplementedError

    def supports(self, source: str, target: str) -> bool:
        return (source, target) in self.directions

    def missing_assets(self) -> list[tuple[str, str]]:
        """``(package, fetch command)`` for each asset that is not installed (empty: ready)."""
        return []

    def require_assets(self) -> None:
        missing = self.missing_assets()
        if missing:
            by_command: dict[str, list[str]] = {}
            for package, command in missing:
                by_command.setdefault(command, []).append(package)
            what = "; ".join(f"{', '.join(packages)} (fetch with: {command})" for command, packages in by_command.items())
            raise AssetError(f"translator {self.name!r} is not installed: missing {what}")

    def fetch(self) -> None:
        """Install the translator's assets (idempotent); translators without assets do nothing."""

    def translate(self, texts: list[str], source: str, target: str) -> list[str]:
        """``texts`` translated from ``source`` to ``target`` (same length, same order)."""
        if not self.supports(source, target):
            covered = ", ".join(f"{s}->{t}" for s, t in sorted(self.directions))
            raise ConfigError("direction", f"{source}->{target}", f"translator {self.name!r} covers {covered}")
        self.require_assets()
        texts = list(texts)
        if not texts:
            return []
        out = self._translate(texts, source, target)
        if len(out) != len(texts):
            raise AssetError(f"translator {self.name!r} returned {len(out)} texts for {len(texts)}")
        return out

    def _translate(self, texts: list[str], source: str, target: str) -> list[str]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.version}>"


class FixtureTagTranslator(Translator):
    """A FIXTURE, not a translator: prefixes ``[<target>] `` (for the ``smoke`` preset and tests; no asset)."""

    name = "fixture_tag"
    directions = frozenset((s, t) for s in LANGUAGE_NAMES for t in LANGUAGE_NAMES if s != t)
    stand_in = True

    @property
    def version(self) -> str:
        return "fixture-1"

    def _translate(self, texts: list[str], source: str, target: str) -> list[str]:
        return [f"[{target}] {text}" for text in texts]


__all__ = ["LANGUAGE_NAMES", "Translator", "FixtureTagTranslator", "short_hash", "fetch_command"]
