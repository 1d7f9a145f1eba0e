"""Numbered paragraphs (`¶1 .`, or `1 .` at a line start) and their portion marks (`( C )`)."""

from __future__ import annotations

import re

from .model import Paragraph

ANCHOR_PARA_RE = re.compile(r"¶\s?(\d{1,3})(?!\d)")
# unanchored paragraph number: at a line start, at the end of a (tagged) line, or before a
# portion mark
_PORTION_CORE = (
    r"(?:SBU|TS|LOU|U|C|S)(?:\s?(?:/{1,2}|-)\s?[A-Z][A-Za-z0-9 ,/\-]{0,40}?"
    r"|\s?-\s?ENTIRE\s?TEXT)?"
)
_PORTION_RE = re.compile(r"\s{0,3}[.)]?\s{0,3}\(\s?(" + _PORTION_CORE + r")\s?\)", re.I)
NUM_PARA_RE = re.compile(
    r"(?:^|(?<=\n))[ \t]{0,8}(\d{1,3})\s?[.)](?=[ \t]{0,4}(?:\n|\(|[A-Z]))"
    r"|(?<=\s)(\d{1,3})[ ]?[.)][ \t]{0,3}(?=\n|\(\s?(?:SBU|TS|U|C|S)\s?[)/])"
)


def first_anchor(text: str, limit: int) -> int | None:
    """Where the first `¶N` mark in text[:limit] starts."""
    m = ANCHOR_PARA_RE.search(text, 0, limit)
    return m.start() if m else None


def numbered_para1(zone: str, after: int) -> int | None:
    """Where an unanchored paragraph 1 (`1 .`) starts at or after `after`."""
    for m in NUM_PARA_RE.finditer(zone, after):
        if (m.group(1) or m.group(2)) == "1":
            return m.start(1) if m.group(1) else m.start(2)
    return None


def paragraphs(text: str, para1: int | None) -> list[Paragraph]:
    """The paragraphs: every `¶N` mark if there is one, else `1 .`, `2 .`, ... in sequence from
    `para1`; each runs to the next (the last to the end of the text)."""
    marks: list[tuple[int, int, int]] = []  # (start, number, end of the number)
    if "¶" in text:
        for m in ANCHOR_PARA_RE.finditer(text):
            marks.append((m.start(), int(m.group(1)), m.end()))
    if not marks and para1 is not None:
        expected = 1
        for m in NUM_PARA_RE.finditer(text, para1):
            g = 1 if m.group(1) else 2
            if int(m.group(g)) != expected:
                continue
            marks.append((m.start(g), expected, m.end()))
            expected += 1
    out: list[Paragraph] = []
    for i, (s, n, e) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else len(text)
        out.append(Paragraph(number=n, portion=_portion(text, e), start=s, end=end))
    return out


def _portion(text: str, pos: int) -> str | None:
    m = _PORTION_RE.match(text, pos, min(len(text), pos + 70))
    if not m:
        return None
    p = re.sub(r"\s+", "", m.group(1)).upper()
    return p or None
