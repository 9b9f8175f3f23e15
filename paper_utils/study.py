"""What text each stage of the study reads, per preset data source.

Example::

    >>> from paper_utils.config import load_preset
    >>> from paper_utils.study import heldout_parallel
    >>> targets, english = heldout_parallel(load_preset("smoke"), "uz")
    >>> len(targets) == len(english) > 0
    True

``offline`` presets read the pinned packs through :mod:`paper_utils.corpora` (Django UI strings,
held-out test split); ``hub`` presets read FLORES+ ``devtest``; ``fixtures`` (the smoke preset)
reads ``tests/fixtures/parallel.tsv`` so notebooks run in seconds without any download.
"""
from __future__ import annotations

import csv

from .config import Preset
from .errors import ConfigError
from .paths import REPO_ROOT

FIXTURE_PARALLEL = REPO_ROOT / "tests" / "fixtures" / "parallel.tsv"


def _fixture_pairs(lang: str) -> list[tuple[str, str]]:
    with open(FIXTURE_PARALLEL, encoding="utf-8", newline="") as fh:
        rows = [(r["target"], r["en"]) for r in csv.DictReader(fh, delimiter="\t") if r["lang"] == lang]
    if not rows:
        raise ConfigError("language", lang, f"{FIXTURE_PARALLEL} has no pairs for it; the smoke preset uses uz and ms")
    return rows


def heldout_parallel(preset: Preset, lang: str) -> tuple[list[str], list[str]]:
    """Held-out ``(target texts, English texts)`` of the same parallel sentences."""
    if preset.data_source == "fixtures":
        pairs = _fixture_pairs(lang)
        return [p[0] for p in pairs], [p[1] for p in pairs]
    from . import corpora

    ds = corpora.parallel(lang, "test", source="flores" if preset.data_source == "hub" else "django")
    return list(ds["target"]), list(ds["en"])


def heldout_english(preset: Preset, languages) -> list[str]:
    """English side of the held-out parallel sentences of ``languages`` (deduplicated, in order)."""
    texts: dict[str, None] = {}
    for lang in languages:
        if lang != "en":
            texts.update(dict.fromkeys(heldout_parallel(preset, lang)[1]))
    return list(texts)
