"""The CLO recipe's data: English SFT pairs translated once (cached, resumable), preference pairs, SFT examples.

Example::

    >>> import tempfile, pathlib
    >>> from paper_utils.translate import get_translator
    >>> english = [{"task": "t.jsonl", "prompt": f"Question {i}?", "response": f"The answer is {i}."} for i in range(6)]
    >>> common = frozenset({"question", "the", "answer", "is"})     # common English words (default: wordfreq's)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "fixture_tag__train.jsonl"
    >>> records = translated_sft("ko", 2, get_translator("fixture_tag"), path=path, english=english,
    ...                          vocabulary=common)
    >>> r = records[0]
    >>> r["prompt_en"], r["prompt_tgt"], r["translator"]
    ('Question 0?', '[ko] Question 0?', 'fixture_tag')
    >>> [p["direction"] for p in clo_pairs(records)]
    ['target', 'english', 'target', 'english']
    >>> p = clo_pairs(records)[0]
    >>> p["prompt"], p["chosen"], p["rejected"]
    ('[ko] Question 0?', '[ko] The answer is 0.', 'The answer is 0.')
    >>> [e["prompt"] for e in sft_examples(records, "english+target")][:2]
    ['Question 0?', '[ko] Question 0?']
    >>> [r["id"] for r in records] == [r["id"] for r in translated_sft("ko", 4, "fixture_tag", path=path,
    ...                                                                english=english, vocabulary=common)][:2]
    True
    >>> len({r["task"] for r in english_selection(3, english=[dict(e, task=f"t{i % 3}") for i, e in enumerate(english)],
    ...                                           vocabulary=common)})           # balanced: one item per task first
    3

**Pool** (:func:`english_pool`): the English pairs of the ``sources`` in :data:`SOURCE_PACKS`: OpenAI evals'
task files (:mod:`paper_utils.corpora.english_instructions`) and BIG-bench's tasks
(:mod:`paper_utils.corpora.bigbench_instructions`), offline packs; for the ``paper`` preset also Alpaca-cleaned from
the Hub (:mod:`paper_utils.corpora.alpaca_instructions`, hash buckets as its tasks); each task named
``<source>/<task>``. **Split by source**
(:func:`clo_split`): a task's *group* is its source and first folder (``bigbench/gem`` holds ``gem/turk`` and
``gem/asset``, which share their source sentences; ``evals/raven-matrices``), and a whole group is ``heldout`` when
``hash_unit(SPLIT_SEED, group) < heldout_share``, so no source text is on both sides within a source folder (text
shared across groups or sources is not checked).

**Selection** (:func:`english_selection`): pairs whose prompt and response are each at most ``max_chars``
characters and that read as English language, not as codes (:func:`is_language_pair`): the response is prose
(:func:`is_prose`: at least :data:`MIN_RESPONSE_WORDS` words of two or more letters, at least one common English
function word written in lower case, and words of two or more letters make up at least :data:`MIN_WORD_TOKENS` of
its whitespace tokens, so "I am a cat." is not prose; this drops ``ANSWER: 9. [(D, H, D, E,)]``, SQL, names and one-word answers, whose translation
equals the English and whose language cannot be identified) and at least :data:`MIN_ENGLISH_VOCABULARY` of the words
of letters of the prompt and of the response are in wordfreq 3.1.1's ``small_en`` list of common English words (a
pinned pack; all 28,917 of its words, :data:`ENGLISH_VOCABULARY` caps it at 30,000); this drops cipher tasks, whose
prompts are ciphertext. Known gap: lower-case SQL (``select name from pets where ...``) passes both rules (4 of the
100 ``demo-full`` training records, from the two Spider tasks; none held out). Before these rules, 66 of the
first 100 held-out evals items were one puzzle task's ``ANSWER: 9. [...]`` codes and 26 SQL queries (5 tasks in
all). Items are then **balanced over tasks**: each task's items in the seeded order ``hash_unit(seed, id)``, and
the pool ordered by (rank inside its task, hash), so the first ``n`` take one item from every task before a second
from any. The first ``n`` are the ``n``-selection, so the 2N selection (the SFT-2N baseline) holds every item of
the N selection (CLO at N). An item's ``id`` is ``en-`` + 12 hex digits of the sha256 of its task, prompt and
response (duplicates inside a task kept once).

**Cache** (:func:`translated_sft`): one JSONL file per (preset, language, translator, split) from
:func:`paper_utils.layout.translations_jsonl`, records ``{"id", "task", "prompt_en", "response_en",
"prompt_tgt", "response_tgt", "translator", "translator_version"}``. Items already there with the same
translator name and version are reused; the missing ones are translated ``chunk`` items at a time and
the file is rewritten atomically after each chunk, so a killed run keeps every finished chunk and a rerun
translates only what is missing. A record of another translator version is not reused (it is translated
again and replaced). A record with a missing field stops with a :class:`~paper_utils.errors.DataError`
naming ``file:line`` and the field.

**Pairs** (:func:`clo_pairs`, both directions, as the CLO paper): for the target prompt the target response
is chosen and the English response rejected; for the English prompt the English response is chosen and the
target response rejected. An item whose translation equals its English response (numbers, code, names)
gives no preference and is dropped (``drop_identical``). :func:`sft_examples` gives the SFT baselines'
prompt -> response examples: ``"target"``, ``"english"`` or ``"english+target"`` (per item: English, then
target).
"""
from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Callable, Mapping, Sequence

