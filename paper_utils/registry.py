"""The method registry: initializers register themselves with their options and defaults.

Example::

    >>> from paper_utils.registry import initializer, initializer_names, resolve_variant
    >>> initializer_names()
    ('random', 'mean', 'fvt', 'focus', 'wechsel', 'focus_ppmi', 'wechsel_e5', 'bxod', 'salt', 'salt_e5sentence', 'blend')
    >>> initializer("fvt").options
    {'device': None}
    >>> resolve_variant("bxod_sub75", {"method": "bxod", "subtoken_weight": 0.75})
    ('bxod', {'subtoken_weight': 0.75})
    >>> initializer("fastText")
    Traceback (most recent call last):
    ...
    paper_utils.errors.ConfigError: invalid method='fastText': use one of: random, mean, fvt, focus, wechsel, focus_ppmi, wechsel_e5, bxod, salt, salt_e5sentence, blend

An initializer is a name, a function ``run(ctx, options) -> (input_rows, output_rows, provenance)``
(see :mod:`paper_utils.init`), every option with its default, and the *data* options that a
study setup fills in (``DATA_OPTIONS``: encoder, lexicon, target/English texts, parallel pairs). The presets, the run grid, the
notebooks and the command line all read this registry; a named variant (``bxod_sub75``) is a label
plus a registered method and option overrides, declared in a preset's ``[variants]`` table.

The registry lives below the modules that register into it. Lookups load those modules by name
(``PROVIDERS``, the plug-in pattern of entry points) so that ``config`` can validate a preset
without importing the numerical code at the top of its module.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .errors import ConfigError

# modules whose import registers initializers and recipes, in registration order
INITIALIZER_PROVIDERS = ("paper_utils.init",)
RECIPE_PROVIDERS = ("paper_utils.recipes",)
PROVIDERS = INITIALIZER_PROVIDERS + RECIPE_PROVIDERS
DATA_OPTIONS = ("encoder", "lexicon", "target_texts", "english_texts", "parallel_pairs")


@dataclass(frozen=True)
class Initializer:
    """One registered initialization method."""

    name: str
    run: Callable[..., Any]
    options: Mapping[str, Any]                  # every option with its default
    data: tuple[str, ...] = ()                  # options a study setup supplies (DATA_OPTIONS)
    summary: str = ""
    anchored: bool = field(default=False)       # takes ``max_anchors`` (anchors from the base vocabulary)


_INITIALIZERS: dict[str, Initializer] = {}


def register_initializer(name: str, *, options: Mapping[str, Any], data: tuple[str, ...] = (), summary: str = ""):
    """Decorator: register ``run(ctx, options)`` as initializer ``name`` with ``options`` (defaults)."""
    unknown = [d for d in data if d not in DATA_OPTIONS or d not in options]
    if unknown:
        raise ConfigError("data", unknown, f"data options must be among {DATA_OPTIONS} and declared in options")

    def add(run: Callable[..., Any]) -> Callable[..., Any]:
        if name in _INITIALIZERS and _INITIALIZERS[name].run is not run:
            raise ConfigError("name", name, "an initializer of that name is registered already; pick another name")
        _INITIALIZERS[name] = Initializer(name, run, dict(options), tuple(data), summary,
                                          anchored="max_anchors" in options)
        return run

    return add


def _load_providers(modules: tuple[str, ...]) -> None:
    for module in modules:
        importlib.import_module(module)


def initializers() -> dict[str, Initializer]:
    """Every registered initializer, in registration order (loads the initializer providers only)."""
    _load_providers(INITIALIZER_PROVIDERS)
    return dict(_INITIALIZERS)


def initializer_names() -> tuple[str, ...]:
    return tuple(initializers())


def initializer(name: str) -> Initializer:
    """The initializer called ``name``; ConfigError listing the registered ones otherwise."""
    found = initializers()
    if name not in found:
        raise ConfigError("method", name, f"use one of: {', '.join(found)}")
    return found[name]


def check_option_names(method: str, options: Mapping[str, Any], where: str = "options") -> None:
    """ConfigError when ``options`` has a key that ``method`` does not take (listing the ones it takes)."""
    known = initializer(method).options
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ConfigError(where, unknown, f"method {method!r} takes: {', '.join(known)}")


def resolve_variant(label: str, spec: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(method, option overrides)`` of a named variant ``{"method": m, **options}``, checked."""
    where = f"variants.{label}"
    if not isinstance(spec, Mapping) or "method" not in spec:
        raise ConfigError(where, spec, "give a table with 'method' (a registered initializer) and its options")
    if label in initializers():
        raise ConfigError(where, label, "a variant needs its own label, not the name of a registered method")
    method = spec["method"]
    try:
        initializer(method)
    except ConfigError as exc:
        raise ConfigError(f"{where}.method", method, exc.fix) from None
    options = {k: v for k, v in spec.items() if k != "method"}
    check_option_names(method, options, where)
    return method, options


