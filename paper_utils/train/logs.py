"""The training log (``train_log.jsonl``) and what is read off it.

Example::

    >>> log = [{"type": "eval", "step": 0, "heldout_bpb": 4.1}, {"type": "eval", "step": 10, "heldout_bpb": 3.6}]
    >>> steps_to_reach(log, 3.8), steps_to_reach(log, 3.0)
    (10, None)
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence


def read_log(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def steps_to_reach(log: Sequence[dict], target_bpb: float | None) -> int | None:
    """First evaluated step whose held-out bpb is at or below ``target_bpb`` (None: never)."""
    if target_bpb is None:
        return None
    for rec in log:
        if rec.get("type") == "eval" and rec["heldout_bpb"] <= target_bpb:
            return rec["step"]
    return None


__all__ = ["read_log", "steps_to_reach"]
