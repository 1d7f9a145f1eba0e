"""What a Doc carries about its cable, and the `Cable` view of it.

    doc._.cable.reference_id, doc._.cable.tags   # metadata (a `Cable`, built on access)
    ent._.paragraph, ent._.portion, ent._.source_span

This module owns the `Doc.user_data` keys; everything else reads and writes them through the names
here. All values are plain JSON-able data, so the metadata survives `nlp.pipe(n_process=...)`
(docs come back as bytes), `Doc.to_bytes` and `DocBin(store_user_data=True)`; rich objects
(`Cable`) are built by the extension getters.

- `USER_DATA_KEY` ("cable"): the cable's metadata, `reader.cable_user_data`'s shape: header,
  paragraphs, source, form, text_hash, encoding, encoding_fallback. Set by the converter and by
  the cable reader; `cable_metadata` adds quantize on a quantized pipeline.
- `SOURCE_KEY` ("cable_source"): the offset of the parsed body in the input, the clean→input
  segment map as a flat int list, and the reason the reader did not read the input as a cable.
  Set by the cable reader.
- `COUNTS_KEY` ("cable_counts"): entities per label, set by `cable_metadata`.

The span groups made from the metadata (`paragraph_spans`, `header_span`) are built here too, for
the converter's reference docs and the `cable_metadata` component alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from spacy.tokens import Doc, Span

from .header import CableHeader, Paragraph, paragraph_lookup
from .markup import Markup
from .reader import CableRecord, cable_user_data, plain_record

__all__ = [
    "COUNTS_KEY",
    "HEADER_GROUP",
    "HEADER_LABEL",
    "PARAGRAPHS_GROUP",
    "SOURCE_KEY",
    "USER_DATA_KEY",
    "Cable",
    "cable_data",
    "get_cable",
    "header_span",
    "paragraph_spans",
    "skip_reason",
    "source_mapper",
    "source_span",
    "store_record",
    "store_source",
]

USER_DATA_KEY = "cable"
SOURCE_KEY = "cable_source"
COUNTS_KEY = "cable_counts"
PARAGRAPHS_GROUP = "paragraphs"  # span group names
HEADER_GROUP = "header"
HEADER_LABEL = "HEADER"


# --------------------------------------------------------------------------- the plain data


def store_record(doc: Doc, record: CableRecord) -> None:
    """Keep `record`'s metadata on `doc` (under `USER_DATA_KEY`)."""
    doc.user_data[USER_DATA_KEY] = cable_user_data(record)


def store_source(doc: Doc, record: CableRecord, skipped: str | None) -> None:
    """Keep how `doc`'s text maps back to the input string, and why the reader did not read the
    input as a cable (None if it did), under `SOURCE_KEY`."""
    segments = record.markup.segments
    identity = segments == [(0, len(record.text), 0, len(record.text))]
    doc.user_data[SOURCE_KEY] = {
        "offset": record.source_offset,
        "segments": [] if identity else [x for seg in segments for x in seg],
        "skipped": skipped,
    }


def cable_data(doc: Doc) -> dict:
    """The cable metadata stored on `doc`; a Doc made without the cable reader or the converter
    has none, and its text is then read as plain text."""
    data = doc.user_data.get(USER_DATA_KEY)
    if data is None:
        data = cable_user_data(plain_record(doc.text))
    return data


def skip_reason(doc: Doc) -> str | None:
    """Why the cable reader read `doc`'s input as plain text (None if it read it as a cable)."""
    return (doc.user_data.get(SOURCE_KEY) or {}).get("skipped")


def source_span(doc: Doc, start_char: int, end_char: int) -> tuple[int, int]:
    """Character offsets in the input string of the clean-text span [start_char, end_char)."""
    return source_mapper(doc)(start_char, end_char)


def source_mapper(doc: Doc) -> Callable[[int, int], tuple[int, int]]:
    """A function mapping clean-text spans of `doc` to input offsets (built once per Doc)."""
    info = doc.user_data.get(SOURCE_KEY) or {}
    flat = info.get("segments") or []
    offset = info.get("offset", 0)
    if not flat:
        return lambda a, b: (a + offset, b + offset)
    markup = Markup("", [], [tuple(flat[i : i + 4]) for i in range(0, len(flat), 4)])

    def to_source(start_char: int, end_char: int) -> tuple[int, int]:
        a, b = markup.to_source(start_char, end_char)
        return a + offset, b + offset

    return to_source


# --------------------------------------------------------------------------- span groups