# ------------------------------------------------------------------------------------------------
# recipes: how a run is made (the run grid's recipe axis)

@dataclass(frozen=True)
class Recipe:
    """One registered recipe: ``jobs(preset) -> [Job, ...]`` declares its runs' jobs, inputs and outputs."""

    name: str
    jobs: Callable[..., Any]
    summary: str = ""


_RECIPES: dict[str, Recipe] = {}


def register_recipe(name: str, *, summary: str = ""):
    """Decorator: register ``jobs(preset)`` (training and evaluation jobs of the recipe's runs) as ``name``."""

    def add(jobs: Callable[..., Any]) -> Callable[..., Any]:
        if name in _RECIPES and _RECIPES[name].jobs is not jobs:
            raise ConfigError("name", name, "a recipe of that name is registered already; pick another name")
        _RECIPES[name] = Recipe(name, jobs, summary)
        return jobs

    return add


def recipes() -> dict[str, Recipe]:
    """Every registered recipe, in registration order (loads the recipe providers only)."""
    _load_providers(RECIPE_PROVIDERS)
    return dict(_RECIPES)


def recipe(name: str) -> Recipe:
    """The recipe called ``name``; ConfigError listing the registered ones otherwise.

    >>> recipe("staged").name
    'staged'
    >>> recipe("lora")
    Traceback (most recent call last):
    ...
    paper_utils.errors.ConfigError: invalid recipe='lora': use one of: staged, fusion, clo, franken
    """
    found = recipes()
    if name not in found:
        raise ConfigError("recipe", name, f"use one of: {', '.join(found)}")
    return found[name]


# which providers each public name loads when called: a module that imports only ``register_*`` or data depends on
# none of them, one that looks initializers up depends on the initializer providers only
# (``runner.notebook_modules`` follows these edges; ``tests/test_runner.py`` checks them in a fresh interpreter)
PROVIDERS_LOADED_BY: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("initializers", "initializer_names", "initializer", "check_option_names", "resolve_variant"),
                    INITIALIZER_PROVIDERS),
    **dict.fromkeys(("recipes", "recipe"), RECIPE_PROVIDERS),
    **dict.fromkeys(("Initializer", "Recipe", "register_initializer", "register_recipe", "DATA_OPTIONS",
                     "INITIALIZER_PROVIDERS", "RECIPE_PROVIDERS", "PROVIDERS", "PROVIDERS_LOADED_BY"), ()),
}

__all__ = ["Initializer", "Recipe", "register_recipe", "recipes", "recipe", "register_initializer", "initializers",
           "initializer_names", "initializer", "check_option_names", "resolve_variant", "INITIALIZER_PROVIDERS",
           "RECIPE_PROVIDERS", "PROVIDERS", "PROVIDERS_LOADED_BY", "DATA_OPTIONS"]
