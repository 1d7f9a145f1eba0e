"""The pipeline's own components, each with its factory, class and defaults together.

- `cable_metadata` (`CableMetadata`): span groups for the paragraphs and the header, entity
  counts. `nlp.add_pipe("cable_metadata")`, last, after the NER. It reads the metadata the cable
  reader stored (a Doc made without it has its text read as plain text), so it works after any
  tokenizer.
- `release_memory` (`ReleaseMemory`): hands freed heap back to the OS every few docs; the
  annotate job adds it last to every pipeline it runs (`annotate.prepare_pipeline`).
"""


from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections import Counter
from collections.abc import Mapping

from spacy.language import Language
from spacy.tokens import Doc

from .cable import (
    COUNTS_KEY,
    HEADER_GROUP,
    PARAGRAPHS_GROUP,
    USER_DATA_KEY,
    header_span,
    paragraph_spans,
    store_record,
)
from .header import Paragraph
from .reader import REFERENCE_ID, file_stem, plain_record

__all__ = ["CableMetadata", "ReleaseMemory", "make_cable_metadata", "make_release_memory"]

DEFAULT_CONFIG = {"paragraphs_key": PARAGRAPHS_GROUP, "header_key": HEADER_GROUP}


class CableMetadata:
    """Last component: span groups for paragraphs and the header, entity counts per label.

    With `nlp.pipe(..., as_tuples=True)`, a context dict with a "source" (a file name or path)
    names the cable: `doc._.cable.source`, and the reference id from the file's stem when the
    text did not give one (`10MUSCAT71.txt` → `10MUSCAT71`). An "encoding" (and
    "encoding_fallback") in the context says how that file was decoded (`reader.decode`).
    On a quantized pipeline (`cable_ner.quantize`) each doc records the quantization.
    """

    def __init__(self, name: str = "cable_metadata", paragraphs_key: str = PARAGRAPHS_GROUP,
                 header_key: str = HEADER_GROUP):  # fmt: skip
        self.name = name
        self.paragraphs_key = paragraphs_key
        self.header_key = header_key
        self.quantize: str | None = None  # set by cable_ner.quantize.quantize_pipeline

    def __call__(self, doc: Doc) -> Doc:
        if doc.user_data.get(USER_DATA_KEY) is None:
            store_record(doc, plain_record(doc.text))
        data = doc.user_data[USER_DATA_KEY]
        context = getattr(doc, "_context", None)
        if isinstance(context, Mapping):
            _from_context(data, context)
        if self.quantize:
            data["quantize"] = self.quantize
        paragraphs = [Paragraph.from_dict(p) for p in data.get("paragraphs", [])]
        doc.spans[self.paragraphs_key] = paragraph_spans(doc, paragraphs)
        header = header_span(doc, data.get("header", {}).get("header_end") or 0)
        doc.spans[self.header_key] = [header] if header is not None else []
        doc.user_data[COUNTS_KEY] = dict(sorted(Counter(e.label_ for e in doc.ents).items()))
        return doc


def _from_context(data: dict, context: Mapping) -> None:
    """The file's name, its reference id if the text gave none, and how it was decoded."""
    if context.get("source"):
        source = str(context["source"])
        data["source"] = source
        stem = file_stem(source)
        header = data.setdefault("header", {})
        if not header.get("reference_id") and REFERENCE_ID.match(stem):
            header["reference_id"] = stem
    if context.get("encoding"):
        data["encoding"] = str(context["encoding"])
        data["encoding_fallback"] = bool(context.get("encoding_fallback"))


@Language.factory(
    "cable_metadata",
    default_config=DEFAULT_CONFIG,
    assigns=["doc.spans", "doc._.cable"],
    requires=["doc.ents"],
)
def make_cable_metadata(
    nlp: Language, name: str, paragraphs_key: str, header_key: str
) -> CableMetadata:
    return CableMetadata(name, paragraphs_key, header_key)




class ReleaseMemory:
    """Pipeline component: every `every` docs, return the heap's free memory to the OS.

    A long annotate run frees as much as it allocates, but glibc's malloc keeps freed memory
    mapped when it is fragmented between live blocks (the transformer's activations differ in
    size with every batch). Measured with the transformer pipeline, n_process 2, over the first
    400 shared raw cables (`benchmarks/benchmark_memory.py`): the workers' own memory (USS) grows
    with every cable without it (mean 448, 732, 960, 1,124 MiB per 100 cables) and levels off
    with it (363, 565, 650, 570 MiB).
    A no-op where the C library has no `malloc_trim` (macOS, musl).
    """

    def __init__(self, every: int = 16) -> None:
        if every < 1:
            raise ValueError(f"release_memory: every must be >= 1, not {every}")
        self.every = every
        self.seen = 0

    def __call__(self, doc: Doc) -> Doc:
        self.seen += 1
        if self.seen % self.every == 0:
            trim = _malloc_trim()
            if trim is not None:
                trim(0)
        return doc


@functools.cache
def _malloc_trim():
    """glibc's `malloc_trim` or None, looked up once per process (a ctypes function cannot be
    pickled, so components keep none)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


@Language.factory("release_memory", default_config={"every": 16})
def make_release_memory(nlp: Language, name: str, every: int) -> ReleaseMemory:
    return ReleaseMemory(every)
