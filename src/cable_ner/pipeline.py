"""The pipeline side: a cable reader in the tokenizer slot and the `cable_metadata` component.

    nlp = spacy.load("training/trf/model-best")  # [nlp.tokenizer] cable_ner.cable_reader.v1
    doc = nlp(text)                              # tagged, raw, a WikiLeaks page, or plain text
    doc._.cable.reference_id, doc._.cable.tags   # metadata (a `Cable`, built on access)
    ent._.paragraph, ent._.portion, ent._.source_span

`CableReader` (registered as `cable_ner.cable_reader.v1`) parses the input with the same reader as
the converter (`reader.parse_cable`), tokenizes the clean text with spaCy's English tokenizer,
stores the cable's metadata as plain JSON-able data in `doc.user_data` and blocks the header
tokens from the NER. `cable_metadata` (last in the pipeline) adds span groups and entity counts.
Rich objects (`Cable`) are built by extension getters from that plain data, so the metadata survives
`nlp.pipe(n_process=...)` (docs come back as bytes), `Doc.to_bytes` and
`DocBin(store_user_data=True)`.

What the reader does with each input (the `form` setting; "auto" detects it):
- A text with no cable markup (no `<pre>`, no `[LABEL ` brackets, not a WikiLeaks page) is
  tokenized *unchanged*, character references and all: training builds predicted docs with
  `nlp.make_doc(reference.text)` on converted, already-clean text, which must not be altered.
  Its header is parsed only if it opens with an upper-case classification banner, as a cable
  does, and counts only if it has a real cable header field (TAGS, SUBJECT, E.O./DECL,
  CLASSIFIED BY, a post and serial): otherwise (plain prose, a body sentence) all fields are empty
  and nothing is blocked.
- Tagged, raw and page inputs are stripped of markup; the Doc's text is the clean text and
  `Span._.source_span` maps back to character offsets in the string that was passed in.
- An input the reader rejects (a scraper stub, a page without a body, unbalanced entity
  brackets, ...) is tokenized unchanged with empty metadata, and the reason is kept in
  `doc._.cable.skipped`; with `strict = true` it raises `CableReaderError` (a ValueError) instead.

user_data keys (all JSON-able): "cable" (the converter's `cable_user_data` shape: header,
paragraphs, source, form, text_hash), "cable_source" (offset of the parsed body in the input,
the clean→input segment map as a flat int list, the skip reason) and "cable_counts" (entities
per label, set by `cable_metadata`).

Rule-based components (an `entity_ruler`) do not honour the blocked header tokens: only the
statistical NER does. Errors: spaCy raises ValueError (E1041) for non-string input before any
component runs and E088 for texts over `nlp.max_length` characters (raise it deliberately for
long inputs; memory stays bounded by the transformer's strided spans).
"""

from __future__ import annotations

import html
import warnings
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import srsly
from spacy import displacy
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import ensure_path, registry
from spacy.vocab import Vocab

from .convert import cable_user_data
from .header import CableHeader, Paragraph
from .markup import Markup
from .reader import (
    FORMS,
    REFERENCE_ID,
    STUB_TEXT,
    CableRecord,
    Skipped,
    detect_form,
    file_stem,
    parse_cable,
    plain_record,
)

__all__ = [
    "Cable",
    "CableMetadata",
    "CableReader",
    "CableReaderError",
    "create_cable_reader",
    "make_cable_metadata",
    "render",
]

USER_DATA_KEY = "cable"
SOURCE_KEY = "cable_source"
COUNTS_KEY = "cable_counts"
_HEADER_LABEL = "HEADER"


class CableReaderError(ValueError):
    """The cable reader rejected an input and `strict = true` was set."""


# --------------------------------------------------------------------------- the tokenizer


