"""The header zone: where a cable's header fields are looked for, the field labels found there
(`E.O.`, `DECL`, `TAGS`, `SUBJECT`, `REF`, `CLASSIFIED BY`, `REASON`), the first paragraph, and
THE definition of where the header ends (`header_end`)."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property

from .paragraphs import first_anchor, numbered_para1
from .text import norm

SCAN = 10000  # characters of the cable looked at for header fields

# things that are noise inside a header: masked with blanks (offsets are kept)
_MASK_RE = re.compile(
    r"(?:(?:UNCLASSIFIED|CONFIDENTIAL|SECRET|LIMITED OFFICIAL USE)\s{1,4})?"
    r"PAGE\s{1,3}\d{2,3}\s{1,3}[A-Z][A-Z ]{0,25}?\s{1,3}\d{3,6}(?:\s{1,3}\d{2}\s{1,3}OF\s{1,3}"
    r"\d{2})?\s{1,3}\d{6}Z"
    r"|[A-Z][A-Z ]{0,25}?[ ]\d{8}\s{1,3}\d{3}(?:\.\d)?\s{1,3}OF\s{1,3}\d{3}"
    r"|^\s{0,5}(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\s?,\s?\d{1,2}\s\w{3,9}\s\d{4}\s?,"
    r"\s?\d{1,2}:\d{2}"
    r"|Cable dated:\s?\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d)?"
    r"|C\sO\sR\sR\sE\sC\sT\sE\sD\s{1,3}C\sO\sP\sY",
    re.M,
)

# field labels
_LABEL_RE = re.compile(
    # the leading boundary + first-letter lookahead lets the engine skip most positions fast
    r"(?<![A-Za-z])(?=[EDTSRCF])(?:"
    r"(?P<eo>(?<![A-Za-z])E\s?\.?\s?[O0]\s?\.?\s?:?\s?(?P<eonum>1[1-3]\d{3})\b\s?:?)"
    r"|(?P<decl>(?<![A-Za-z])DECL(?![A-Za-z])\s?:?)"
    r"|(?P<tags>(?<![A-Za-z])TAG[SE](?![A-Za-z])\s?:?)"
    r"|(?P<subject>(?<![A-Za-z])SUBJ(?:ECT)?\s?:)"
    r"|(?P<ref>(?<![A-Za-z])(?:REFS?|REFTELS?|REFERENCES?)\s?:)"
    r"|(?P<cby>(?<![A-Za-z])CLASSIFIED\s{1,3}BY(?![A-Za-z])\s?:?)"
    r"|(?P<reason>(?<![A-Za-z])(?:FOR\s{1,3})?REASONS?(?![A-Za-z])\s?:?(?=\s{0,4}1\s?\.\s?\d)))"
    # glued text ("FOR REAPE.O. 12958")
    r"|(?P<eo2>E\.[O0]\.\s?(?P<eonum2>1[1-3]\d{3})\b\s?:?)",
    re.I,
)


@dataclass
class Label:
    kind: str  # eo, decl, tags, subject, ref, cby, reason
    start: int
    end: int
    value: str | None = None  # the EO number


@dataclass
class Zone:
    """The masked head of a cable and its labels; field parsers read their values from here."""

    zone: str  # the head of the text, page lines and date stamps blanked out (offsets kept)
    labels_all: list[Label]  # every label in the zone
    labels: list[Label]  # the header's chain of labels
    first: dict[str, Label]  # the first label of each kind in the chain
    first_field: int | None  # where the first E.O., TAGS or SUBJECT label starts
    para1: int | None  # where paragraph 1 starts

    @property
    def end(self) -> int:
        """Where header values stop at the latest: paragraph 1, or the end of the zone."""
        return len(self.zone) if self.para1 is None else self.para1

    @cached_property
    def _starts(self) -> list[int]:
        return sorted(lb.start for lb in self.labels)

    def next_label(self, pos: int) -> int:
        """Where the first chain label after `pos` starts (the zone's end if none)."""
        i = bisect_right(self._starts, pos)
        return self._starts[i] if i < len(self._starts) else len(self.zone)

    def value_end(self, label: Label, stop_re: re.Pattern, cap: int) -> int:
        """Where the value after `label` ends: at `stop_re`, the next label, paragraph 1 or
        `cap` characters, whichever comes first."""
        limit = min(self.next_label(label.start), label.end + cap)
        if self.para1 is not None and label.start < self.para1:
            limit = min(limit, self.para1)
        m = stop_re.search(self.zone, label.end, limit)
        return m.start() if m else limit


def scan_zone(text: str) -> Zone:
    anchor = first_anchor(text, SCAN)
    # classified-by may sit inside paragraph 1: look a little past the first anchor
    head = text[: SCAN if anchor is None else min(SCAN, anchor + 1000)]
    zone = _mask(head)
    labels_all = _find_labels(zone)
    first_field = next(
        (lb.start for lb in labels_all if lb.kind in ("eo", "tags", "subject")), None
    )
    labels = _field_chain(labels_all, anchor)
    first: dict[str, Label] = {}
    for lb in labels:
        first.setdefault(lb.kind, lb)
    para1 = anchor
    if anchor is None and labels:  # unanchored paragraph 1: after the last label
        para1 = numbered_para1(zone, max(lb.end for lb in labels))
    return Zone(zone, labels_all, labels, first, first_field, para1)


def _field_chain(labels_all: list[Label], anchor: int | None) -> list[Label]:
    """The labels before the first anchored paragraph (classified-by and reason may sit inside
    paragraph 1), contiguous (gaps below 1500 characters)."""
    labels: list[Label] = []
    last = 0
    for lb in labels_all:
        if anchor is not None and lb.start >= anchor:
            if lb.kind in ("cby", "reason") and lb.start < anchor + 800:
                if not any(x.kind == lb.kind for x in labels):
                    labels.append(lb)
            continue
        if lb.start - last > 1500 and labels:
            break
        labels.append(lb)
        last = lb.start
    return labels


def header_end(fields_end: int, para1: int | None, text: str) -> int:
    """THE definition of the header extent.

    From 0 to the first paragraph marker when the header fields run up to it (only headings,
    dashes or at most a short line lie between); otherwise (no paragraph, or body text before
    the first numbered paragraph) the end of the last header field.
    """
    if para1 is None:
        return max(0, min(fields_end, len(text)))
    if fields_end >= para1:
        return para1
    gap = text[fields_end:para1]
    if len(norm(gap)) <= 120:
        return para1
    return fields_end


def _mask(head: str) -> str:
    """Blank out page lines, date prefixes and corrected-copy banners, keeping offsets."""
    return _MASK_RE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), head)


def _find_labels(zone: str) -> list[Label]:
    out: list[Label] = []
    for m in _LABEL_RE.finditer(zone):
        kind = "eo" if m.lastgroup == "eo2" else (m.lastgroup or "")
        value = (m.group("eonum") or m.group("eonum2")) if kind == "eo" else None
        out.append(Label(kind, m.start(), m.end(), value))
    return out
