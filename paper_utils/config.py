"""Presets (TOML) validated into dataclasses, and the run grid they define.

Example::

    >>> from paper_utils.config import load_preset
    >>> cfg = load_preset("demo")
    >>> cfg.grid.languages, cfg.grid.models
    (('uz',), ('smollm2-135m',))
    >>> [r.run_id for r in cfg.runs()][:1]
    ['uz__smollm2-135m__fvt__seed0']

Presets live in ``data/presets/<name>.toml``; ``load_preset`` also accepts a path to a TOML file and
keyword overrides in dotted form (``load_preset("demo", **{"vocabulary.budget": 4000})``). Every
invalid value raises :class:`~paper_utils.errors.ConfigError` naming the key and the fix.
"""
from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator

from .errors import ConfigError
from .eval_steps import check_convergence_step
from .clo_grid import CloSettings, check_clo
from .franken_grid import FrankenSettings, check_franken
from .fusion_grid import FusionSettings, check_fusion, fusion_labels
from .layout import model_key
from .paths import DATA_DIR, PRESETS_DIR
from .recipe_tables import per_model
from .registry import initializer_names, recipes, resolve_variant
from .seed_groups import SeedGroup, check_seed_groups, check_seeds, seeds_for
from .tuning import (BLEND_METHOD, check_blend_weight, check_label, check_sweep, check_variant_label,
                     parse_label)

VOCABULARY_METHODS = ("continue_bpe", "whole_words")     # paper_utils.vocab.extend_tokenizer's methods
DATA_SOURCES = ("offline", "offline-debian", "hub", "fixtures")
DEVICES = ("auto", "cpu", "cuda")


def language_codes() -> tuple[str, ...]:
    with open(DATA_DIR / "languages.toml", "rb") as fh:
        return tuple(tomllib.load(fh))


def preset_names() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in PRESETS_DIR.glob("*.toml")))


@dataclass(frozen=True)
class Grid:
    languages: tuple[str, ...]
    models: tuple[str, ...]
    methods: tuple[str, ...]            # initializers and variant labels (step-0 diagnostics)
    adapt_methods: tuple[str, ...]      # initializers or variants carried through adaptation and evaluation
    seeds: tuple[int, ...]
    recipes: tuple[str, ...] = ("staged",)   # how runs are made (registry recipes); default: staged adaptation
    seed_groups: tuple[SeedGroup, ...] = ()  # (languages, models, seeds) replacing `seeds` there (seed_groups.py)

    def seeds_for(self, language: str, model: str) -> tuple[int, ...]:
        """The seeds ``language`` x ``model`` runs: its ``seed_groups`` entry's, else ``seeds``."""
        return seeds_for(self.seed_groups, self.seeds, language, model)

    @property
    def all_seeds(self) -> tuple[int, ...]:
        """Every seed some language x model runs, ascending."""
        return tuple(sorted({s for lang in self.languages for m in self.models for s in self.seeds_for(lang, m)}))


@dataclass(frozen=True)
class Fertility:
    tokenizers: tuple[str, ...]
    languages: tuple[str, ...]


@dataclass(frozen=True)
class Vocabulary:
    budget: int                         # new tokens added for the study
    budgets: tuple[int, ...]            # budget curve (fertility vs budget figure)
    in_domain_weight: int = 10          # repeat count of in-domain (parallel-corpus) training sentences
    word_frequency_scale: int = 1000000  # wordfreq word weight = max(1, round(frequency * scale)); 0 = off
    # English protection (paper_utils.study.english_protection / english_heldout_sources; README "English")
    english_protection: tuple[str, ...] = ("mmlu_prompts", "parallel_en", "wordfreq_en")  # fitted on
    english_words: int = 10000          # the N most frequent words of wordfreq's large English list (+ its other
                                        # apostrophe words but possessives); 0 = all 321,180
    english_heldout: tuple[str, ...] = ("python_docstrings", "package_docstrings", "package_descriptions")  # + firefox_en
    english_heldout_limit: int = 0      # texts per held-out source checked at stage 02; 0 = all
    english_floor: float = 0.0          # stop when a held-out source's identical share is under it; 0 = report only
    letter_tokens_only: bool = True     # add only tokens whose text holds a letter (structural guarantee)
    guard_every_spelling: bool = False  # refuse for every apostrophe mark the pairs English holds with ' or ’
                                        # (the same cut in every spelling; README "English")
    word_tokens_only: bool = False      # every new token a piece of one word: letters/apostrophes after a space
    method: str = "continue_bpe"        # or "whole_words": whole target words, no merges (byte-level BPE only)


