"""Atomic result files: written to a temporary file in the same folder, then renamed into place.

Example::

    >>> from paper_utils.io import write_json, read_json
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a" / "metrics.json"
    >>> write_json(p, {"bleu": 12.5})
    >>> read_json(p)
    {'bleu': 12.5}

A crash mid-write leaves the previous file (or none), never half a file, so a rerun can trust
every result file it finds.
"""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


@contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` when the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix or path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)                  # mkstemp creates 0600; results are meant to be read
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder next to ``path``; when the block succeeds it replaces ``path``
    (any previous folder is removed), otherwise it is deleted and ``path`` is left as it was."""
    import shutil

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}-"))
    try:
        yield tmp
        tmp.chmod(0o755)                      # mkdtemp creates 0700
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_csv(path: str | Path, frame) -> None:
    """Write a ``pandas.DataFrame`` without its index."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def save_figure(fig, path_stem: str | Path, formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    """Save a matplotlib figure as ``<stem>.png`` and ``<stem>.svg`` atomically; returns the paths."""
    out = []
    for fmt in formats:
        target = Path(f"{path_stem}.{fmt}")
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight", metadata={"Date": None} if fmt == "svg" else None)
        out.append(target)
    return out


def write_jsonl(path: str | Path, records) -> None:
    """One JSON object per line (UTF-8, not ASCII-escaped), written atomically."""
    write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def read_jsonl(path: str | Path) -> list:
    """The objects of a JSONL file (blank lines skipped)."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def read_lines(path: str | Path) -> list[str]:
    """Non-empty lines of a UTF-8 text file; invalid UTF-8 raises ``DataError`` naming file and line.

    Example::

        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "uz.txt"
        >>> _ = p.write_bytes("Salom\\n\\ndunyo\\n".encode())
        >>> read_lines(p)
        ['Salom', 'dunyo']
    """
    from .errors import DataError

    path = Path(path)
    lines = []
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}, line {number}: not valid UTF-8 (byte {exc.start}: {raw[exc.start:exc.start + 4]!r}); "
                                "re-encode the file as UTF-8, e.g. `iconv -f latin1 -t utf-8`") from exc
            if line.strip():
                lines.append(line)
    return lines
