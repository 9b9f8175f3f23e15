"""English instruction pairs from an Alpaca-format data set on the Hugging Face Hub (the ``paper`` preset's CLO pool).

Example::

    >>> import json, pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())                      # a local copy in the Hub layout
    >>> rows = [{"instruction": "Give a synonym of happy.", "input": "", "output": "A synonym of happy is glad."},
    ...         {"instruction": "Summarize the text.", "input": "The cat sat on the mat all day.",
    ...          "output": "A cat spent the day on a mat."}]
    >>> _ = (folder / "data.json").write_text(json.dumps(rows), encoding="utf-8")
    >>> pairs = alpaca_instructions(str(folder))
    >>> print(pairs[1]["prompt"])
    Summarize the text.
    The cat sat on the mat all day.
    >>> pairs[1]["response"], pairs[0]["task"].startswith("b")
    ('A cat spent the day on a mat.', True)

**Source.** :data:`HUB_ID` (``yahma/alpaca-cleaned``, about 51,800 English pairs, CC-BY-4.0; the ``paper`` preset's
``[clo] english_sources`` names it as ``alpaca``) through :func:`paper_utils.corpora.hub.hub_load`, or a local
folder of JSON files with the same columns (tests, a mirror). **Not pinned to a revision:** this machine has no Hub
access to read the data set's commit; a ``paper`` run takes the Hub's current version, and ``assets fetch`` does not
download it ahead of the run. The prompt is ``instruction``, a newline and
``input`` when there is one; the response is ``output``. Alpaca has no tasks, so each pair gets a *bucket*
``b<k>`` (``k`` = :data:`BUCKETS` buckets by a hash of the instruction) that plays the role of a task folder:
the CLO data splits and balances by it (:mod:`paper_utils.clo_data`), and the same instruction never lands on
both sides.
"""
from __future__ import annotations

from pathlib import Path

from .splits import hash_unit

HUB_ID = "yahma/alpaca-cleaned"
BUCKETS = 64
OFFLINE_ALTERNATIVE = '[clo] english_sources = ["evals", "bigbench"] (offline packs)'


def _rows(source: str):
    import datasets

    from .hub import hub_load

    folder = Path(source)
    if folder.is_dir():
        files = sorted(str(p) for p in folder.rglob("*.json*"))
        return datasets.load_dataset("json", data_files=files, split="train")
    return hub_load(source, None, "train", OFFLINE_ALTERNATIVE)


def alpaca_instructions(source: str = HUB_ID) -> list[dict]:
    """Rows ``{"task": "b<k>", "prompt", "response"}`` of an Alpaca-format set (module doc)."""
    out = []
    for row in _rows(source):
        instruction, extra, response = ((row.get(k) or "").strip() for k in ("instruction", "input", "output"))
        if not instruction or not response:
            continue
        bucket = int(hash_unit(0, instruction) * BUCKETS)
        out.append({"task": f"b{bucket}", "prompt": f"{instruction}\n{extra}" if extra else instruction,
                    "response": response})
    return out


__all__ = ["HUB_ID", "BUCKETS", "alpaca_instructions"]
