"""English instruction pairs (prompt -> response) from OpenAI's ``evals`` registry data, split by task file.

Example::

    >>> import json, pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> def task(name, rows):
    ...     path = root / DATA_ROOT / name / "samples.jsonl"
    ...     path.parent.mkdir(parents=True)
    ...     _ = path.write_text("".join(json.dumps(r) + "\\n" for r in rows), encoding="utf-8")
    >>> task("capitals", [{"input": [{"role": "system", "content": "Answer with the city."},
    ...                              {"role": "user", "content": "What is the capital of France?"}],
    ...                    "ideal": "Paris"}] * 3)
    >>> task("uz-quiz", [{"input": "Poytaxt qaysi shahar?", "ideal": ["Toshkent"]}] * 3)
    >>> rows = english_instructions("all", roots={PACK: root})
    >>> len(rows), rows[0]["task"], rows[0]["response"]
    (3, 'capitals/samples.jsonl', 'Paris')
    >>> print(rows[0]["prompt"])
    Answer with the city.
    What is the capital of France?
    >>> [(t["task"], t["kept"], t["reason"]) for t in task_table(roots={PACK: root})][1]
    ('uz-quiz/samples.jsonl', False, 'not English: 0.00 of its words are common English words (needs >= 0.08)')

**Source.** ``evals==3.0.1.post1`` (a pinned pack, ``openai-evals`` in ``data/packs.toml``; MIT): every
``*.jsonl`` under ``evals/registry/data/`` is a *task file*. A record is a pair when it has ``input`` (a string,
or chat messages whose ``content`` strings are joined with newlines: the prompt) and ``ideal`` (a string, or a
list whose first string is taken: the response); other records (few-shot ``sample`` files, multi-turn agent
logs) are skipped, as is a pair with an empty side or a side longer than :data:`MAX_CHARS` characters.

**English only** (:func:`english_verdict`, per task file): its path names no other language
(:data:`OTHER_LANGUAGES`: ``italian-exams-qa``, ``indonesian_numbers``, ``ukraine_gec`` are out even where their
instructions are English), and over its pairs' prompts and responses at least
:data:`MIN_LATIN_SHARE` of its letters are ASCII ``a-z``/``A-Z`` (drops Chinese, Arabic, Cyrillic, Korean, ...
tasks) *and* at least :data:`MIN_ENGLISH_WORD_SHARE` of its words are among :data:`ENGLISH_WORDS`, 50 common
English function words (drops Latin-script tasks in other languages: Albanian, Afrikaans, Indonesian, ...;
English prose is about 0.3, code or digit-heavy English tasks still pass at this low bar). The rule decides
per task file, never per pair, so a task is either in or out.

**Split by source**: a task file is ``heldout`` when ``hash_unit(SPLIT_SEED, task path) < heldout_share``
(:func:`paper_utils.corpora.hash_unit`), else ``train``: no task contributes to both. **Cap**: the first
``pairs_per_task`` pairs of each file, in file order (0 = all), so a few large tasks do not dominate.
"""
from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import ConfigError, DataError
from .arguments import choice, pack_root
from .splits import hash_unit

PACK = "openai-evals"
DATA_ROOT = "evals/registry/data"
SPLITS = ("train", "heldout", "all")
SPLIT_SEED = 0
HELDOUT_SHARE = 0.1
PAIRS_PER_TASK = 200
MAX_CHARS = 4000
MIN_LATIN_SHARE = 0.99
MIN_ENGLISH_WORD_SHARE = 0.08
ENGLISH_WORDS = frozenset(
    "the of and to a in is that for it as was with be by on not he this are or his from at which but have an they "
    "you were her she there been one all we their if what".split())
# a task whose path names one of these is about another language (its prompts may still be English)
OTHER_LANGUAGES = frozenset(
    "afrikaans albanian amharic arabic armenian azerbaijani basque belarusian bengali bosnian bulgarian burmese "
    "catalan chinese croatian czech danish dutch esperanto estonian filipino finnish french galician georgian german "
    "greek gujarati hausa hebrew hindi hungarian icelandic igbo indonesian irish italian japanese javanese kannada "
    "kazakh khmer korean kurdish kyrgyz lao latin latvian lithuanian macedonian malay malayalam maltese maori marathi "
    "miskito mongolian nepali norwegian pashto persian polish portuguese punjabi romanian russian sanskrit serbian "
    "sinhala slovak slovenian somali spanish swahili swedish tagalog tajik tamil telugu thai tibetan turkish turkmen "
    "ukraine ukrainian urdu uyghur uzbek vietnamese welsh yiddish yoruba zulu".split())
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def _text(value: Any) -> str | None:
    """The prompt of an ``input`` (a string, or chat messages' contents joined by newlines)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list) and value and all(isinstance(m, dict) and isinstance(m.get("content"), str)
                                                 for m in value):
        return "\n".join(m["content"].strip() for m in value).strip()
    return None


def _response(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        first = next((v for v in value if isinstance(v, str)), None)
        return first.strip() if first is not None else None
    return None


def read_task_file(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Every ``(prompt, response)`` pair of one task file, in file order (records that are not pairs skipped)."""
    pairs = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(record, dict):
                continue
            prompt, response = _text(record.get("input")), _response(record.get("ideal"))
            if prompt and response and len(prompt) <= MAX_CHARS and len(response) <= MAX_CHARS:
                pairs.append((prompt, response))
    return pairs