@dataclass(frozen=True)
class Adaptation:
    stage1_steps: int
    stage2_steps: int
    seq_len: int
    batch_size: int
    learning_rate: float
    english_share: float
    eval_every: int = 0                 # held-out bpb every N steps; 0 = about 12 evaluations per run
    convergence_step: int = 0           # logged step whose held-out bpb stage 06 tests; 0 = stage 1's end (eval_steps)
    embedding_lr_scales: tuple[tuple[str, float], ...] = ()   # (model key, factor on its embeddings' learning rate)


@dataclass(frozen=True)
class Evaluation:
    mmlu_questions: int                 # 0 = all 14,042
    translation_sentences: int
    classification_items: int
    bootstrap_samples: int
    mmlu_subjects: int = 0              # score only this many subjects (fixed hashed choice); 0 = all 57
    matching_items: int = 0             # translation-matching pairs per direction (fixed hashed choice); 0 = all
    english_bpb_texts: int = 100        # English retention: documents per held-out English source (stage 05)


@dataclass(frozen=True)
class Initialization:
    max_anchors: int = 0                # anchors for bxod/salt/wechsel_e5/focus_ppmi: the N lowest base ids; 0 = all
    min_dev_documents: int = 1          # the dev sweep refuses a dev split with fewer documents
    blend_weight: float | str = "bxod@dev"   # fvt share of every fvt+<label> ablation (paper_utils.tuning)


@dataclass(frozen=True)
class Run:
    """One run of the grid: language x model x recipe x seed; ``method`` is what the recipe varies
    (for ``staged``: the initializer or variant whose patch is adapted)."""

    language: str
    model: str
    method: str
    seed: int
    recipe: str = "staged"

    @property
    def run_id(self) -> str:
        return f"{self.language}__{self.model}__{self.method}__seed{self.seed}"


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    data_source: str
    encoder: str
    device: str
    grid: Grid
    fertility: Fertility
    vocabulary: Vocabulary
    adaptation: Adaptation
    evaluation: Evaluation
    source_file: str = field(default="", compare=False)
    initialization: Initialization = Initialization()
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)   # label -> {"method": m, **options}
    sweep: dict[str, tuple[dict, ...]] = field(default_factory=dict)    # method -> dev-sweep configurations
    fusion: FusionSettings = FusionSettings()                           # [fusion]: the fusion recipe (fusion_grid)
    clo: CloSettings = CloSettings()                                    # [clo]: the CLO recipe (clo_grid)
    franken: FrankenSettings = FrankenSettings()                        # [franken]: the Franken-Adapter recipe
    timeout_factor: float = 1.0         # multiplies every notebook's cell timeout (a slow machine, big held-out sets)

    @property
    def ref(self) -> str:
        """How a notebook's ``preset`` parameter names this preset: its name when it lives in
        ``data/presets/``, else the absolute path of its TOML file (``load_preset`` takes both)."""
        if not self.source_file or Path(self.source_file).resolve().parent == PRESETS_DIR.resolve():
            return self.name
        return str(Path(self.source_file).resolve())

    def method_of(self, label: str) -> tuple[str, dict[str, Any]]:
        """``(registered method, option overrides)`` of a grid label (an initializer or a variant).

        >>> load_preset("demo").method_of("bxod_sub75")[0]
        'bxod'

        ``<method>@dev`` gives ``(method, {})`` (its options are chosen on dev at stage 03) and ``fvt+<label>``
        gives ``("blend", {"with_method": <label's method>})`` (:mod:`paper_utils.tuning`).
        """
        parsed = parse_label(label)
        if parsed.blend:
            return BLEND_METHOD, {"with_method": self.method_of(parsed.inner)[0]}
        if parsed.dev:
            return parsed.base, {}
        if label in self.variants:
            spec = dict(self.variants[label])
            return spec.pop("method"), spec
        return label, {}

    def runs(self, methods: tuple[str, ...] | None = None) -> Iterator[Run]:
        """Adaptation/evaluation runs: language x model x adapt_method x seed, in a fixed order."""
        for lang in self.grid.languages:
            for model in self.grid.models:
                for method in methods or self.grid.adapt_methods:
                    for seed in self.grid.seeds_for(lang, model):
                        yield Run(lang, model, method, seed)

    def fusion_runs(self) -> Iterator[Run]:
        """The fusion recipe's evaluations: language x model x fusion mode (label ``fusion_<mode>``) x seed."""
        for lang in self.grid.languages:
            for model in self.grid.models:
                for label in fusion_labels(self.fusion):
                    for seed in self.grid.seeds_for(lang, model):
                        yield Run(lang, model, label, seed, recipe="fusion")

    def fusion_trainings(self) -> list[tuple[str, str, int]]:
        """The fusion recipe's trainings ``(model, label, seed)``: English only, so one per model x mode x seed
        serves the evaluation of every language (the seeds of a model: those of any of its languages)."""
        out = []
        for r in self.fusion_runs():
            if (r.model, r.method, r.seed) not in out:
                out.append((r.model, r.method, r.seed))
        return sorted(out, key=lambda t: (self.grid.models.index(t[0]), t[2], fusion_labels(self.fusion).index(t[1])))

    def clo_runs(self) -> Iterator[Run]:
        """The CLO recipe's runs: language x model x variant (``clo``, ``sft_*``, ``base``) x seed (``[clo]``)."""
        for lang in self.clo.languages or self.grid.languages:
            for model in self.clo.models or self.grid.models:
                for label in self.clo.variants:
                    for seed in self.clo.seeds or self.grid.seeds_for(lang, model):
                        yield Run(lang, model, label, seed, recipe="clo")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_keys(table: dict, cls, where: str) -> None:
    known = {f.name for f in fields(cls)}
    for key in table:
        if key not in known:
            raise ConfigError(f"{where}.{key}", table[key], f"unknown key; [{where}] takes: {', '.join(sorted(known))}")