class CableReader:
    """Tokenizer wrapper: cable markup → clean text, metadata in user_data, header blocked."""

    def __init__(self, vocab: Vocab, tokenizer: Callable[[str], Doc], form: str = "auto",
                 strict: bool = False):  # fmt: skip
        if form not in ("auto", *FORMS):
            raise ValueError(
                f"cable_reader: unknown form {form!r}; expected auto or one of {FORMS}"
            )
        self.vocab = vocab
        self.tokenizer = tokenizer
        self.form = form
        self.strict = strict

    def __call__(self, text: str) -> Doc:
        if not isinstance(text, str):
            raise CableReaderError(
                f"cable_reader: expected str, got {type(text).__name__}; decode bytes first "
                "(cable_ner.reader.decode)"
            )
        record, skipped = read_text(text, self.form)
        if skipped is not None and self.strict:
            where = f" (line {skipped.line})" if skipped.line else ""
            raise CableReaderError(f"cable_reader: {skipped.reason}{where}")
        doc = self.tokenizer(record.text)
        doc.user_data[USER_DATA_KEY] = cable_user_data(record)
        doc.user_data[SOURCE_KEY] = {
            "offset": record.source_offset,
            "segments": _flatten(record.markup.segments, len(record.text)),
            "skipped": skipped.reason if skipped is not None else None,
        }
        blocked = header_blocks(doc, record.header.header_end)
        if blocked:
            doc.set_ents([], blocked=blocked, default="unmodified")
        return doc

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterator[Doc]:
        for text in texts:
            yield self(text)

    def __getattr__(self, name: str) -> Any:
        # explain(), rules, add_special_case, ... of spaCy's tokenizer
        if name.startswith("_") or name == "tokenizer":
            raise AttributeError(name)
        return getattr(self.tokenizer, name)

    # serialisation: the inner tokenizer's own data plus this wrapper's settings
    def _cfg(self) -> dict:
        return {"form": self.form, "strict": self.strict}

    def _set_cfg(self, cfg: Mapping) -> None:
        self.form = cfg.get("form", self.form)
        self.strict = bool(cfg.get("strict", self.strict))

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        return srsly.msgpack_dumps(
            {"cfg": self._cfg(), "tokenizer": self.tokenizer.to_bytes(exclude=exclude)}
        )

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = ()) -> CableReader:
        data = srsly.msgpack_loads(bytes_data)
        self._set_cfg(data["cfg"])
        self.tokenizer.from_bytes(data["tokenizer"], exclude=exclude)
        return self

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / "cfg.json", self._cfg())
        self.tokenizer.to_disk(path / "tokenizer", exclude=exclude)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> CableReader:
        path = ensure_path(path)
        if path.is_file():  # a pipeline saved with spaCy's plain tokenizer
            self.tokenizer.from_disk(path, exclude=exclude)
            return self
        self._set_cfg(srsly.read_json(path / "cfg.json"))
        self.tokenizer.from_disk(path / "tokenizer", exclude=exclude)
        return self


@registry.tokenizers("cable_ner.cable_reader.v1")
def create_cable_reader(
    form: str = "auto", strict: bool = False
) -> Callable[[Language], CableReader]:
    """The cable reader around spaCy's default tokenizer for the pipeline's language.

    form: auto (detect), tagged, raw, page or text (never strip markup).
    strict: raise CableReaderError for inputs the reader rejects instead of reading them as text.
    """
    default_tokenizer = registry.tokenizers.get("spacy.Tokenizer.v1")()

    def create(nlp: Language) -> CableReader:
        return CableReader(nlp.vocab, default_tokenizer(nlp), form=form, strict=strict)

    return create


def read_text(
    text: str, form: str = "auto", name: str = "<text>"
) -> tuple[CableRecord, Skipped | None]:
    """The record the pipeline reads `text` as, and the reader's Skipped if it rejected it."""
    detected = detect_form(text)
    if form == "auto" and detected == "text" and STUB_TEXT in text:
        form = "raw"  # a scraper stub: the reader names it
    parsed = parse_cable(text, name=name, form=form)
    if isinstance(parsed, Skipped):
        record = plain_record(text, name, header=False)
        record.form = detected
        return record, parsed
    return parsed, None


def header_tokens(doc: Doc, header_end: int) -> int:
    """The number of tokens the header's characters [0, header_end) touch."""
    if header_end <= 0 or not len(doc):
        return 0
    span = doc.char_span(0, min(header_end, len(doc.text)), alignment_mode="expand")
    return span.end if span is not None else 0