from .clo_grid import SOURCE_PACKS
from .corpora.alpaca_instructions import HUB_ID as ALPACA_HUB_ID, alpaca_instructions
from .corpora.bigbench_instructions import bigbench_instructions
from .corpora.english_instructions import ENGLISH_WORDS, english_instructions
from .corpora.splits import hash_unit
from .errors import ConfigError, DataError
from .io import write_jsonl
from .layout import translations_jsonl
from .translate import Translator, get_translator
from .translate.base import short_hash

RECORD_FIELDS = ("id", "task", "prompt_en", "response_en", "prompt_tgt", "response_tgt", "translator",
                 "translator_version")
SFT_MODES = ("target", "english", "english+target")
SELECTION_SEED = 17
MAX_CHARS = 600
MIN_RESPONSE_WORDS = 3          # words of two or more letters in an English response (is_prose)
MIN_WORD_TOKENS = 0.6           # share of a response's whitespace tokens that are words of letters (is_prose)
ENGLISH_VOCABULARY = 30_000     # cap on wordfreq's small_en list (it holds 28,917 words: all are used)
MIN_ENGLISH_VOCABULARY = 0.6    # share of a prompt's and of a response's words that must be among them
HELDOUT_SHARE = 0.1
SPLIT_SEED = 0
CHUNK = 16
_EDGE = re.compile(r"^[^\w]+|[^\w]+$")
_LETTERS = re.compile(r"[^\W\d_]+")


def item_id(task: str, prompt: str, response: str) -> str:
    return "en-" + short_hash(f"{task}\x1f{prompt}\x1f{response}")


def _words(text: str) -> list[str]:
    return [_EDGE.sub("", token) for token in text.split()]


def is_prose(text: str) -> bool:
    """Whether a response reads as language (module doc).

    Example::

        >>> [is_prose(t) for t in ("The lightness is 31%.", "ANSWER: 9. [(D, H, D, E,)]", "Millie Bobby Brown",
        ...                        "SELECT count(*) FROM pets WHERE weight > 10")]
        [True, False, False, False]
    """
    words = _words(text)
    letters = [w for w in words if len(w) >= 2 and _LETTERS.fullmatch(w)]
    return (len(letters) >= MIN_RESPONSE_WORDS and any(w in ENGLISH_WORDS for w in words)
            and len(letters) >= MIN_WORD_TOKENS * len(words))


def english_vocabulary_share(text: str, vocabulary: frozenset[str]) -> float:
    """Share of ``text``'s words of letters (lower-cased) that are in ``vocabulary`` (1.0 when it has none)."""
    words = [w.lower() for w in _words(text) if _LETTERS.fullmatch(w)]
    return sum(w in vocabulary for w in words) / len(words) if words else 1.0


def is_language_pair(prompt: str, response: str, vocabulary: frozenset[str]) -> bool:
    """The selection rule of a pair (module doc): a prose response, prompt and response in common English words."""
    return (is_prose(response) and english_vocabulary_share(prompt, vocabulary) >= MIN_ENGLISH_VOCABULARY
            and english_vocabulary_share(response, vocabulary) >= MIN_ENGLISH_VOCABULARY)


@lru_cache(maxsize=2)
def english_vocabulary(wordfreq_root: str | None = None) -> frozenset[str]:
    """wordfreq 3.1.1's ``small_en`` words, at most :data:`ENGLISH_VOCABULARY` (it holds 28,917); ``wordfreq_root``:
    another copy of the pack."""
    from .corpora.wordfreq import word_frequencies

    roots = {"wordfreq": wordfreq_root} if wordfreq_root else None
    return frozenset(word_frequencies("en", top=ENGLISH_VOCABULARY, roots=roots)["word"])


def task_group(task: str) -> str:
    """The group a task is split by: its source and first folder (``bigbench/gem/turk`` -> ``bigbench/gem``)."""
    return "/".join(task.split("/")[:2])


def clo_split(task: str, heldout_share: float = HELDOUT_SHARE, seed: int = SPLIT_SEED) -> str:
    """``heldout`` or ``train`` for a pooled task (by its group: module doc)."""
    return "heldout" if hash_unit(seed, task_group(task)) < heldout_share else "train"


