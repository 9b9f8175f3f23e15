"""Which items a run is scored on, and its demonstrations: fixed, hashed choices from the data source's sets.

Example::

    >>> from paper_utils.config import load_preset
    >>> test, demos = translation_data(load_preset("smoke"), "uz", 4)
    >>> len(test), len(demos), sorted(test[0])
    (4, 3, ['en', 'id', 'target'])
    >>> [r["id"] for r in select([{"id": str(i)} for i in range(10)], 3, seed=0)] == [
    ...     r["id"] for r in select([{"id": str(i)} for i in range(10)], 3, seed=0)]
    True

* **Subsets**: ``n`` test items with the smallest ``sha256(f"{seed}\\x1f{id}")`` (0 = all), in the original order.
* **Translation demonstrations**: the 5 dev pairs without markup or line breaks, preferring English of at most 80
  characters, with the smallest ``sha256(f"{DEMO_SEED}\\x1f{en}")``.
* **Classification demonstrations**: 2 per label from ``train`` only (never test), texts of at most 200
  characters, smallest ``sha256(f"{DEMO_SEED}\\x1f{text}")``, labels alternating.

Every test set and demonstration pool is the preset's data source's answer (:mod:`paper_utils.study`).
"""
from __future__ import annotations

from typing import Sequence

from ..config import Preset
from ..errors import ConfigError, DataError
from ..study import data_source

DEMO_SEED = 0

TRANSLATION_SHOTS = 5

CLASSIFICATION_SHOTS_PER_LABEL = 2


def select(rows: Sequence[dict], n: int, seed: int = 0, key: str = "id") -> list[dict]:
    """``n`` rows with the smallest ``sha256(f"{seed}\\x1f{row[key]}")``, in their original order (0 = all)."""
    from ..corpora import hash_unit

    rows = list(rows)
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ConfigError("n", n, "use 0 (all) or a positive integer")
    if n == 0 or n >= len(rows):
        return rows
    keep = set(sorted(range(len(rows)), key=lambda i: hash_unit(seed, str(rows[i][key])))[:n])
    return [r for i, r in enumerate(rows) if i in keep]

def translation_data(cfg: Preset, language: str, n: int, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """``(test pairs, demonstrations)``, each a list of ``{"id", "en", "target"}``."""
    from ..corpora import has_markup, hash_unit

    source = data_source(cfg)
    test, dev = source.parallel(language, "test"), source.parallel(language, "dev")
    if not test:
        raise DataError(f"no test pairs for {language!r} ({cfg.data_source}): empty test set")
    ok = [d for d in dev if not has_markup(d["en"]) and not has_markup(d["target"])
          and "\n" not in d["en"] + d["target"]]
    demos = sorted(ok, key=lambda d: (len(d["en"]) > 80, hash_unit(DEMO_SEED, d["en"])))[:TRANSLATION_SHOTS]
    if not demos:
        raise DataError(f"no usable dev pairs for {language!r} to use as demonstrations")
    return select(test, n, seed), demos

def classification_data(cfg: Preset, language: str, n: int, seed: int = 0):
    """``(task, label names, test items, demonstrations)`` or ``None`` where no labeled set exists."""
    from ..corpora import hash_unit

    data = data_source(cfg).classification(language)
    if data is None:
        return None
    task, labels, test, train = data
    if not test:
        raise DataError(f"classification {task!r} for {language!r}: empty test set")
    demos = []
    for k, name in enumerate(labels):
        pool = [r for r in train if r["label"] in (k, name) and len(r["text"]) <= 200]
        demos.append(sorted(pool, key=lambda r: hash_unit(DEMO_SEED, r["text"]))[:CLASSIFICATION_SHOTS_PER_LABEL])
    ordered = [group[j] for j in range(CLASSIFICATION_SHOTS_PER_LABEL) for group in demos if j < len(group)]
    return task, labels, select(test, n, seed), ordered


__all__ = ["DEMO_SEED", "TRANSLATION_SHOTS", "CLASSIFICATION_SHOTS_PER_LABEL", "select", "translation_data",
           "classification_data"]