def _get(table: dict, key: str, kind, where: str, fix: str):
    if key not in table:
        raise ConfigError(f"{where}.{key}", None, f"missing; {fix}")
    value = table[key]
    ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise ConfigError(f"{where}.{key}", value, f"expected {getattr(kind, '__name__', kind)}; {fix}")
    return value


def _str_list(table: dict, key: str, where: str, allowed: tuple[str, ...] | None, fix: str) -> tuple[str, ...]:
    values = _get(table, key, list, where, fix)
    if not values:
        raise ConfigError(f"{where}.{key}", values, f"must not be empty; {fix}")
    for v in values:
        if not isinstance(v, str) or (allowed is not None and v not in allowed):
            raise ConfigError(f"{where}.{key}", v, f"use one of: {', '.join(allowed or ())}" if allowed else fix)
    if len(set(values)) != len(values):
        raise ConfigError(f"{where}.{key}", values, "remove the duplicates")
    return tuple(values)


def _embedding_lr_scales(table) -> tuple[tuple[str, float], ...]:
    """``[adaptation] embedding_lr_scales = { model = factor }``: a model key of ``assets.MODELS``, a finite factor > 0.

    Example::

        >>> _embedding_lr_scales({"gemma3-270m": 0.1})
        (('gemma3-270m', 0.1),)
    """
    import math

    from .assets import MODELS

    checked = per_model(table, "adaptation.embedding_lr_scales", tuple(MODELS),
                        lambda f: not isinstance(f, bool) and isinstance(f, (int, float)) and f > 0 and math.isfinite(f),
                        "use a finite factor > 0", '{ "gemma3-270m" = 0.1 }')
    return tuple((m, float(f)) for m, f in checked)


def _positive(value, key: str, fix: str = "use a value > 0", allow_zero: bool = False):
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(key, value, fix)
    return value