def english_pool(sources: Sequence[str] = ("evals",),
                 roots: Mapping[str, str | os.PathLike] | None = None) -> list[dict]:
    """Rows ``{"task": "<source>/<task>", "prompt", "response"}`` of every English task of ``sources``
    (``roots["alpaca"]``: a local folder instead of the Hub set)."""
    if isinstance(sources, str) or not sources or any(s not in SOURCE_PACKS for s in sources):
        raise ConfigError("sources", sources, f"use a list of English sources out of: {', '.join(SOURCE_PACKS)}")
    readers = {"evals": lambda: english_instructions("all", roots=roots),
               "bigbench": lambda: bigbench_instructions(roots=roots),
               "alpaca": lambda: alpaca_instructions(str((roots or {}).get("alpaca", ALPACA_HUB_ID)))}
    return [{**row, "task": f"{source}/{row['task']}"} for source in dict.fromkeys(sources)
            for row in readers[source]()]


def language_pairs(split: str = "train", *, seed: int = SELECTION_SEED, max_chars: int = MAX_CHARS,
                   english: Sequence[Mapping] | None = None, sources: Sequence[str] = ("evals",),
                   heldout_share: float = HELDOUT_SHARE, vocabulary: frozenset[str] | None = None,
                   roots: Mapping[str, str | os.PathLike] | None = None) -> list[dict]:
    """Every English item ``{"id", "task", "prompt", "response"}`` of ``split`` that passes the length and language
    rules, in the task-balanced seeded order (module doc; the fusion recipe trains on them).

    ``english``: rows ``{"task", "prompt", "response"}`` of the split to select from instead of the pool of
    ``sources`` (no split is applied to them). ``vocabulary``: the common English words of the language rule
    (default :func:`english_vocabulary`, from the wordfreq pack).
    """
    if split not in ("train", "heldout"):
        raise ConfigError("split", split, "use train or heldout")
    if not 0 < heldout_share < 1:
        raise ConfigError("heldout_share", heldout_share, "use a share strictly between 0 and 1")
    if english is None:
        rows = [r for r in english_pool(sources, roots) if clo_split(r["task"], heldout_share) == split]
    else:
        rows = list(english)
    if vocabulary is None:
        vocabulary = english_vocabulary(str(roots["wordfreq"]) if roots and "wordfreq" in roots else None)
    items: dict[str, dict] = {}
    for row in rows:
        if (len(row["prompt"]) <= max_chars and len(row["response"]) <= max_chars
                and is_language_pair(row["prompt"], row["response"], vocabulary)):
            key = item_id(row["task"], row["prompt"], row["response"])
            items.setdefault(key, {"id": key, "task": row["task"], "prompt": row["prompt"],
                                   "response": row["response"]})
    ranked, seen = [], {}
    for item in sorted(items.values(), key=lambda item: (hash_unit(seed, item["id"]), item["id"])):
        seen[item["task"]] = seen.get(item["task"], -1) + 1
        ranked.append((seen[item["task"]], hash_unit(seed, item["id"]), item["id"], item))
    return [row[3] for row in sorted(ranked, key=lambda row: row[:3])]


def english_selection(n: int, split: str = "train", *, seed: int = SELECTION_SEED, max_chars: int = MAX_CHARS,
                      english: Sequence[Mapping] | None = None, sources: Sequence[str] = ("evals",),
                      heldout_share: float = HELDOUT_SHARE, vocabulary: frozenset[str] | None = None,
                      roots: Mapping[str, str | os.PathLike] | None = None) -> list[dict]:
    """The first ``n`` items of :func:`language_pairs` (same arguments); ConfigError when fewer pass."""
    if not isinstance(n, int) or n < 1:
        raise ConfigError("n", n, "use a positive number of items")
    items = language_pairs(split, seed=seed, max_chars=max_chars, english=english, sources=sources,
                           heldout_share=heldout_share, vocabulary=vocabulary, roots=roots)
    if len(items) < n:
        raise ConfigError("n", n, f"only {len(items)} English items of split {split!r} have prompt and response of "
                                  f"at most {max_chars} characters and pass the language rule (is_language_pair); "
                                  "use a smaller n, a larger max_chars or more sources")
    return items[:n]


def read_sft_jsonl(path: str | os.PathLike, fields: Sequence[str] = RECORD_FIELDS) -> list[dict]:
    """The records of a translated-SFT JSONL file; a bad line raises DataError naming ``file:line`` and the field."""
    path = Path(path)
    records = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{number}: not a JSON object ({exc.msg}); delete the line or the file "
                                "and rerun to translate it again") from exc
            if not isinstance(record, dict):
                raise DataError(f"{path}:{number}: not a JSON object")
            for field in fields:
                if not isinstance(record.get(field), str):
                    what = "missing field" if field not in record else "field is not a string:"
                    raise DataError(f"{path}:{number}: {what} {field!r} (a record needs {', '.join(fields)}); "
                                    "delete the line or the file and rerun to translate it again")
            records.append(record)
    return records


