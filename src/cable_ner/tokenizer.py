"""The cable reader: spaCy's tokenizer slot, registered as `cable_ner.cable_reader.v1`.

    nlp = spacy.load("training/trf/model-best")  # [nlp.tokenizer] cable_ner.cable_reader.v1
    doc = nlp(text)                              # tagged, raw, a WikiLeaks page, or plain text

`CableReader` reads the input with the converter's own reader (`reader.read_text`), tokenizes the
clean text with spaCy's English tokenizer, stores the cable's metadata as plain data in
`doc.user_data` (`cable.store_record`, `cable.store_source`) and blocks the header tokens from the
NER. The `cable_metadata` component (last in the pipeline) adds span groups and entity counts.

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

Rule-based components (an `entity_ruler`) do not honour the blocked header tokens: only the
statistical NER does. Errors: spaCy raises ValueError (E1041) for non-string input before any
component runs and E088 for texts over `nlp.max_length` characters (raise it deliberately for
long inputs; memory stays bounded by the transformer's strided spans).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import srsly
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import ensure_path, registry
from spacy.vocab import Vocab

from .cable import store_record, store_source
from .reader import FORMS, read_text

__all__ = ["CableReader", "CableReaderError", "create_cable_reader", "header_blocks"]


class CableReaderError(ValueError):
    """The cable reader rejected an input and `strict = true` was set."""


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
                "(cable_ner.reader.decode(name, data).text)"
            )
        record, skipped = read_text(text, self.form)
        if skipped is not None and self.strict:
            where = f" (line {skipped.line})" if skipped.line else ""
            raise CableReaderError(f"cable_reader: {skipped.reason}{where}")
        doc = self.tokenizer(record.text)
        store_record(doc, record)
        store_source(doc, record, skipped.reason if skipped is not None else None)
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
