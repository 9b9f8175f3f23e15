"""Checks of the arguments every test takes (resample counts, confidence, seed) and of paired per-item values.

Example::

    >>> from paper_utils.stats.inputs import DEFAULT_SEED, check_n_samples, paired_values, rng_from_seed
    >>> check_n_samples("n_samples", 1000), DEFAULT_SEED
    (1000, 12345)
    >>> a, b = paired_values([1, 0, 1], [1, 1, 1])
    >>> a.dtype.name, int(rng_from_seed(3).integers(10)) == int(rng_from_seed(3).integers(10))
    ('float64', True)

Every random procedure of :mod:`paper_utils.stats` takes ``seed``: an int, ``None`` or a
``numpy.random.Generator``; the default :data:`DEFAULT_SEED` (12345) is sacrebleu's default ``SACREBLEU_SEED``.
A bad argument raises :class:`paper_utils.errors.ConfigError`, bad data :class:`paper_utils.errors.DataError`.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError, DataError

__all__ = ["DEFAULT_SEED", "check_binary", "check_confidence", "check_n_samples", "paired_values", "rng_from_seed"]

DEFAULT_SEED = 12345


def check_n_samples(name: str, value: object, *, allow_zero: bool = False) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if ok and (value > 0 or (allow_zero and value == 0)):
        return int(value)
    lo = "a non-negative integer (0 disables it)" if allow_zero else "a positive integer"
    raise ConfigError(name, value, f"use {lo}, e.g. 1000")


def check_confidence(confidence: object) -> float:
    if isinstance(confidence, (int, float, np.floating)) and not isinstance(confidence, bool) \
            and 0.0 < float(confidence) < 1.0:
        return float(confidence)
    raise ConfigError("confidence", confidence, "use a level strictly between 0 and 1, e.g. 0.95")


def rng_from_seed(seed: int | None | np.random.Generator) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0):
        return np.random.default_rng(seed)
    raise ConfigError("seed", seed, "use a non-negative integer, None, or a numpy.random.Generator")


def paired_values(a: object, b: object, what: str = "paired values") -> tuple[np.ndarray, np.ndarray]:
    """Two 1-D finite float arrays of the same non-zero length, or DataError."""
    try:
        xa = np.asarray(a, dtype=np.float64)
        xb = np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what} must be numeric sequences: {exc}") from exc
    if xa.ndim != 1 or xb.ndim != 1:
        raise DataError(f"{what} must be 1-D sequences (one value per item), got shapes {xa.shape} and {xb.shape}")
    if xa.shape[0] != xb.shape[0]:
        raise DataError(f"{what} have different lengths: method_a has {xa.shape[0]}, method_b has {xb.shape[0]}; "
                        "they must be paired item by item")
    if xa.shape[0] == 0:
        raise DataError(f"{what} are empty: nothing to compare (empty test set?)")
    for name, x in (("method_a", xa), ("method_b", xb)):
        bad = ~np.isfinite(x)
        if bad.any():
            raise DataError(f"{what} of {name} contain {int(bad.sum())} NaN/inf value(s) "
                            f"(first at index {int(np.flatnonzero(bad)[0])}); drop or fix those items in both methods")
    return xa, xb


def check_binary(x: np.ndarray, name: str) -> None:
    if not np.isin(x, (0.0, 1.0)).all():
        raise DataError(f"per-item correctness of {name} must be 0/1 or boolean, "
                        f"found {np.unique(x[~np.isin(x, (0.0, 1.0))])[:5].tolist()}")
