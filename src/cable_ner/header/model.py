"""What the header parser returns: the header's fields, the paragraphs, and a paragraph lookup."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, asdict, dataclass, fields
from typing import NamedTuple


@dataclass(frozen=True)
class CableHeader:
    classification: str | None
    section: tuple[int, int] | None
    post: str | None
    serial: str | None
    captions: tuple[str, ...]
    action: tuple[str, ...]
    eo: str | None
    decl: str | None
    tags: tuple[str, ...]
    subject: str | None
    refs: tuple[str, ...]
    classified_by: str | None
    classified_by_name: str | None
    classified_by_title: str | None
    reasons: tuple[str, ...]
    summary: tuple[int, int] | None
    signer: str | None
    header_end: int
    reference_id: str | None = None
    created: str | None = None
    released: str | None = None
    origin: str | None = None
    page_classification: str | None = None  # the page table's link text, as WikiLeaks names it

    def to_dict(self) -> dict:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> CableHeader:
        """Inverse of to_dict; missing keys get empty values (None, () or 0)."""
        kw = {}
        for f in fields(cls):
            v = d.get(f.name)
            if isinstance(v, list):
                v = tuple(v)
            if v is None and f.default is MISSING:
                v = 0 if f.name == "header_end" else () if "tuple[str" in str(f.type) else None
            kw[f.name] = v
        return cls(**kw)

    @property
    def wikileaks_classification(self) -> str | None:
        """The classification as WikiLeaks' metadata table names it."""
        c = self.classification
        if c is None:
            return None
        if c in ("UNCLASSIFIED", "SENSITIVE BUT UNCLASSIFIED"):
            if (c == "SENSITIVE BUT UNCLASSIFIED" or "SENSITIVE" in self.captions
                    or "NOFORN" in self.captions):
                return "UNCLASSIFIED//FOR OFFICIAL USE ONLY"
            return "UNCLASSIFIED"
        if c in ("CONFIDENTIAL", "SECRET") and "NOFORN" in self.captions:
            return c + "//NOFORN"
        return c


@dataclass(frozen=True)
class Paragraph:
    number: int
    portion: str | None
    start: int
    end: int

    def to_dict(self) -> dict:
        return asdict(self)


    @classmethod
    def from_dict(cls, d: Mapping) -> Paragraph:
        """Inverse of to_dict (a missing portion is None)."""
        return cls(number=d["number"], portion=d.get("portion"), start=d["start"], end=d["end"])


class ParsedHeader(NamedTuple):
    """`parse_header`'s result: the header and the numbered paragraphs it found on the way."""

    header: CableHeader
    paragraphs: list[Paragraph]


def paragraph_lookup(paragraphs: Iterable[Paragraph]) -> Callable[[int], Paragraph | None]:
    """A function giving the paragraph a character offset falls in, or None (built once, used
    for every entity of a cable)."""
    paras = sorted(paragraphs, key=lambda p: p.start)
    starts = [p.start for p in paras]

    def find(char: int) -> Paragraph | None:
        i = bisect_right(starts, char) - 1
        if i >= 0 and char < paras[i].end:
            return paras[i]
        return None

    return find
