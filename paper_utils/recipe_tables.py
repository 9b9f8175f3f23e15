"""The checks every recipe's preset table shares (``[clo]``, ``[franken]``, ``[fusion]``): one rule each.

Example::

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Demo:
    ...     modes: tuple = ()
    ...     steps: int = 10
    >>> open_table("demo", {"modes": ["a"]}, ("demo",), Demo, "modes = [...]")
    {'modes': ['a']}
    >>> open_table("demo", {}, ("staged",), Demo, "modes = [...]") is None      # the recipe is off: defaults
    True
    >>> number({"steps": 0}, "demo", "steps", int, 1, "use an integer >= 1")
    Traceback (most recent call last):
    ...
    paper_utils.errors.ConfigError: invalid demo.steps=0: use an integer >= 1
    >>> names({"languages": ["uz", "uz"]}, "demo", "languages")
    Traceback (most recent call last):
    ...
    paper_utils.errors.ConfigError: invalid demo.languages=['uz', 'uz']: remove the duplicates

A table is open (:func:`open_table`) only when ``grid.recipes`` names the recipe; a table without the recipe, a
table that is not a table and an unknown key are each a :class:`~paper_utils.errors.ConfigError` naming
``<recipe>.<key>`` and the fix. Numbers (:func:`number`) refuse booleans; lists of names (:func:`names`) refuse
empty names and duplicates. This module sits below the recipe grids (``clo_grid``, ``franken_grid``,
``fusion_grid``), which sit below :mod:`paper_utils.config`.
"""
from __future__ import annotations

from dataclasses import fields
from typing import Any, Callable, Mapping

from .errors import ConfigError


def open_table(recipe: str, table: Any, recipes: tuple[str, ...], settings: type, needs: str) -> dict | None:
    """``table`` (``[<recipe>]``, None when absent) checked for shape, recipe and keys of ``settings``; None when
    ``grid.recipes`` lacks ``recipe`` (the settings' defaults apply). ``needs`` says what the table must hold."""
    table = {} if table is None else table
    if not isinstance(table, Mapping):
        raise ConfigError(recipe, table, f"use a table [{recipe}] with {needs} and optional settings")
    if recipe not in recipes:
        if table:
            raise ConfigError(recipe, sorted(table), f'the preset has a [{recipe}] table but grid.recipes lacks '
                              f'"{recipe}"; add it (grid.recipes = ["staged", "{recipe}"]) or remove the table')
        return None
    known = {f.name for f in fields(settings)}
    for key in table:
        if key not in known:
            raise ConfigError(f"{recipe}.{key}", table[key], f"unknown key; [{recipe}] takes: {', '.join(sorted(known))}")
    return dict(table)


def number(table: Mapping[str, Any], recipe: str, key: str, kind: type, minimum: float, fix: str,
           strict: bool = False) -> int | float:
    """``table[key]`` as ``kind`` (int or float; never a bool), at least ``minimum`` (above it when ``strict``)."""
    value = table[key]
    ok = isinstance(value, (int, float) if kind is float else int) and not isinstance(value, bool)
    if not ok or not (value > minimum if strict else value >= minimum):          # NaN fails both
        raise ConfigError(f"{recipe}.{key}", value, fix)
    return kind(value)


def share(table: Mapping[str, Any], recipe: str, key: str) -> float:
    """``table[key]`` as a share strictly between 0 and 1."""
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ConfigError(f"{recipe}.{key}", value, "use a share in (0, 1), e.g. 0.1")
    return float(value)


def names(table: Mapping[str, Any], recipe: str, key: str, fix: str = "use a list of names") -> tuple[str, ...]:
    """``table[key]`` as a tuple of distinct non-empty strings."""
    values = table[key]
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise ConfigError(f"{recipe}.{key}", values, fix)
    if len(set(values)) != len(values):
        raise ConfigError(f"{recipe}.{key}", values, "remove the duplicates")
    return tuple(values)


# English instruction sources (clo_data.english_pool) and the pack each reads (alpaca: yahma/alpaca-cleaned from the
# Hub, the paper preset's; no pack): [clo] and [fusion] english_sources
SOURCE_PACKS = {"evals": "openai-evals", "bigbench": "bigbench", "alpaca": None}


def per_model(table: Any, key: str, models, valid: Callable[[Any], bool], fix: str,
              example: str) -> tuple[tuple[str, Any], ...]:
    """``key = { model = value }`` checked: a table whose keys are in ``models`` and whose values pass ``valid``
    (ConfigError naming ``key``, or ``key.<model>`` with ``fix``); sorted ``(model, value)`` pairs.

    >>> per_model({"b": 2, "a": 1}, "fusion.micro_batch_sizes", ("a", "b"), lambda v: v > 0, "use > 0", "{ a = 1 }")
    (('a', 1), ('b', 2))
    """
    if not isinstance(table, dict):
        raise ConfigError(key, table, f"use a table, e.g. {example}")
    for model, value in table.items():
        if model not in models:
            raise ConfigError(key, model, f"use model names: {', '.join(models)}")
        if not valid(value):
            raise ConfigError(f"{key}.{model}", value, fix)
    return tuple(sorted(table.items()))


def english_sources(table: Mapping[str, Any], recipe: str) -> tuple[str, ...]:
    """``table["english_sources"]`` as distinct keys of :data:`SOURCE_PACKS`."""
    sources = table["english_sources"]
    if (not isinstance(sources, list) or not sources or len(set(sources)) != len(sources)
            or any(s not in SOURCE_PACKS for s in sources)):
        raise ConfigError(f"{recipe}.english_sources", sources, "use a list of distinct sources out of: "
                          f"{', '.join(SOURCE_PACKS)} (e.g. english_sources = [\"evals\", \"bigbench\"])")
    return tuple(sources)


__all__ = ["SOURCE_PACKS", "open_table", "number", "share", "names", "english_sources"]