def translated_sft(language: str, n: int, translator: Translator | str, *, split: str = "train",
                   preset: str | None = None, path: str | os.PathLike | None = None, seed: int = SELECTION_SEED,
                   max_chars: int = MAX_CHARS, chunk: int = CHUNK, english: Sequence[Mapping] | None = None,
                   sources: Sequence[str] = ("evals",), heldout_share: float = HELDOUT_SHARE,
                   vocabulary: frozenset[str] | None = None, roots: Mapping[str, str | os.PathLike] | None = None,
                   progress: Callable[[str], None] | None = None) -> list[dict]:
    """The first ``n`` selected English items with their ``language`` translations, cached (module doc).

    The cache file is ``path``, else ``layout.translations_jsonl(preset, language, translator.name, split)``.
    """
    translator = get_translator(translator) if isinstance(translator, str) else translator
    if not translator.supports("en", language):
        covered = ", ".join(f"{s}->{t}" for s, t in sorted(translator.directions))
        raise ConfigError("language", language, f"translator {translator.name!r} covers {covered}; choose one with "
                                                "paper_utils.translate.translator_for(language, preset)")
    if path is None:
        if preset is None:
            raise ConfigError("preset", None, "give preset= (the cache goes under results/<preset>/) or path=")
        path = translations_jsonl(preset, language, translator.name, split)
    path = Path(path)
    selection = english_selection(n, split, seed=seed, max_chars=max_chars, english=english, sources=sources,
                                  heldout_share=heldout_share, vocabulary=vocabulary, roots=roots)
    version = translator.version
    cached = {r["id"]: r for r in read_sft_jsonl(path)} if path.exists() else {}
    missing = [item for item in selection if not (item["id"] in cached
                                                  and cached[item["id"]]["translator"] == translator.name
                                                  and cached[item["id"]]["translator_version"] == version)]
    if missing:
        translator.require_assets()                      # before anything is written
    for start in range(0, len(missing), chunk):
        items = missing[start:start + chunk]
        texts = [item["prompt"] for item in items] + [item["response"] for item in items]
        out = translator.translate(texts, "en", language)
        for i, item in enumerate(items):
            cached[item["id"]] = {"id": item["id"], "task": item["task"], "prompt_en": item["prompt"],
                                  "response_en": item["response"], "prompt_tgt": out[i],
                                  "response_tgt": out[len(items) + i], "translator": translator.name,
                                  "translator_version": version}
        write_jsonl(path, cached.values())
        if progress:
            progress(f"{path.name}: {start + len(items)}/{len(missing)} new items translated")
    return [cached[item["id"]] for item in selection]


def clo_pairs(records: Sequence[Mapping], *, drop_identical: bool = True) -> list[dict]:
    """Preference pairs ``{"id", "direction", "prompt", "chosen", "rejected"}``, two per record (module doc)."""
    pairs = []
    for r in records:
        for direction, prompt, chosen, rejected in (
                ("target", r["prompt_tgt"], r["response_tgt"], r["response_en"]),
                ("english", r["prompt_en"], r["response_en"], r["response_tgt"])):
            if drop_identical and chosen.strip() == rejected.strip():
                continue
            pairs.append({"id": r["id"], "direction": direction, "prompt": prompt, "chosen": chosen,
                          "rejected": rejected})
    return pairs


def sft_examples(records: Sequence[Mapping], mode: str = "target") -> list[dict]:
    """``{"id", "side", "prompt", "response"}`` examples of an SFT baseline; ``mode`` in :data:`SFT_MODES`."""
    if mode not in SFT_MODES:
        raise ConfigError("mode", mode, f"use one of: {', '.join(SFT_MODES)}")
    sides = {"target": ("target",), "english": ("english",), "english+target": ("english", "target")}[mode]
    out = []
    for r in records:
        for side in sides:
            suffix = "tgt" if side == "target" else "en"
            out.append({"id": r["id"], "side": side, "prompt": r[f"prompt_{suffix}"],
                        "response": r[f"response_{suffix}"]})
    return out


__all__ = ["RECORD_FIELDS", "SFT_MODES", "SELECTION_SEED", "MAX_CHARS", "SOURCE_PACKS", "item_id", "language_pairs", "is_prose",
           "english_vocabulary_share", "is_language_pair", "english_vocabulary", "task_group", "clo_split",
           "english_pool", "english_selection",
           "read_sft_jsonl", "translated_sft", "clo_pairs", "sft_examples"]
