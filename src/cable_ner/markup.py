"""The one parser for cable markup, and its inverse.

A cable arrives with three kinds of markup around its text: HTML kept from the cable page
(`<code><pre>`, TAGS anchors, paragraph anchors `<a id='par1' ...>¶</a>`), HTML character references
(`&#x000A;` in WikiLeaks pages) and, in the tagged corpus, the old tagger's entity brackets
`[PER Richard Schmierer  ]` (label, one space, tokens, two spaces, `]`). `parse_markup` removes all
three in one left-to-right scan and returns the clean text, the entities as character offsets into
it, and a map from clean offsets back to the input, so that every entity can be located in the file
the user gave. Only `[PER|LOC|ORG|MISC ` opens an entity; any other bracket is text.

`write_tagged` is the inverse for spaCy Docs: it writes a Doc in the tagged format (one sentence a
line, tokens separated by single spaces), and parsing what it wrote gives back the same words,
sentence starts and entity labels.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from dataclasses import dataclass, field

ENTITY_LABELS = ("PER", "LOC", "ORG", "MISC")
ENTITY_CLOSE = "  ]"

_TOKEN = re.compile(
    r"(?P<open>\[(?P<label>PER|LOC|ORG|MISC) )"
    r"|(?P<close>  \])"
    r"|(?P<tag><[A-Za-z/!?][^<>\n]{0,2000}>)"
    r"|(?P<ref>&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});)"
)
# A cheap test for "is there anything to strip at all": clean text passes through unchanged.
_ANY_MARKUP = re.compile(r"\[(?:PER|LOC|ORG|MISC) |  \]|<[A-Za-z/!?]|&(?:#|[A-Za-z]+;)")


class MarkupError(ValueError):
    """Malformed entity markup; `line` and `column` (1-based) locate it in the input."""

    def __init__(self, message: str, line: int, column: int):
        super().__init__(f"line {line}, column {column}: {message}")
        self.reason = message
        self.line = line
        self.column = column


@dataclass
class Markup:
    """Clean text, entities in it, and the way back to the input's offsets."""

    text: str
    entities: list[tuple[int, int, str]]
    # Segments (clean_start, clean_end, src_start, src_end) of copied or decoded input, in order.
    segments: list[tuple[int, int, int, int]] = field(repr=False, default_factory=list)

    @property
    def lines(self) -> list[tuple[int, int]]:
        """Spans of the non-blank lines of the clean text (in the tagged form: the sentences)."""
        spans = []
        start = 0
        text = self.text
        for piece in text.split("\n"):
            end = start + len(piece)
            stripped = piece.strip()
            if stripped:
                lead = len(piece) - len(piece.lstrip())
                spans.append((start + lead, start + lead + len(stripped)))
            start = end + 1
        return spans

    def to_source(self, start: int, end: int) -> tuple[int, int]:
        """Map a clean-text span to the span of the input it came from."""
        return self._map(start, at_end=False), self._map(end, at_end=True)

    def _map(self, offset: int, at_end: bool) -> int:
        if not self.segments:
            return offset
        probe = offset - 1 if at_end and offset > 0 else offset
        starts = self._starts()
        i = max(bisect_right(starts, probe) - 1, 0)
        c0, c1, s0, s1 = self.segments[i]
        if c1 - c0 == s1 - s0:  # copied verbatim: linear
            return s0 + min(max(offset - c0, 0), c1 - c0)
        return s1 if at_end else s0  # a decoded reference maps to its whole source

    def _starts(self) -> list[int]:
        if getattr(self, "_starts_cache", None) is None:
            self._starts_cache = [seg[0] for seg in self.segments]
        return self._starts_cache


def has_markup(text: str) -> bool:
    return _ANY_MARKUP.search(text) is not None