def header_blocks(doc: Doc, header_end: int) -> list[Span]:
    """The spans to block from the NER: the tokens wholly inside the header, whitespace excluded.

    This keeps training possible: `Corpus` aligns the predicted Doc (tokenized here) to the
    converted reference, whose header tokens are missing. A blocked token may only align to
    missing reference tokens, or spaCy raises E024: so no token straddling `header_end` is
    blocked, and no whitespace token (spaCy's aligned NER makes those "O", which a blocked token
    cannot be).
    """
    if header_end <= 0 or not len(doc):
        return []
    span = doc.char_span(0, min(header_end, len(doc.text)), alignment_mode="contract")
    if span is None:
        return []
    blocks, start = [], None
    for token in span:
        if token.is_space:
            if start is not None:
                blocks.append(Span(doc, start, token.i))
            start = None
        elif start is None:
            start = token.i
    if start is not None:
        blocks.append(Span(doc, start, span.end))
    return blocks


def _flatten(segments: list[tuple[int, int, int, int]], n: int) -> list[int]:
    if segments == [(0, n, 0, n)]:
        return []  # identity: the text is the input
    return [x for seg in segments for x in seg]


# --------------------------------------------------------------------------- offsets to the input


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


# --------------------------------------------------------------------------- the rich view


@dataclass(frozen=True)
class Cable:
    """A cable's metadata, built from the Doc's plain user_data on each `doc._.cable` access.

    Header fields (reference_id, classification, post, serial, tags, subject, classified_by,
    reasons, captions, refs, eo, decl, created, released, origin, ...) read through to `header`.
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
            "text_hash": self.text_hash,
            "skipped": self.skipped,
            "entities": per_label,
            "label_counts": self.label_counts,
        }


def _cable_data(doc: Doc) -> dict:
    data = doc.user_data.get(USER_DATA_KEY)
    if data is None:  # a Doc made without the cable reader: read its text as plain text
        data = cable_user_data(plain_record(doc.text))
    return data


def _paragraphs(doc: Doc) -> list[Paragraph]:
    return [Paragraph(**p) for p in _cable_data(doc).get("paragraphs", [])]


def _paragraph_of(doc: Doc, start_char: int) -> Paragraph | None:
    paras = _paragraphs(doc)
    i = bisect_right([p.start for p in paras], start_char) - 1
    if i >= 0 and paras[i].start <= start_char < paras[i].end:
        return paras[i]
    return None


def get_cable(doc: Doc) -> Cable:
    data = _cable_data(doc)
    paras = tuple(Paragraph(**p) for p in data.get("paragraphs", []))
    starts = [p.start for p in paras]
    to_source = source_mapper(doc)
    entities = []
    for ent in doc.ents:
        i = bisect_right(starts, ent.start_char) - 1
        para = paras[i] if i >= 0 and ent.start_char < paras[i].end else None
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
        skipped=(doc.user_data.get(SOURCE_KEY) or {}).get("skipped"),
        entities=tuple(entities),
    )


def _span_paragraph(span: Span) -> int | None:
    para = _paragraph_of(span.doc, span.start_char)
    return para.number if para else None


def _span_portion(span: Span) -> str | None:
    para = _paragraph_of(span.doc, span.start_char)
    return para.portion if para else None


def _span_source(span: Span) -> tuple[int, int]:
    return source_span(span.doc, span.start_char, span.end_char)


Doc.set_extension("cable", getter=get_cable, force=True)
Span.set_extension("paragraph", getter=_span_paragraph, force=True)
Span.set_extension("portion", getter=_span_portion, force=True)
Span.set_extension("source_span", getter=_span_source, force=True)


# --------------------------------------------------------------------------- the component


class CableMetadata:
    """Last component: span groups for paragraphs and the header, entity counts per label.

    With `nlp.pipe(..., as_tuples=True)`, a context dict with a "source" (a file name or path)
    names the cable: `doc._.cable.source`, and the reference id from the file's stem when the
    text did not give one (`10MUSCAT71.txt` → `10MUSCAT71`).
    """

    def __init__(self, name: str = "cable_metadata", paragraphs_key: str = "paragraphs",
                 header_key: str = "header"):  # fmt: skip
        self.name = name
        self.paragraphs_key = paragraphs_key
        self.header_key = header_key

    def __call__(self, doc: Doc) -> Doc:
        data = doc.user_data.get(USER_DATA_KEY)
        if data is None:
            data = doc.user_data[USER_DATA_KEY] = cable_user_data(plain_record(doc.text))
        context = getattr(doc, "_context", None)
        if isinstance(context, Mapping) and context.get("source"):
            _name_from_context(data, str(context["source"]))
        paragraphs = []
        for p in data.get("paragraphs", []):
            span = doc.char_span(
                p["start"], p["end"], label=str(p["number"]), alignment_mode="expand"
            )
            if span is not None:
                paragraphs.append(span)
        doc.spans[self.paragraphs_key] = paragraphs
        n_header = header_tokens(doc, data.get("header", {}).get("header_end") or 0)
        doc.spans[self.header_key] = (
            [Span(doc, 0, n_header, label=_HEADER_LABEL)] if n_header else []
        )
        doc.user_data[COUNTS_KEY] = dict(sorted(Counter(e.label_ for e in doc.ents).items()))
        return doc


def _name_from_context(data: dict, source: str) -> None:
    data["source"] = source
    stem = file_stem(source)
    header = data.setdefault("header", {})
    if not header.get("reference_id") and REFERENCE_ID.match(stem):
        header["reference_id"] = stem


@Language.factory(
    "cable_metadata",
    default_config={"paragraphs_key": "paragraphs", "header_key": "header"},
    assigns=["doc.spans", "doc._.cable"],
    requires=["doc.ents"],
)
def make_cable_metadata(
    nlp: Language, name: str, paragraphs_key: str, header_key: str
) -> CableMetadata:
    return CableMetadata(name, paragraphs_key, header_key)


# --------------------------------------------------------------------------- displaCy


_META_ROWS = (
    ("Reference", "reference_id"), ("Classification", "classification"),
    ("WikiLeaks classification", "page_classification"), ("Post", "post"),
    ("Created", "created"), ("TAGS", "tags"), ("Subject", "subject"),
    ("Classified by", "classified_by"), ("Reasons", "reasons"), ("Source", "source"),
)  # fmt: skip


def render(doc: Doc, page: bool = True, options: dict | None = None) -> str:
    """displaCy's entity view of `doc` under a block with the cable's metadata (escaped).

    page=True gives a whole HTML page; page=False a fragment (in Jupyter:
    `IPython.display.HTML(render(doc, page=False))`).
    """
    cable = doc._.cable
    meta = cable.to_dict()
    rows = []
    for title, key in _META_ROWS:
        value = meta.get(key)
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        if value:
            rows.append(f"<tr><th>{html.escape(title)}</th><td>{html.escape(str(value))}</td></tr>")
    counts = ", ".join(f"{html.escape(k)} {v}" for k, v in cable.label_counts.items())
    rows.append(f"<tr><th>Paragraphs</th><td>{len(cable.paragraphs)}</td></tr>")
    rows.append(f"<tr><th>Entities</th><td>{counts or 'none'}</td></tr>")
    if cable.skipped:
        rows.append(f"<tr><th>Not read as a cable</th><td>{html.escape(cable.skipped)}</td></tr>")
    block = (
        '<table class="cable-metadata" style="border-collapse:collapse;margin-bottom:1em;'
        'font-family:sans-serif;font-size:14px;text-align:left">' + "".join(rows) + "</table>"
    )
    with warnings.catch_warnings():  # W006 (no entities): the metadata block is still worth it
        warnings.filterwarnings("ignore", message=r"\[W006\]")
        ents = displacy.render(doc, style="ent", page=False, jupyter=False, options=options or {})
    body = block + ents
    if not page:
        return f'<div class="cable">{body}</div>'
    title = html.escape(cable.reference_id or cable.source or "cable")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n'
        f'<head><meta charset="utf-8"><title>{title}</title></head>\n'
        f'<body style="margin:0 2em;font-family:sans-serif">{body}</body>\n</html>\n'
    )
