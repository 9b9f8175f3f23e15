"""Parse Mozilla localization files: Fluent ``.ftl`` and Java-style ``.properties`` -> ``[(key, text)]``.

Example::

    >>> parse_ftl('''# a comment
    ... save-button = Saqlash
    ...     .accesskey = S
    ... about = Bu { -brand-short-name }
    ...     haqida
    ... -brand-short-name = Firefox
    ... ''')
    [('save-button', 'Saqlash'), ('save-button.accesskey', 'S'), ('about', 'Bu { -brand-short-name }\\nhaqida')]
    >>> parse_properties('# comment\\nok = Ha\\ncancel=Bekor qilish\\n')
    [('ok', 'Ha'), ('cancel', 'Bekor qilish')]

Fluent rules kept (https://projectfluent.org/fluent/guide/): a message ``key = value`` starts at
column 0; indented lines continue its value (their common indentation removed, lines joined with
``\\n`` as Fluent does; blank lines inside kept, trailing ones dropped); an indented ``.attr = value``
is an attribute, keyed ``key.attr``; placeables ``{ ... }`` stay verbatim, and lines inside an open
placeable (select expressions) belong to it. Comments (``#``, ``##``, ``###``) are skipped. **Terms**
(``-brand-name = ...``) **are dropped**: they are mostly brand names that stay untranslated, and
messages keep their references ``{ -brand-name }`` verbatim. Messages and attributes come in file
order; entries with an empty value (a message that has only attributes) are skipped.

``.properties``: ``key = value`` / ``key=value`` / ``key: value``, comments ``#`` and ``!``, a
trailing backslash continues the line (leading blanks of the next line dropped), escapes ``\\n``,
``\\t``, ``\\uXXXX`` and ``\\<char>`` decoded; printf-style placeholders (``%S``, ``%1$S``) stay verbatim.
"""
from __future__ import annotations

import re

_FTL_ENTRY = re.compile(r"^(-?[A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]?(.*)$")
_FTL_ATTRIBUTE = re.compile(r"^[ \t]+\.([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]?(.*)$")
_PROPERTIES_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f"}


def _brace_depth(text: str, depth: int) -> int:
    """Open placeables after ``text``; string literals ``"..."`` inside placeables do not count."""
    in_string = False
    for i, ch in enumerate(text):
        if in_string:
            if ch == '"' and text[i - 1] != "\\":
                in_string = False
        elif ch == '"' and depth > 0:
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
    return depth


def _pattern(first: str, continuation: list[str]) -> str:
    """A Fluent pattern's text: the inline part and its indented lines, common indent removed."""
    while continuation and not continuation[-1].strip():
        continuation.pop()
    indents = [len(line) - len(line.lstrip(" ")) for line in continuation if line.strip()]
    cut = min(indents, default=0)
    lines = ([first.strip()] if first.strip() else []) + [line[cut:].rstrip() for line in continuation]
    return "\n".join(lines).strip("\n")


def parse_ftl(text: str) -> list[tuple[str, str]]:
    """Messages and attributes of a Fluent file as ``(key, text)``, terms and comments dropped."""
    entries: list[tuple[str, str]] = []
    key: str | None = None           # the message (or term) being read
    current: str | None = None       # the key of the pattern being read: message or message.attr
    first, rest, depth = "", [], 0

    def close() -> None:
        nonlocal current
        if current is not None and not current.startswith("-"):
            value = _pattern(first, rest)
            if value:
                entries.append((current, value))
        current = None

    for line in text.splitlines():
        if depth == 0 and line and not line[0].isspace():
            close()
            key = None
            match = _FTL_ENTRY.match(line)
            if match:                  # comments and junk at column 0 end the entry and are skipped
                key, current = match.group(1), match.group(1)
                first, rest = match.group(2), []
                depth = _brace_depth(first, 0)
            continue
        attribute = _FTL_ATTRIBUTE.match(line) if depth == 0 else None
        if attribute and key is not None:
            close()
            current = f"{key}.{attribute.group(1)}"
            first, rest = attribute.group(2), []
            depth = _brace_depth(first, 0)
        elif current is not None:
            rest.append(line)
            depth = _brace_depth(line, depth)
    close()
    return entries


def _unescape_properties(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", value[i + 2:i + 6]):
                out.append(chr(int(value[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append(_PROPERTIES_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _logical_lines(text: str) -> list[str]:
    """Physical lines joined where a line ends in an odd number of backslashes."""
    lines, pending = [], None
    for raw in text.splitlines():
        line = raw if pending is None else pending + raw.lstrip()
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:
            pending = line[:-1]
            continue
        pending = None
        lines.append(line)
    if pending is not None:
        lines.append(pending)
    return lines


def parse_properties(text: str) -> list[tuple[str, str]]:
    """Entries of a ``.properties`` file as ``(key, text)`` in file order; comments and empty values skipped."""
    entries = []
    for line in _logical_lines(text):
        stripped = line.lstrip()
        if not stripped or stripped[0] in "#!":
            continue
        match = re.match(r"((?:[^\s=:\\]|\\.)+)\s*[=:]?\s*(.*)$", stripped)
        if not match:
            continue
        key, value = _unescape_properties(match.group(1)), _unescape_properties(match.group(2)).strip()
        if value:
            entries.append((key, value))
    return entries
