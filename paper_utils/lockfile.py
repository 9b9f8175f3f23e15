"""``requirements.lock``: check that it matches ``pyproject.toml``, and write it (``make lock``).

Example::

    >>> from paper_utils.lockfile import deps_sha256, recorded_sha256
    >>> from paper_utils.paths import REPO_ROOT
    >>> deps_sha256(REPO_ROOT / "pyproject.toml") == recorded_sha256(REPO_ROOT / "requirements.lock")
    True

Standard library only, and importing nothing from ``paper_utils``: ``make`` runs it with the system
Python before any virtual environment exists, as a script::

    $ python3 -I paper_utils/lockfile.py check            # exit 1 + "run `make lock`" when stale
    $ python3 -I paper_utils/lockfile.py write uv-out.txt "uv 0.13.9" uv pip compile ... > requirements.lock

(``-I`` keeps this folder off ``sys.path``, so module names here cannot shadow the standard library.)

The lock's header records the sha256 of pyproject.toml's dependency lists (``project.dependencies``
and every ``project.optional-dependencies`` list, whitespace removed and sorted), so reformatting
pyproject.toml does not stale the lock but changing a requirement does. File dates are not used:
``git clone`` sets every file's mtime to the checkout time.

``write`` turns ``uv pip compile --generate-hashes --annotation-style split`` output into the lock:
it drops torch (installed first and separately, CPU build) and torch's CUDA-only dependencies
(``nvidia-*``, ``cuda-*``, ``triton`` and whatever only they pull in), keeps torch's CPU
dependencies (sympy, networkx, ...), and prepends the header.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
import time
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = REPO_ROOT / "pyproject.toml"
LOCK = REPO_ROOT / "requirements.lock"
REGENERATE = "make lock"
HASH_KEY = "pyproject-deps-sha256"
SEPARATE = ("torch",)                                   # installed before the lock, by make
CUDA_ONLY = re.compile(r"^(nvidia-.*|cuda-.*|triton)$")  # what PyPI's torch adds for CUDA
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def canonical_name(name: str) -> str:
    """PEP 503 name: ``Jinja2`` -> ``jinja2``, ``typing_extensions`` -> ``typing-extensions``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def dependency_lists(pyproject: Path = PYPROJECT) -> dict:
    """``{"dependencies": [...], "optional-dependencies": {extra: [...]}}``, normalised and sorted."""
    project = tomllib.loads(Path(pyproject).read_text())["project"]
    norm = lambda reqs: sorted(re.sub(r"\s+", "", r) for r in reqs)  # noqa: E731
    return {"dependencies": norm(project.get("dependencies", [])),
            "optional-dependencies": {k: norm(v) for k, v in project.get("optional-dependencies", {}).items()}}


