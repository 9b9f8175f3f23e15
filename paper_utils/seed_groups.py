"""Seeds per (language, model): ``[grid] seed_groups``, where a few pairs run more seeds than the rest.

Example::

    >>> groups = check_seed_groups([{"languages": ["uz"], "models": ["smollm2-135m"], "seeds": [0, 1, 2]}],
    ...                            languages=("uz", "ms"), models=("smollm2-135m",))
    >>> seeds_for(groups, (0,), "uz", "smollm2-135m"), seeds_for(groups, (0,), "ms", "smollm2-135m")
    ((0, 1, 2), (0,))
    >>> check_seed_groups([{"languages": ["ko"], "models": ["smollm2-135m"], "seeds": [0, 1]}],
    ...                   languages=("uz", "ms"), models=("smollm2-135m",))
    Traceback (most recent call last):
    ...
    paper_utils.errors.ConfigError: invalid grid.seed_groups[0].languages='ko': not in grid.languages ['uz', 'ms']; add it there or remove it from the group

A preset's ``[grid] seeds`` apply to every language x model; each group of ``seed_groups`` (a list of tables
``{languages = [...], models = [...], seeds = [...]}``) replaces them for every pair of its languages and models
(e.g. three seeds for uz and ms x SmolLM2-135M, where the convergence claim is tested, one elsewhere). A pair may
sit in one group at most. Every adapted method of the pair runs every seed of its group.
"""
from __future__ import annotations

from typing import Any, Sequence

from .errors import ConfigError

SeedGroup = tuple[tuple[str, ...], tuple[str, ...], tuple[int, ...]]     # languages, models, seeds
GROUP_KEYS = ("languages", "models", "seeds")


def check_seeds(seeds: Any, where: str) -> tuple[int, ...]:
    """A non-empty list of distinct integers >= 0, as a tuple (ConfigError naming ``where``)."""
    if (not isinstance(seeds, list) or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)):
        raise ConfigError(where, seeds, "a non-empty list of integers >= 0, e.g. [0]")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(where, seeds, "remove the duplicates")
    return tuple(seeds)


def check_seed_groups(raw: Any, *, languages: Sequence[str], models: Sequence[str]) -> tuple[SeedGroup, ...]:
    """Validate ``[grid] seed_groups`` against the grid's languages and models; returns the groups as tuples."""
    if not isinstance(raw, list):
        raise ConfigError("grid.seed_groups", raw, "use a list of tables {languages = [...], models = [...], "
                                                   "seeds = [...]}")
    groups: list[SeedGroup] = []
    owner: dict[tuple[str, str], int] = {}
    for k, group in enumerate(raw):
        where = f"grid.seed_groups[{k}]"
        if not isinstance(group, dict):
            raise ConfigError(where, group, "use a table {languages = [...], models = [...], seeds = [...]}")
        for key in group:
            if key not in GROUP_KEYS:
                raise ConfigError(f"{where}.{key}", group[key], f"unknown key; a seed group takes: {', '.join(GROUP_KEYS)}")
        for key in GROUP_KEYS:
            if key not in group:
                raise ConfigError(f"{where}.{key}", None, f"missing; a seed group takes: {', '.join(GROUP_KEYS)}")
        picked = {}
        for key, allowed in (("languages", languages), ("models", models)):
            values = group[key]
            if not isinstance(values, list) or not values:
                raise ConfigError(f"{where}.{key}", values, f"a non-empty list of grid.{key}")
            for v in values:
                if v not in allowed:
                    raise ConfigError(f"{where}.{key}", v, f"not in grid.{key} {list(allowed)}; add it there or "
                                                           "remove it from the group")
            picked[key] = tuple(values)
        seeds = check_seeds(group["seeds"], f"{where}.seeds")
        for pair in ((lang, model) for lang in picked["languages"] for model in picked["models"]):
            if pair in owner:
                raise ConfigError(f"{where}", list(pair), f"this language x model is in grid.seed_groups[{owner[pair]}] "
                                                          "too; give each pair one group")
            owner[pair] = k
        groups.append((picked["languages"], picked["models"], seeds))
    return tuple(groups)


def seeds_for(groups: Sequence[SeedGroup], default: tuple[int, ...], language: str, model: str) -> tuple[int, ...]:
    """The seeds of ``language`` x ``model``: its group's, else ``default`` (``[grid] seeds``)."""
    for langs, models, seeds in groups:
        if language in langs and model in models:
            return seeds
    return default


__all__ = ["SeedGroup", "check_seed_groups", "check_seeds", "seeds_for"]