def paragraph_spans(doc: Doc, paragraphs: Iterable[Paragraph]) -> list[Span]:
    """A span per paragraph, labelled with its number, widened to whole tokens."""
    spans = []
    for p in paragraphs:
        span = doc.char_span(p.start, p.end, label=str(p.number), alignment_mode="expand")
        if span is not None:
            spans.append(span)
    return spans


def header_span(doc: Doc, header_end: int, label: str = HEADER_LABEL) -> Span | None:
    """The tokens the header's characters [0, header_end) touch (None without a header)."""
    if header_end <= 0 or not len(doc):
        return None
    span = doc.char_span(0, min(header_end, len(doc.text)), alignment_mode="expand")
    if span is None or span.end == 0:
        return None
    return Span(doc, 0, span.end, label=label)


# --------------------------------------------------------------------------- the rich view


@dataclass(frozen=True)
class Cable:
    """A cable's metadata, built from the Doc's plain user_data on each `doc._.cable` access.

    Header fields (reference_id, classification, post, serial, tags, subject, classified_by,
    reasons, captions, refs, eo, decl, created, released, origin, ...) read through to `header`.
    `encoding` is how the input file was decoded (None for a string given to the pipeline);
    `encoding_fallback` is true when the file was not valid UTF-8 and was read as cp1252;
    `quantize` is the quantization of the pipeline that made the entities (`cable_ner.quantize`;
    None: fp32).
    """

    header: CableHeader
    paragraphs: tuple[Paragraph, ...]
    source: str | None
    form: str | None
    text_hash: str | None
    skipped: str | None
    entities: tuple[
        dict, ...
    ]  # JSON-ready: text, label, start, end, source_start/end, paragraph, portion
    encoding: str | None = None
    encoding_fallback: bool = False
    quantize: str | None = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "header":
            raise AttributeError(name)
        try:
            return getattr(self.header, name)
        except AttributeError:
            raise AttributeError(f"Cable has no attribute {name!r}") from None

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.header.to_dict()))

    @property
    def label_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(e["label"] for e in self.entities).items()))

    def to_dict(self) -> dict:
        """JSON-ready: header fields, paragraphs, entities grouped per label, counts."""
        per_label: dict[str, list[dict]] = {}
        for e in self.entities:
            per_label.setdefault(e["label"], []).append(
                {k: v for k, v in e.items() if k != "label"}
            )
        return {
            **self.header.to_dict(),
            "wikileaks_classification": self.header.wikileaks_classification,
            "paragraphs": [p.to_dict() for p in self.paragraphs],
            "source": self.source,
            "form": self.form,
            "encoding": self.encoding,
            "encoding_fallback": self.encoding_fallback,
            "quantize": self.quantize,
            "text_hash": self.text_hash,
            "skipped": self.skipped,
            "entities": per_label,
            "label_counts": self.label_counts,
        }


def get_cable(doc: Doc) -> Cable:
    data = cable_data(doc)
    paras = tuple(Paragraph.from_dict(p) for p in data.get("paragraphs", []))
    find = paragraph_lookup(paras)
    to_source = source_mapper(doc)
    entities = []
    for ent in doc.ents:
        para = find(ent.start_char)
        s0, s1 = to_source(ent.start_char, ent.end_char)
        entities.append({
            "text": ent.text, "label": ent.label_, "start": ent.start_char, "end": ent.end_char,
            "source_start": s0, "source_end": s1,
            "paragraph": para.number if para else None, "portion": para.portion if para else None,
        })  # fmt: skip
    return Cable(
        header=CableHeader.from_dict(data.get("header", {})),
        paragraphs=paras,
        source=data.get("source"),
        form=data.get("form"),
        text_hash=data.get("text_hash"),
        skipped=skip_reason(doc),
        entities=tuple(entities),
        encoding=data.get("encoding"),
        encoding_fallback=bool(data.get("encoding_fallback")),
        quantize=data.get("quantize"),
    )


def _paragraph_of(span: Span) -> Paragraph | None:
    paras = [Paragraph.from_dict(p) for p in cable_data(span.doc).get("paragraphs", [])]
    return paragraph_lookup(paras)(span.start_char)


def _span_paragraph(span: Span) -> int | None:
    para = _paragraph_of(span)
    return para.number if para else None


def _span_portion(span: Span) -> str | None:
    para = _paragraph_of(span)
    return para.portion if para else None


def _span_source(span: Span) -> tuple[int, int]:
    return source_span(span.doc, span.start_char, span.end_char)


Doc.set_extension("cable", getter=get_cable, force=True)
Span.set_extension("paragraph", getter=_span_paragraph, force=True)
Span.set_extension("portion", getter=_span_portion, force=True)
Span.set_extension("source_span", getter=_span_source, force=True)