def validate(raw: dict[str, Any], name: str, source_file: str = "") -> Preset:
    """Turn a parsed TOML table into a :class:`Preset`, raising ``ConfigError`` on the first bad value."""
    from .assets import MODELS
    from .encoders import ENCODERS
    from .tokenization import OFFLINE_TOKENIZERS

    known = {"description", "data_source", "encoder", "device", "grid", "fertility", "vocabulary",
             "initialization", "adaptation", "evaluation", "variants", "sweep", "fusion", "timeout_factor", "clo",
             "franken"}
    for key in raw:
        if key not in known:
            raise ConfigError(key, raw[key], f"unknown preset key; known keys: {', '.join(sorted(known))}")
    langs = language_codes()
    data_source = _get(raw, "data_source", str, "preset", "offline, offline-debian, hub or fixtures")
    if data_source not in DATA_SOURCES:
        raise ConfigError("data_source", data_source, f"use one of: {', '.join(DATA_SOURCES)}")
    encoder = _get(raw, "encoder", str, "preset", f"one of {ENCODERS}")
    if encoder not in ENCODERS:
        raise ConfigError("encoder", encoder, f"use one of: {', '.join(ENCODERS)}")
    device = raw.get("device", "auto")
    if device not in DEVICES:
        raise ConfigError("device", device, f"use one of: {', '.join(DEVICES)}")

    g = _get(raw, "grid", dict, "preset", "add a [grid] table")
    _check_keys(g, Grid, "grid")
    model_ok = lambda m: m in MODELS or Path(m).expanduser().is_dir()  # noqa: E731
    models = _str_list(g, "models", "grid", None, f"use model names: {', '.join(MODELS)} or local folders")
    for m in models:
        if not model_ok(m):
            raise ConfigError("grid.models", m, f"use one of: {', '.join(MODELS)}, or an existing local model folder")
    keys = {}
    for m in models:
        if model_key(m) in keys:
            raise ConfigError("grid.models", m, f"its results folder {model_key(m)!r} is that of {keys[model_key(m)]!r}: "
                                                f"rename one of the model folders")
        keys[model_key(m)] = m
    raw_variants = raw.get("variants", {})
    if not isinstance(raw_variants, dict):
        raise ConfigError("variants", raw_variants, "use a table [variants] of label = {method = ..., option = ...}")
    variants = {}
    for label, spec in raw_variants.items():
        check_variant_label(label)
        method, options = resolve_variant(label, spec)
        variants[label] = {"method": method, **options}
    sweep = check_sweep(raw.get("sweep", {}))
    methods = _str_list(g, "methods", "grid", None, "a list of method labels")
    adapt = _str_list(g, "adapt_methods", "grid", None, "a list of method labels")
    for key, labels in (("methods", methods), ("adapt_methods", adapt)):
        for label in labels:
            check_label(label, variants, sweep, f"grid.{key}")
    missing = [v for v in variants if v not in methods]
    if missing:
        raise ConfigError("grid.methods", list(methods), f"add the preset's variants {missing} (or remove them from [variants])")
    if not set(adapt) <= set(methods):
        raise ConfigError("grid.adapt_methods", list(adapt), "every adapted method must also be in grid.methods")
    seeds = check_seeds(_get(g, "seeds", list, "grid", "a list of integer seeds, e.g. [0]"), "grid.seeds")
    chosen = _str_list(g, "recipes", "grid", tuple(recipes()), "") if "recipes" in g else ("staged",)
    languages = _str_list(g, "languages", "grid", langs, "")
    groups = check_seed_groups(g.get("seed_groups", []), languages=languages, models=models)
    grid = Grid(languages, models, methods, adapt, seeds, chosen, groups)

    f = _get(raw, "fertility", dict, "preset", "add a [fertility] table")
    _check_keys(f, Fertility, "fertility")
    fert = Fertility(_str_list(f, "tokenizers", "fertility", None, ""), _str_list(f, "languages", "fertility", langs, ""))
    for t in fert.tokenizers:
        if t not in OFFLINE_TOKENIZERS and "/" not in t and not Path(t).expanduser().is_dir():
            raise ConfigError("fertility.tokenizers", t, f"use one of: {', '.join(OFFLINE_TOKENIZERS)}, a Hub id or a local folder")

    v = _get(raw, "vocabulary", dict, "preset", "add a [vocabulary] table")
    _check_keys(v, Vocabulary, "vocabulary")
    budget = _positive(_get(v, "budget", int, "vocabulary", "e.g. 8000"), "vocabulary.budget")
    budgets = _get(v, "budgets", list, "vocabulary", "e.g. [1000, 4000, 16000]")
    if not budgets or not all(isinstance(b, int) and not isinstance(b, bool) and b > 0 for b in budgets):
        raise ConfigError("vocabulary.budgets", budgets, "a non-empty list of integers > 0")
    extra = {}
    for key in ("in_domain_weight", "word_frequency_scale"):
        if key in v:
            extra[key] = _positive(_get(v, key, int, "vocabulary", "an integer"), f"vocabulary.{key}",
                                   "use an integer >= 1" if key == "in_domain_weight" else "use an integer >= 0 (0 = off)",
                                   allow_zero=key == "word_frequency_scale")
    extra.update(_english_options(v))
    vocab = Vocabulary(budget, tuple(sorted(budgets)), **extra)

    a = _get(raw, "adaptation", dict, "preset", "add an [adaptation] table")
    _check_keys(a, Adaptation, "adaptation")
    share = _get(a, "english_share", float, "adaptation", "a fraction in [0, 1)")
    if not 0 <= share < 1:
        raise ConfigError("adaptation.english_share", share, "use a fraction in [0, 1)")
    adaptation = Adaptation(
        _positive(_get(a, "stage1_steps", int, "adaptation", "steps >= 0"), "adaptation.stage1_steps", allow_zero=True),
        _positive(_get(a, "stage2_steps", int, "adaptation", "steps >= 0"), "adaptation.stage2_steps", allow_zero=True),
        _positive(_get(a, "seq_len", int, "adaptation", "e.g. 256"), "adaptation.seq_len"),
        _positive(_get(a, "batch_size", int, "adaptation", "e.g. 8"), "adaptation.batch_size"),
        _positive(_get(a, "learning_rate", float, "adaptation", "e.g. 1e-3"), "adaptation.learning_rate"),
        share,
        _positive(_get(a, "eval_every", int, "adaptation", "0 = about 12 evaluations per run"),
                  "adaptation.eval_every", "use an integer >= 0", allow_zero=True) if "eval_every" in a else 0,
        check_convergence_step(a.get("convergence_step", 0), a["stage1_steps"], a["stage2_steps"],
                               a.get("eval_every", 0)),
        _embedding_lr_scales(a.get("embedding_lr_scales", {})))

    e = _get(raw, "evaluation", dict, "preset", "add an [evaluation] table")
    _check_keys(e, Evaluation, "evaluation")
    evaluation = Evaluation(
        _positive(_get(e, "mmlu_questions", int, "evaluation", "0 for all"), "evaluation.mmlu_questions", allow_zero=True),
        _positive(_get(e, "translation_sentences", int, "evaluation", "0 for all"), "evaluation.translation_sentences", allow_zero=True),
        _positive(_get(e, "classification_items", int, "evaluation", "0 for all"), "evaluation.classification_items", allow_zero=True),
        _positive(_get(e, "bootstrap_samples", int, "evaluation", "e.g. 1000"), "evaluation.bootstrap_samples"),
        _positive(_get(e, "mmlu_subjects", int, "evaluation", "0 = all subjects"), "evaluation.mmlu_subjects",
                  "use an integer >= 0 (0 = all subjects)", allow_zero=True) if "mmlu_subjects" in e else 0,
        _positive(_get(e, "matching_items", int, "evaluation", "0 = every held-out pair"), "evaluation.matching_items",
                  "use an integer >= 0 (0 = every held-out pair)", allow_zero=True) if "matching_items" in e else 0,
        english_bpb_texts=_positive(_get(e, "english_bpb_texts", int, "evaluation", "e.g. 100"),
                                    "evaluation.english_bpb_texts", "use an integer >= 1 (documents per English source)")
        if "english_bpb_texts" in e else 100)

    i = raw.get("initialization", {})
    if not isinstance(i, dict):
        raise ConfigError("initialization", i, "use a table [initialization] (optional)")
    _check_keys(i, Initialization, "initialization")
    init_values: dict[str, Any] = {}
    if "max_anchors" in i:
        init_values["max_anchors"] = _positive(_get(i, "max_anchors", int, "initialization", "0 for all"),
                                               "initialization.max_anchors", "use an integer >= 0 (0 = all)", allow_zero=True)
    if "min_dev_documents" in i:
        init_values["min_dev_documents"] = _positive(_get(i, "min_dev_documents", int, "initialization", "e.g. 300"),
                                                     "initialization.min_dev_documents", "use an integer >= 1")
    init_values["blend_weight"] = check_blend_weight(i.get("blend_weight", Initialization.blend_weight), sweep,
                                                     any(parse_label(m).blend for m in methods))
    init = Initialization(**init_values)

    desc = raw.get("description", "")
    factor = raw.get("timeout_factor", 1.0)
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor < 1:
        raise ConfigError("timeout_factor", factor, "use a number >= 1 (it multiplies every notebook's cell timeout)")
    return Preset(name, desc, data_source, encoder, device, grid, fert, vocab, adaptation, evaluation, source_file,
                  initialization=init, variants=variants, sweep=sweep, fusion=check_fusion(raw.get("fusion"), chosen),
                  clo=_check_clo_names(check_clo(raw.get("clo"), chosen), langs),
                  franken=check_franken(raw.get("franken"), chosen),
                  timeout_factor=float(factor))


