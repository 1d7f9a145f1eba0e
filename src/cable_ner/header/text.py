"""Text helpers shared by the header's field parsers."""

from __future__ import annotations

import re

_WS_RE = re.compile(r"\s+")
_DETOK_RE = re.compile(r"\s+([,.;:!?)\]])|([(\[])\s+|\s+('s|’s|n't)\b")


def norm(s: str) -> str:
    """Whitespace collapsed to single spaces, ends stripped."""
    return _WS_RE.sub(" ", s).strip()


def detok(s: str) -> str:
    """Collapse whitespace and undo the tagger's spacing around punctuation."""
    s = norm(s)
    if "]" in s and "[" not in s:  # stray closers left by the tagger's markup
        s = norm(s.replace("]", ""))
    return _DETOK_RE.sub(lambda m: m.group(1) or m.group(2) or m.group(3), s)


def line_end(s: str, pos: int, limit: int) -> int:
    """Where the line holding `pos` ends, at most `limit`."""
    i = s.find("\n", pos, limit)
    return limit if i < 0 else i
