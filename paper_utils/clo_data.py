"""The CLO recipe's data: English SFT pairs translated once (cached, resumable), preference pairs, SFT examples.

Example::

    >>> import tempfile, pathlib
    >>> from paper_utils.translate import get_translator
    >>> english = [{"task": "t.jsonl", "prompt": f"Question {i}?", "response": f"The answer is {i}."} for i in range(6)]
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "fixture_tag__train.jsonl"
    >>> records = translated_sft("ko", 2, get_translator("fixture_tag"), path=path, english=english)
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
    ...                                                                english=english)][:2]   # N within 2N
    True

**Selection** (:func:`english_selection`): the English pairs of ``english_instructions(split)`` (OpenAI evals,
split by task file) whose prompt and response are each at most ``max_chars`` characters and whose response has
at least ``min_response_words`` words of letters (:data:`MIN_RESPONSE_WORDS`; most evals answers are one word, a
number, a letter or a code such as ``NO`` or ``rh3``: the same in both languages, such an item gives no preference
pair, and the language of a one-word answer cannot be identified; of 100 items selected without this rule, 56
Spanish translations by Apertium equalled their English response), ordered by
``hash_unit(seed, id)``; the first ``n`` are the ``n``-selection, so the 2N selection (the SFT-2N baseline)
holds every item of the N selection (CLO at N). An item's ``id`` is ``en-`` + 12 hex digits of the sha256
of its task, prompt and response (duplicates inside a task kept once).

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
from pathlib import Path
from typing import Callable, Mapping, Sequence

from .corpora.english_instructions import english_instructions
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
MIN_RESPONSE_WORDS = 3          # words of letters in an English response (see english_selection)
CHUNK = 16


def item_id(task: str, prompt: str, response: str) -> str:
    return "en-" + short_hash(f"{task}\x1f{prompt}\x1f{response}")


def response_words(text: str) -> int:
    """Words made of letters in ``text`` (numbers, codes and punctuation do not count): ``"NO"`` 1, ``"rh3"`` 0."""
    return len(re.findall(r"(?<![\w])[^\W\d_]+(?![\w])", text))


def english_selection(n: int, split: str = "train", *, seed: int = SELECTION_SEED, max_chars: int = MAX_CHARS,
                      min_response_words: int = MIN_RESPONSE_WORDS, english: Sequence[Mapping] | None = None,
                      roots: Mapping[str, str | os.PathLike] | None = None) -> list[dict]:
    """The first ``n`` English items ``{"id", "task", "prompt", "response"}`` in the seeded order (module doc).

    ``english``: rows ``{"task", "prompt", "response"}`` to select from instead of ``english_instructions(split)``.
    """
    if not isinstance(n, int) or n < 1:
        raise ConfigError("n", n, "use a positive number of items")
    rows = english if english is not None else english_instructions(split, roots=roots)
    items: dict[str, dict] = {}
    for row in rows:
        if (len(row["prompt"]) <= max_chars and len(row["response"]) <= max_chars
                and response_words(row["response"]) >= min_response_words):
            key = item_id(row["task"], row["prompt"], row["response"])
            items.setdefault(key, {"id": key, "task": row["task"], "prompt": row["prompt"],
                                   "response": row["response"]})
    if len(items) < n:
        raise ConfigError("n", n, f"only {len(items)} English items of split {split!r} have prompt and response "
                                  f"of at most {max_chars} characters and a response of at least {min_response_words} "
                                  "words; use a smaller n, a larger max_chars or a smaller min_response_words")
    return sorted(items.values(), key=lambda item: (hash_unit(seed, item["id"]), item["id"]))[:n]


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
                   roots: Mapping[str, str | os.PathLike] | None = None,
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
    selection = english_selection(n, split, seed=seed, max_chars=max_chars, english=english, roots=roots)
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


__all__ = ["RECORD_FIELDS", "SFT_MODES", "SELECTION_SEED", "MAX_CHARS", "item_id", "english_selection",
           "read_sft_jsonl", "translated_sft", "clo_pairs", "sft_examples"]