def _check_clo_names(settings: CloSettings, langs: tuple[str, ...]) -> CloSettings:
    """``[clo] languages`` and ``models`` checked against data/languages.toml and the known models."""
    from .assets import MODELS

    for lang in settings.languages:
        if lang not in langs:
            raise ConfigError("clo.languages", lang, f"use languages of data/languages.toml: {', '.join(langs)}")
    for m in settings.models:
        if m not in MODELS and not Path(m).expanduser().is_dir():
            raise ConfigError("clo.models", m, f"use one of: {', '.join(MODELS)}, or an existing local model folder")
    return settings


def _set_dotted(raw: dict, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    table = raw
    for p in parents:
        if not isinstance(table.get(p), dict):
            raise ConfigError(dotted, value, f"no table [{p}] in the preset")
        table = table[p]
    table[leaf] = value


def _english_options(v: dict) -> dict:
    """The [vocabulary] English-protection keys, checked (sources against paper_utils.corpora.english_text)."""
    from .corpora.english_text import FIT_SOURCES, HELDOUT_SOURCES

    out: dict[str, Any] = {}
    for key, valid in (("english_protection", FIT_SOURCES), ("english_heldout", HELDOUT_SOURCES)):
        if key in v:
            out[key] = _str_list(v, key, "vocabulary", valid, "")
    if set(out.get("english_protection", ())) & set(out.get("english_heldout", ())):
        raise ConfigError("vocabulary.english_heldout", out["english_heldout"],
                          "held-out English must come from sources the protection is not fitted on")
    if "english_words" in v:
        out["english_words"] = _positive(_get(v, "english_words", int, "vocabulary", "an integer"),
                                         "vocabulary.english_words", "use an integer >= 0 (0 = the whole list)",
                                         allow_zero=True)
    if "english_heldout_limit" in v:
        out["english_heldout_limit"] = _positive(_get(v, "english_heldout_limit", int, "vocabulary", "an integer"),
                                                 "vocabulary.english_heldout_limit", "use an integer >= 0 (0 = all)",
                                                 allow_zero=True)
    if "english_floor" in v:
        floor = v["english_floor"]
        if isinstance(floor, bool) or not isinstance(floor, (int, float)) or not 0 <= floor <= 1:
            raise ConfigError("vocabulary.english_floor", floor, "use a share between 0 and 1, e.g. 0.999 (0 = off)")
        out["english_floor"] = float(floor)
    for flag in ("letter_tokens_only", "guard_every_spelling", "word_tokens_only"):
        if flag in v:
            out[flag] = _get(v, flag, bool, "vocabulary", "true or false")
    if "method" in v:
        method = _get(v, "method", str, "vocabulary", "continue_bpe or whole_words")
        if method not in VOCABULARY_METHODS:
            raise ConfigError("vocabulary.method", method, f"use one of: {', '.join(VOCABULARY_METHODS)}")
        out["method"] = method
    return out


def load_preset(name_or_path: str | Path = "demo", **overrides: Any) -> Preset:
    """Load and validate a preset by name (``data/presets/<name>.toml``) or TOML path."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = PRESETS_DIR / f"{name_or_path}.toml"
        if not path.exists():
            raise ConfigError("preset", str(name_or_path), f"use one of: {', '.join(preset_names())}, or a path to a .toml file")
    elif not path.exists():
        raise ConfigError("preset", str(name_or_path), "the TOML file does not exist")
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("preset", str(path), f"fix the TOML syntax: {exc}") from exc
    for key, value in overrides.items():
        _set_dotted(raw, key, value)
    return validate(raw, path.stem, str(path))


__all__ = ["Preset", "Run", "Grid", "load_preset", "validate", "preset_names"]
