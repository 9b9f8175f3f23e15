"""What step 0 runs on for one (preset, language, model): model, tokenizers, texts, encoder and lexicon.

Example::

    >>> from paper_utils.config import load_preset
    >>> from paper_utils.init import load_setup
    >>> setup = load_setup(load_preset("smoke"), "uz", "smollm2-135m")      # tiny random model, seconds
    >>> setup.notes["encoder"], sorted(setup.options("focus_ppmi"))
    ('ngram-hash (spelling only)', ['dim', 'encoder', 'min_count', 'target_texts'])
    >>> sorted(setup.options("wechsel"))[:5]
    ['bucket', 'dim', 'english_texts', 'epochs', 'lexicon']

:func:`load_setup` gathers model, tokenizers and texts for a preset: ``fixtures`` (the smoke
preset) builds a tiny random Llama or Gemma model and a byte-level BPE trained on the fixture
text (:mod:`paper_utils.fixtures`), extended with :func:`paper_utils.vocab.extend_tokenizer`, and a
spelling-only :class:`~paper_utils.init.anchors.NgramHashEncoder` (:func:`smoke_setup`);
``offline``/``hub`` load the real model, the stage-2 tokenizer (never rebuilt here), the held-out
target text, MMLU questions, the lexicon and the multilingual encoder. ``corpora`` (datasets,
pandas) and ``transformers`` are imported inside the functions that need them: the registry imports
this package to validate a preset, which must stay quick.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..assets import load_model
from ..config import Preset
from ..encoders import load_encoder
from ..errors import ConfigError
from ..fixtures import tiny_model, tiny_tokenizer
from ..layout import ModelLayout
from ..registry import initializer, initializers
from ..study import data_source, english_training_text, heldout_parallel
from ..vocab import extend_tokenizer
from .anchors import NgramHashEncoder


@dataclass
class InitSetup:
    """Everything step 0 needs for one (preset, language, model)."""

    preset: str
    language: str
    model_name: str
    model: Any
    base_tokenizer: Any
    extended_tokenizer: Any
    heldout_texts: list[str]
    english_texts: list[str]
    target_texts: list[str]
    encoder: Any = "e5-small"
    lexicon: Any = None
    notes: dict = field(default_factory=dict)
    method_options: dict = field(default_factory=dict)     # extra options per method (e.g. smoke: min_count=1)
    static_english_texts: list = field(default_factory=list)   # English text for static embeddings (wechsel)
    parallel_pairs: list = field(default_factory=list)         # (en, target) training pairs (wechsel's dictionary)
    dev_texts: list = field(default_factory=list)              # dev-split target text (the dev sweep scores it)

    @property
    def layout(self) -> ModelLayout:
        return ModelLayout(self.preset, self.language, self.model_name)

    @property
    def out_dir(self) -> Path:
        return self.layout.init_dir

    def options(self, method: str, given: dict[str, Any] | None = None) -> dict[str, Any]:
        """The data-bound options of ``method`` (those it registers as ``data``) for this setup, then ``given``.

        A ``blend`` gets them for the method it blends: its ``with_options`` are that method's setup options
        updated with the given ``with_options``.
        """
        supplied = {"encoder": self.encoder, "target_texts": self.target_texts, "lexicon": self.lexicon,
                    "english_texts": self.static_english_texts, "parallel_pairs": self.parallel_pairs}
        opts: dict[str, Any] = {name: supplied[name] for name in initializer(method).data}
        opts.update(self.method_options.get(method, {}))
        opts.update(given or {})
        if "with_method" in initializer(method).options:
            inner = opts.get("with_method", initializer(method).options["with_method"])
            opts["with_options"] = self.options(inner, dict(opts.get("with_options") or {}))
        return opts


def _extend(base, target_texts, budget, english_texts):
    while True:
        try:
            return extend_tokenizer(base, target_texts, budget, english_texts, min_frequency=2)
        except ConfigError as exc:
            if exc.parameter != "budget" or budget <= 1:
                raise
            budget = max(1, budget // 2)


def smoke_setup(preset: Preset, language: str, model: str) -> InitSetup:
    """Tiny random model + tokenizers on the fixture sentences (:mod:`paper_utils.fixtures`; seconds, no download)."""
    targets, english = heldout_parallel(preset, language)
    dev = data_source(preset).step0_dev_text(language)
    kind = "gemma" if "gemma" in model else "llama"
    base = tiny_tokenizer(english * 3, kind)
    ext, report = _extend(base, targets * 3, preset.vocabulary.budget, english)
    net = tiny_model(kind, len(base))
    small = {"min_count": 1, "dim": 16}
    static = {**small, "epochs": 2, "bucket": 10_000}                 # fastText in seconds on the fixtures
    return InitSetup(preset.name, language, model, net, base, ext, targets, english, targets * 3,
                     NgramHashEncoder(), None, {"model": f"tiny random {kind} (smoke)", "added": report["added"],
                                               "encoder": "ngram-hash (spelling only)"},
                     {"focus_ppmi": small, "wechsel_e5": small, "focus": static, "wechsel": static},
                     english_training_text(preset, language), [], dev)    # no training pairs in the fixtures



def extended_tokenizer_for(preset: Preset, language: str, model: str):
    """Stage 02's extended tokenizer ``results/<preset>/<lang>/<model key>/tokenizer/`` and its folder.

    Never rebuilt here: a missing folder raises :class:`~paper_utils.layout.MissingStageOutput`
    ("run 02_vocabulary_expansion for <language>/<model> first").
    """
    from transformers import AutoTokenizer

    folder = ModelLayout(preset.name, language, model).require_tokenizer()
    return AutoTokenizer.from_pretrained(str(folder)), str(folder)


def load_setup(preset: Preset, language: str, model: str, english_questions: int = 0) -> InitSetup:
    """Model, tokenizers, held-out/English/target text, encoder and lexicon for step 0."""
    source = data_source(preset)
    if source.tiny_models:
        return smoke_setup(preset, language, model)
    from .. import corpora

    ext, where = extended_tokenizer_for(preset, language, model)       # first: fails fast without stage 02
    net, base = load_model(model)
    target = list(corpora.monolingual(language, "train")["text"])
    n = english_questions or preset.evaluation.mmlu_questions or 1000
    english = list(corpora.mmlu_subset(n, seed=1)["question"])
    heldout = source.step0_heldout_text(language)
    lexicon = corpora.lexicon(language)
    # wechsel's English fastText: the English side of the training pairs and every MMLU question except the
    # ones the English KL is measured on; its dictionary may also come from the training pairs
    kl_questions = set(english)
    static_english = english_training_text(preset, language) + [
        q for q in corpora.mmlu(source=source.mmlu_source)["question"] if q not in kl_questions]
    pairs = [(r["en"], r["target"]) for r in corpora.parallel(language, "train")]
    anchors = preset.initialization.max_anchors
    return InitSetup(preset.name, language, model, net, base, ext, heldout, english, target,
                     load_encoder(preset.encoder), lexicon,
                     {"extended_tokenizer": ModelLayout(preset.name, language, model).relative(Path(where)),
                      "english_questions": n, "lexicon_entries": lexicon.num_rows, "max_anchors": anchors or "all"},
                     {name: {"max_anchors": anchors} for name, m in initializers().items() if m.anchored}
                     if anchors else {}, static_english, pairs, source.step0_dev_text(language))