def english_verdict(pairs: list[tuple[str, str]], task: str = "") -> tuple[bool, str]:
    """``(kept, reason)`` of the English rule (module doc) for one task file's pairs (``task``: its path)."""
    if not pairs:
        return False, "no prompt -> ideal pairs"
    named = sorted(set(_WORD.findall(task.lower())) & OTHER_LANGUAGES)
    if named:
        return False, f"about another language: its path names {', '.join(named)}"
    text = "\n".join(p + "\n" + r for p, r in pairs)
    letters = [c for c in text if c.isalpha()]
    latin = sum(c.isascii() for c in letters) / max(len(letters), 1)
    if latin < MIN_LATIN_SHARE:
        return False, f"not English: {latin:.2f} of its letters are ASCII (needs >= {MIN_LATIN_SHARE})"
    words = _WORD.findall(text.lower())
    share = sum(w in ENGLISH_WORDS for w in words) / max(len(words), 1)
    if share < MIN_ENGLISH_WORD_SHARE:
        return False, (f"not English: {share:.2f} of its words are common English words "
                       f"(needs >= {MIN_ENGLISH_WORD_SHARE})")
    return True, "English"


def split_of_task(task: str, heldout_share: float = HELDOUT_SHARE, seed: int = SPLIT_SEED) -> str:
    """``heldout`` or ``train`` for a task file's path (relative to ``evals/registry/data``)."""
    return "heldout" if hash_unit(seed, task) < heldout_share else "train"


@lru_cache(maxsize=4)
def _tasks(root: Path) -> tuple[tuple[str, tuple[tuple[str, str], ...], bool, str], ...]:
    data = root / DATA_ROOT
    if not data.is_dir():
        raise DataError(f"{data} does not exist: the {PACK} pack's registry data is missing; fetch the pack "
                        f"(python -m paper_utils assets fetch --preset <a preset whose grid uses the fusion recipe>)")
    out = []
    for path in sorted(data.rglob("*.jsonl")):
        task = path.relative_to(data).as_posix()
        pairs = read_task_file(path)
        kept, reason = english_verdict(pairs, task)
        out.append((task, tuple(pairs), kept, reason))
    return tuple(out)


def task_table(*, heldout_share: float = HELDOUT_SHARE, pairs_per_task: int = PAIRS_PER_TASK,
               roots: Mapping[str, str | os.PathLike] | None = None) -> list[dict]:
    """One row per task file: ``task``, ``pairs``, ``kept``, ``reason``, ``split``, ``used`` (after the cap)."""
    rows = []
    for task, pairs, kept, reason in _tasks(pack_root(PACK, roots)):
        used = len(pairs) if not pairs_per_task else min(len(pairs), pairs_per_task)
        rows.append({"task": task, "pairs": len(pairs), "kept": kept, "reason": reason,
                     "split": split_of_task(task, heldout_share), "used": used if kept else 0})
    return rows


def english_instructions(split: str = "train", *, heldout_share: float = HELDOUT_SHARE,
                         pairs_per_task: int = PAIRS_PER_TASK,
                         roots: Mapping[str, str | os.PathLike] | None = None) -> list[dict]:
    """Rows ``{"task", "prompt", "response"}`` of the English task files of ``split`` (module doc)."""
    choice("split", split, SPLITS)
    if not 0 <= heldout_share < 1:
        raise ConfigError("heldout_share", heldout_share, "use a share in [0, 1)")
    rows = []
    for task, pairs, kept, _ in _tasks(pack_root(PACK, roots)):
        if not kept or (split != "all" and split_of_task(task, heldout_share) != split):
            continue
        for prompt, response in pairs[:pairs_per_task or None]:
            rows.append({"task": task, "prompt": prompt, "response": response})
    return rows


def task_balanced(pairs: Sequence[dict], n: int, seed: int = 0) -> list[dict]:
    """The first ``n`` of ``pairs`` in a task-balanced order: each task's pairs in a seeded order, one from every task
    (in a seeded task order) before a second from any. :func:`english_instructions` returns its rows task file after
    task file, so its first 64 held-out rows were one task's (``[No]`` answers of four tokens): the held-out English
    pairs of the Franken sibling and of the fusion recipe (their losses during training, the fusion benchmark's
    English task) are drawn through this.

    >>> pairs = [{"task": t, "prompt": f"{t}{i}", "response": "r"} for t in "aab" for i in range(3)]
    >>> sorted(p["task"] for p in task_balanced(pairs, 2))
    ['a', 'b']
    """
    keyed = sorted(((hash_unit(seed, f"{p.get('task', '')}\x1f{p['prompt']}\x1f{p['response']}"), p) for p in pairs),
                   key=lambda row: row[0])
    rank: dict[str, int] = {}
    task_order: dict[str, float] = {}
    ordered = []
    for key, pair in keyed:
        task = pair.get("task", "")
        rank[task] = rank.get(task, -1) + 1
        order = task_order.setdefault(task, hash_unit(seed, task))
        ordered.append((rank[task], order, key, pair))
    return [row[3] for row in sorted(ordered, key=lambda row: row[:3])][:n]


__all__ = ["PACK", "DATA_ROOT", "SPLITS", "HELDOUT_SHARE", "PAIRS_PER_TASK", "MIN_LATIN_SHARE",
           "MIN_ENGLISH_WORD_SHARE", "ENGLISH_WORDS", "OTHER_LANGUAGES", "read_task_file", "english_verdict", "split_of_task",
           "task_table", "english_instructions", "task_balanced"]