def parse_markup(source: str) -> Markup:
    """Strip tags, character references and entity brackets from `source`.

    Raises MarkupError for nested or unclosed entity brackets (an entity never spans lines in the
    tagged format) and for empty entities. A stray `  ]` outside an entity is text.
    """
    if not has_markup(source):
        return Markup(source, [], [(0, len(source), 0, len(source))])
    out: list[str] = []
    segments: list[tuple[int, int, int, int]] = []
    entities: list[tuple[int, int, str]] = []
    pos = 0  # next unconsumed input offset
    clean = 0  # length of clean text so far
    open_label: str | None = None
    open_at = 0  # clean offset where the open entity starts
    open_src = 0

    def copy(a: int, b: int) -> None:
        nonlocal clean
        if b <= a:
            return
        piece = source[a:b]
        if open_label is not None and "\n" in piece:
            raise _error(source, open_src, f"[{open_label} entity is not closed on its line")
        out.append(piece)
        segments.append((clean, clean + len(piece), a, b))
        clean += len(piece)

    for m in _TOKEN.finditer(source):
        kind = m.lastgroup
        if kind == "label":  # lastgroup is the innermost named group of "open"
            kind = "open"
        copy(pos, m.start())
        pos = m.end()
        if kind == "open":
            if open_label is not None:
                raise _error(source, m.start(), f"nested entity bracket inside [{open_label}")
            open_label, open_at, open_src = m.group("label"), clean, m.start()
        elif kind == "close" or (kind == "tag" and ENTITY_CLOSE in m.group()):
            # The tagger split `<a id='par16' ...>` anchors into tokens and sometimes closed an
            # entity inside one (`[ORG Left <a  ] id='par14' ...>`): the entity ends before it.
            if open_label is None:
                if kind == "close":
                    copy(m.start(), m.end())  # a stray closer is text
                continue
            start, end = _trim(out, open_at, clean)
            if start >= end:
                raise _error(source, open_src, f"empty [{open_label} entity")
            entities.append((start, end, open_label))
            open_label = None
        elif kind == "tag":
            continue
        else:  # character reference
            decoded = html.unescape(m.group())
            if open_label is not None and "\n" in decoded:
                raise _error(source, open_src, f"[{open_label} entity is not closed on its line")
            out.append(decoded)
            segments.append((clean, clean + len(decoded), m.start(), m.end()))
            clean += len(decoded)
    copy(pos, len(source))
    if open_label is not None:
        raise _error(source, open_src, f"[{open_label} entity is not closed")
    return Markup("".join(out), entities, segments)


def _trim(out: list[str], start: int, end: int) -> tuple[int, int]:
    """Shrink [start, end) of the clean text built so far to exclude surrounding whitespace."""
    text = "".join(out[-8:]) if out else ""
    base = end - len(text)
    if start < base:  # entity longer than the tail we joined: join everything (rare)
        text, base = "".join(out), 0
    span = text[start - base : end - base]
    lead = len(span) - len(span.lstrip())
    trail = len(span) - len(span.rstrip())
    return start + lead, end - trail


def _error(source: str, offset: int, message: str) -> MarkupError:
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return MarkupError(message, line, column)


def write_tagged(doc, wrap: bool = True) -> str:
    """Write a spaCy Doc in the tagged format: one sentence a line, `[LABEL tokens  ]` entities.

    Whitespace tokens are dropped (the format separates tokens by single spaces). The format has no
    escapes: a token holding whitespace or markup (`<a`, `&amp;`, `[PER`) raises ValueError.
    Sentences come from `doc.sents` when the Doc has them, else one line holds the whole Doc.
    """
    ent_start = {ent.start: ent.label_ for ent in doc.ents}
    ent_end = {ent.end - 1 for ent in doc.ents}
    has_sents = doc.has_annotation("SENT_START")
    lines: list[str] = []
    words: list[str] = []
    open_ent = False
    for token in doc:
        if has_sents and token.is_sent_start and words and not open_ent:
            lines.append(" ".join(words) + " ")
            words = []
        if token.i in ent_start:
            words.append(f"[{ent_start[token.i]}")
            open_ent = True
        if not token.is_space:
            _check_writable(token.text)
            words.append(token.text)
        if token.i in ent_end:
            words[-1] += ENTITY_CLOSE
            open_ent = False
    if words:
        lines.append(" ".join(words) + " ")
    body = "\n".join(lines)
    return f"<code><pre>{body}</pre></code>" if wrap else body


_OPENERS = frozenset(f"[{label}" for label in ENTITY_LABELS)


def _check_writable(word: str) -> None:
    if word in _OPENERS or has_markup(word) or any(c.isspace() for c in word):
        raise ValueError(f"token {word!r} cannot be written in the tagged format")