def deps_sha256(pyproject: Path = PYPROJECT) -> str:
    """sha256 of pyproject.toml's dependency lists (what the lock header records)."""
    payload = json.dumps(dependency_lists(pyproject), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def parse_recorded_sha256(text: str) -> str | None:
    """The ``pyproject-deps-sha256`` in a lock's header comments (None when absent)."""
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        match = re.match(rf"#\s*{HASH_KEY}:\s*([0-9a-f]{{64}})", line)
        if match:
            return match.group(1)
    return None


def recorded_sha256(lock: Path = LOCK) -> str | None:
    """The ``pyproject-deps-sha256`` recorded in the lock file's header (None when absent)."""
    return parse_recorded_sha256(Path(lock).read_text())


def parse_pins(text: str) -> dict[str, str]:
    """``{canonical name: version}`` of every ``name==version`` line of a requirements text."""
    return {canonical_name(m.group(1)): m.group(2) for m in map(_PIN.match, text.splitlines()) if m}


def pins(lock: Path = LOCK) -> dict[str, str]:
    """``{canonical name: version}`` pinned in a requirements file (the lock by default)."""
    return parse_pins(Path(lock).read_text())


def installed_versions(names) -> dict[str, str | None]:
    """Installed version of each distribution in ``names`` (None when it is not installed).

    >>> installed_versions(["no-such-distribution-here"])
    {'no-such-distribution-here': None}
    """
    from importlib import metadata

    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def check(pyproject: Path = PYPROJECT, lock: Path = LOCK) -> str | None:
    """None when the lock was made from this pyproject.toml, else the message saying what to run."""
    if not Path(lock).exists():
        return f"{Path(lock).name} is missing; run `{REGENERATE}` to create it from {Path(pyproject).name}"
    recorded, current = recorded_sha256(lock), deps_sha256(pyproject)
    if recorded == current:
        return None
    return (f"{Path(lock).name} is older than {Path(pyproject).name}: its dependency lists changed "
            f"(lock records {HASH_KEY} {recorded}, pyproject.toml now has {current}). "
            f"Run `{REGENERATE}` to regenerate the lock, then commit both files.")


def _blocks(compiled: str) -> tuple[list[str], list[tuple[str, list[str], set[str]]]]:
    """Split uv output into leading lines and ``(name, lines, parents)`` per pinned package."""
    head: list[str] = []
    blocks: list[tuple[str, list[str], set[str]]] = []
    for line in compiled.splitlines():
        match = _PIN.match(line)
        if match:
            blocks.append((canonical_name(match.group(1)), [line], set()))
        elif blocks:
            blocks[-1][1].append(line)
            via = re.match(r"^\s*#\s+(?:via(?:\s+|$))?(\S*)", line)   # "# via torch", "#   -r x.in"
            if via and via.group(1):
                blocks[-1][2].add(canonical_name(via.group(1)) if via.group(1)[0].isalnum() else via.group(1))
        else:
            head.append(line)
    return head, blocks


def dropped_packages(compiled: str) -> set[str]:
    """torch, its CUDA-only packages, and every package whose only parents are CUDA-only."""
    _, blocks = _blocks(compiled)
    cuda = {name for name, _, _ in blocks if CUDA_ONLY.match(name)}
    changed = True
    while changed:
        changed = False
        for name, _, parents in blocks:
            if name not in cuda and parents and parents <= cuda:
                cuda.add(name)
                changed = True
    return cuda | set(SEPARATE)


def header(pyproject: Path = PYPROJECT, command: str = "", date: str | None = None, tool: str = "") -> str:
    lines = [
        "# requirements.lock: exact versions and sha256 hashes of every distribution paper-utils needs",
        "# (runtime + the `dev` extra) on CPython 3.11, x86_64 Linux. Left out on purpose: torch and its",
        "# CUDA-only dependencies (nvidia-*, cuda-*, triton); `make env` installs torch==2.13.0 (CPU build)",
        "# first, then this file with `pip install --require-hashes --no-deps -r requirements.lock`.",
        f"# Regenerate (after editing pyproject.toml's dependencies): {REGENERATE}",
        "#   it keeps every pin it can; `make lock LOCK_UPGRADE='--upgrade-package NAME'` moves NAME.",
        f"# compile command{f' ({tool})' if tool else ''}: {command}" if command else None,
        f"# {HASH_KEY}: {deps_sha256(pyproject)}",
        f"# generated: {date or time.strftime('%Y-%m-%d')}",
    ]
    return "\n".join(line for line in lines if line is not None) + "\n"


def write(compiled: str, pyproject: Path = PYPROJECT, command: str = "", date: str | None = None,
          tool: str = "") -> str:
    """The lock's text from uv's output: header, then every kept package block."""
    head, blocks = _blocks(compiled)
    drop = dropped_packages(compiled)
    body = "\n".join("\n".join(lines) for name, lines, _ in blocks if name not in drop)
    return header(pyproject, command, date, tool) + "\n" + body.rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["check"] and len(args) in (1, 3):
        problem = check(*map(Path, args[1:3])) if len(args) == 3 else check()
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 1
        return 0
    if args[:1] == ["write"] and len(args) >= 3:
        sys.stdout.write(write(Path(args[1]).read_text(), tool=args[2], command=" ".join(args[3:])))
        return 0
    print("usage: python3 -I paper_utils/lockfile.py check [PYPROJECT LOCK]\n"
          "       python3 -I paper_utils/lockfile.py write UV_OUTPUT TOOL_VERSION [COMPILE COMMAND...]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
