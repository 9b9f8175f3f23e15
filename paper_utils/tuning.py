"""Equal tuning: a preset's dev-sweep grid (``[sweep]``) and the grid labels it adds, checked when the preset loads.

Example::

    >>> from paper_utils.tuning import check_sweep, parse_label
    >>> parse_label("fvt+bxod@dev")
    Label(text='fvt+bxod@dev', base='bxod', dev=True, blend=True)
    >>> check_sweep({"bxod": [{"top_k": 4}, {"top_k": 8}], "salt": [{"ridge": 0.1}, {"ridge": 0.001}]})["salt"]
    ({'ridge': 0.1}, {'ridge': 0.001})
    >>> check_sweep({"bxod": [{"top_k": 4}, {"topk": 8}]})
    Traceback (most recent call last):
    ...
    paper_utils.errors.ConfigError: invalid sweep.bxod[1]=['topk']: method 'bxod' takes: encoder, anchor_set, max_anchors, top_k, weighting, temperature, lexicon, use_lexicon, lexicon_weight, query, continuation, match_space, subtoken_weight, device

**The sweep.** ``[sweep]`` maps a registered method to a list of option tables, one per configuration:
every method listed gets the **same number** of configurations (the equal tuning budget), each scored on
the dev split and chosen by the same rule (:mod:`paper_utils.init.sweep`). Options that the study setup
supplies (``DATA_OPTIONS``: encoder, lexicon, texts) and ``device`` are not tuning options and are refused.

**Labels.** Besides registered initializers and ``[variants]`` labels, a grid's ``methods`` and
``adapt_methods`` take two derived forms, resolved at stage 03:

* ``<method>@dev`` -- the method at the configuration chosen on the dev split (``init/sweep.csv``); the
  method must be in ``[sweep]``;
* ``fvt+<label>`` -- the ablation ``w x fvt rows + (1 - w) x rows of <label>`` (the registered ``blend``
  initializer), ``<label>`` a registered method, a variant or a ``<method>@dev`` label; ``w`` is
  ``initialization.blend_weight`` (a number, or ``"<method>@dev"``: the ``subtoken_weight`` of that method's
  dev-chosen configuration, i.e. the weight chosen for ``bxod`` on dev). A blended method's own
  ``subtoken_weight`` is set to 0 (the blend supplies the fvt share), so ``fvt+bxod@dev`` equals ``bxod@dev``.

``+`` and ``@`` are therefore reserved: a ``[variants]`` label may not contain them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import ConfigError
from .registry import DATA_OPTIONS, check_option_names, initializer, initializer_names

DEV_SUFFIX = "@dev"
BLEND_PREFIX = "fvt+"
BLEND_METHOD = "blend"                  # the registered initializer behind ``fvt+<label>`` (paper_utils.init.blend)
RESERVED = ("+", "@")


@dataclass(frozen=True)
class Label:
    """A grid label taken apart: ``[fvt+]<base>[@dev]``."""

    text: str
    base: str                           # a registered initializer or a variant label
    dev: bool = False                   # options chosen on the dev split
    blend: bool = False                 # fvt blended with ``inner``

    @property
    def inner(self) -> str:
        """What a blend blends fvt with: ``<base>[@dev]``."""
        return self.base + (DEV_SUFFIX if self.dev else "")


def parse_label(text: str) -> Label:
    """``Label`` of ``text`` (no checks against the registry; see :func:`check_label`)."""
    blend = text.startswith(BLEND_PREFIX) and len(text) > len(BLEND_PREFIX)
    rest = text[len(BLEND_PREFIX):] if blend else text
    dev = rest.endswith(DEV_SUFFIX) and len(rest) > len(DEV_SUFFIX)
    return Label(text, rest[:-len(DEV_SUFFIX)] if dev else rest, dev, blend)


def check_label(text: str, variants: Mapping[str, Any], sweep: Mapping[str, Any], where: str) -> Label:
    """The parsed label, or ConfigError at ``where`` saying which labels are valid."""
    label = parse_label(text)
    plain = initializer_names() + tuple(variants)
    if label.base not in plain or (label.blend and label.base == BLEND_METHOD):
        raise ConfigError(where, text, f"use a registered method or variant ({', '.join(plain)}), "
                                       f"'<method>{DEV_SUFFIX}' for a method of [sweep] or '{BLEND_PREFIX}<label>'")
    if label.dev and label.base not in sweep:
        raise ConfigError(where, text, f"'{label.base}{DEV_SUFFIX}' needs {label.base!r} in the preset's [sweep] "
                                       f"(swept: {', '.join(sweep) or 'none'})")
    return label


def check_variant_label(label: str) -> None:
    """Variant labels may not use the characters of the derived labels."""
    if any(c in label for c in RESERVED):
        raise ConfigError(f"variants.{label}", label, f"a variant label may not contain {' or '.join(RESERVED)} "
                                                      "(they form '<method>@dev' and 'fvt+<label>' labels)")


def check_sweep(raw: Any) -> dict[str, tuple[dict, ...]]:
    """The ``[sweep]`` table checked: registered methods, known tuning options, distinct configurations,
    the same number of configurations for every method (ConfigError naming the key otherwise)."""
    if not isinstance(raw, Mapping):
        raise ConfigError("sweep", raw, "use a table [sweep] of method = [{option = value, ...}, ...]")
    out: dict[str, tuple[dict, ...]] = {}
    for method, configs in raw.items():
        where = f"sweep.{method}"
        try:
            initializer(method)
        except ConfigError as exc:
            raise ConfigError("sweep", method, exc.fix) from None
        if not isinstance(configs, (list, tuple)) or not configs or not all(isinstance(c, Mapping) for c in configs):
            raise ConfigError(where, configs, "give a non-empty list of option tables, e.g. [{top_k = 4}, {top_k = 8}]")
        seen = set()
        for i, config in enumerate(configs):
            check_option_names(method, config, f"{where}[{i}]")
            fixed = sorted(set(config) & (set(DATA_OPTIONS) | {"device"}))
            if fixed:
                raise ConfigError(f"{where}[{i}]", fixed, "the study setup supplies these; sweep tuning options only")
            key = options_key(config)
            if key in seen:
                raise ConfigError(f"{where}[{i}]", dict(config), "a configuration listed twice; remove the duplicate")
            seen.add(key)
        out[method] = tuple(dict(c) for c in configs)
    sizes = {m: len(c) for m, c in out.items()}
    if len(set(sizes.values())) > 1:
        raise ConfigError("sweep", sizes, "give every method the same number of configurations (equal tuning budget)")
    return out


def check_blend_weight(value: Any, sweep: Mapping[str, Any], used: bool) -> float | str:
    """``initialization.blend_weight``: a number in [0, 1] or ``"<method>@dev"`` for a swept method with
    ``subtoken_weight``; checked against the sweep only when the grid has ``fvt+`` labels (``used``)."""
    where = "initialization.blend_weight"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not 0 <= value <= 1:
            raise ConfigError(where, value, "use a weight in [0, 1] (the fvt share) or '<method>@dev'")
        return float(value)
    label = parse_label(value) if isinstance(value, str) else None
    if label is None or not label.dev or label.blend:
        raise ConfigError(where, value, "use a weight in [0, 1] (the fvt share) or '<method>@dev', e.g. 'bxod@dev'")
    if used and (label.base not in sweep or "subtoken_weight" not in initializer(label.base).options):
        raise ConfigError(where, value, f"{label.base!r} must be in [sweep] and take subtoken_weight; "
                                        "or give the weight as a number")
    return value


def options_key(options: Mapping[str, Any]) -> str:
    """Canonical JSON of a configuration (sorted keys): how sweep.csv names it.

    >>> options_key({"top_k": 4, "anchor_set": "alpha"})
    '{"anchor_set": "alpha", "top_k": 4}'
    """
    return json.dumps(dict(options), sort_keys=True, ensure_ascii=False)


__all__ = ["Label", "parse_label", "check_label", "check_variant_label", "check_sweep", "check_blend_weight",
           "options_key", "DEV_SUFFIX", "BLEND_PREFIX", "BLEND_METHOD"]
