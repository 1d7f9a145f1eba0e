"""Read cables in every form the project meets: tagged, raw, WikiLeaks pages, plain text.

`iter_sources` expands files, folders, globs and `.gz` files into named byte sources; `read_cable`
turns one source into a `CableRecord` (clean text, entities, sentences, paragraphs, header) or a
`Skipped` that says why, so a caller can account for every file it was given.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from pathlib import Path

from .header import CableHeader, Paragraph, parse_header, starts_like_a_cable
from .markup import Markup, MarkupError, parse_markup

FORMS = ("tagged", "raw", "page", "text")
SUFFIXES = (".txt", ".html", ".htm", ".xhtml")
MAX_BYTES = 20_000_000  # the largest real cable is ~80 kB; anything this big is not a cable
REFERENCE_ID = re.compile(r"^[0-9]{2}[A-Z][A-Z0-9]*[0-9]$")
_ENTITY_OPEN = re.compile(r"\[(?:PER|LOC|ORG|MISC) ")
_PRE = re.compile(r"<pre\b", re.IGNORECASE)
_PAGE = re.compile(r"<table class=['\"]cable['\"]|<title>Cable Viewer</title>")
STUB_TEXT = "Appears in these articles"


@dataclass(frozen=True)
class Source:
    """One input: a display name (the path the user gave, or `archive.gz`) and a way to read it."""

    name: str
    path: Path

    def read_bytes(self, limit: int = MAX_BYTES) -> bytes:
        opener = gzip.open if self.path.suffix == ".gz" else open
        with opener(self.path, "rb") as fh:
            return fh.read(limit + 1)

    @property
    def stem(self) -> str:
        return file_stem(self.path.name)


@dataclass
class CableRecord:
    """One cable as the project sees it. Offsets are into `text` (the clean text)."""

    name: str
    form: str
    markup: Markup
    header: CableHeader
    paragraphs: list[Paragraph]
    sentences: list[tuple[int, int]] | None  # known in the tagged form (one line a sentence)
    source_offset: int = 0  # where the parsed part starts in the decoded input (page bodies)

    @property
    def text(self) -> str:
        return self.markup.text

    @property
    def entities(self) -> list[tuple[int, int, str]]:
        return self.markup.entities

    @property
    def reference_id(self) -> str | None:
        return self.header.reference_id

    def to_source(self, start: int, end: int) -> tuple[int, int]:
        """The span of the decoded input file that clean span [start, end) came from."""
        a, b = self.markup.to_source(start, end)
        return a + self.source_offset, b + self.source_offset

    def text_hash(self) -> str:
        return text_hash(self.text)


@dataclass(frozen=True)
class Skipped:
    name: str
    reason: str
    line: int | None = None

    def to_dict(self) -> dict:
        return {"file": self.name, "reason": self.reason, "line": self.line}


def file_stem(name: str | Path) -> str:
    """A file name without folder, `.gz` and extension: `x/10MUSCAT71.txt.gz` → `10MUSCAT71`."""
    name = Path(name).name
    name = name.removesuffix(".gz")
    return name.rsplit(".", 1)[0] if "." in name else name


def text_hash(text: str) -> str:
    """Hash of a cable's text with all whitespace removed: tagged and raw twins hash the same."""
    return hashlib.sha1("".join(text.split()).encode("utf-8")).hexdigest()


def iter_sources(inputs: Iterable[str | Path]) -> Iterator[Source]:
    """Expand files, folders (recursively, sorted) and globs; raise FileNotFoundError for a path
    or pattern that matches nothing, naming it."""
    for item in inputs:
        item = str(item)
        path = Path(item)
        if path.is_dir():
            for p in sorted(path.rglob("*")):
                if p.is_file() and not p.name.startswith(".") and _is_cable_name(p.name):
                    yield Source(str(p), p)
        elif path.is_file():
            yield Source(item, path)
        elif glob.has_magic(item):
            matches = sorted(p for p in glob.glob(item, recursive=True) if Path(p).is_file())
            if not matches:
                raise FileNotFoundError(f"no files match {item!r}")
            for p in matches:
                yield Source(p, Path(p))
        else:
            raise FileNotFoundError(f"no such file or folder: {item!r}")


def _is_cable_name(name: str) -> bool:
    name = name[:-3] if name.endswith(".gz") else name
    return name.endswith(SUFFIXES)


def decode(name: str, data: bytes) -> str | Skipped:
    """Bytes to text, or a Skipped naming what is wrong with them."""
    if len(data) > MAX_BYTES:
        return Skipped(name, f"file larger than {MAX_BYTES:,} bytes")
    if not data.strip():
        return Skipped(name, "empty file")
    if b"\x00" in data[:65536]:
        return Skipped(name, "binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        return Skipped(name, f"invalid UTF-8 at byte {err.start}", line)
    return text.removeprefix("\ufeff")


def read_cable(source: Source, form: str = "auto") -> CableRecord | Skipped:
    """Read one source. `form` is auto, tagged, raw, page or text (taken as it is, see
    `plain_record`)."""
    try:
        data = source.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        return Skipped(source.name, f"cannot read: {err}")
    text = decode(source.name, data)
    if isinstance(text, Skipped):
        return text
    return parse_cable(text, name=source.name, form=form, stem=source.stem)


def parse_cable(
    text: str, name: str = "<text>", form: str = "auto", stem: str | None = None
) -> CableRecord | Skipped:
    """Parse decoded cable text. Used by the converter and by the pipeline's tokenizer alike."""
    if form not in ("auto", *FORMS):
        raise ValueError(f"unknown cable form {form!r}; expected auto or one of {FORMS}")
    detected = detect_form(text)
    if form == "auto":
        form = detected
    if form == "text":
        return plain_record(text, name)
    if form in ("tagged", "raw") and detected == "page":
        return Skipped(name, f"a WikiLeaks page, not a {form} cable")
    if form in ("tagged", "raw") and not _PRE.search(text):
        if STUB_TEXT in text:
            return Skipped(name, "scraper stub (no cable text)")
        return Skipped(name, "no <pre> block")
    body, offset, page_meta = text, 0, {}
    if form == "page":
        page = _read_page(text)
        if page is None:
            return Skipped(name, "WikiLeaks page without a cable body")
        body, offset, page_meta = page
    try:
        markup = parse_markup(body)
    except MarkupError as err:
        line = body.count("\n", 0, _line_offset(body, err.line)) + 1 + text.count("\n", 0, offset)
        return Skipped(name, f"markup error: {err.reason}", line)
    header, paragraphs = parse_header(markup.text)
    ref = page_meta.get("reference_id") or (stem if stem and REFERENCE_ID.match(stem) else None)
    header = replace(
        header,
        reference_id=ref,
        created=page_meta.get("created"),
        released=page_meta.get("released"),
        origin=page_meta.get("origin"),
        page_classification=page_meta.get("classification"),
    )
    sentences = markup.lines if form == "tagged" else None
    return CableRecord(name, form, markup, header, paragraphs, sentences, source_offset=offset)


# A plain text's header counts only with one of these: a classification word alone is no header.
_STRUCTURAL_FIELDS = ("tags", "subject", "eo", "decl", "classified_by", "serial")


def plain_record(text: str, name: str = "<text>", header: bool = True) -> CableRecord:
    """Text taken as it is (no markup stripped, identity offsets).

    Its header is looked for only if it opens like a cable (training's make_doc reads every
    converted doc and sentence this way, and a body sentence starting "SUBJECT:" is no header),
    and counts only if it has a real header field; otherwise all fields are empty.
    """
    identity = Markup(text, [], [(0, len(text), 0, len(text))])
    parsed = parse_header(text) if header and starts_like_a_cable(text) else None
    if parsed is None or not any(getattr(parsed.header, f) for f in _STRUCTURAL_FIELDS):
        return CableRecord(name, "text", identity, CableHeader.from_dict({}), [], None)
    return CableRecord(name, "text", identity, parsed.header, parsed.paragraphs, None)


def _line_offset(text: str, line: int) -> int:
    pos = 0
    for _ in range(line - 1):
        pos = text.find("\n", pos) + 1
    return pos


def detect_form(text: str) -> str:
    head = text[:200_000]
    if _PAGE.search(head):
        return "page"
    if _ENTITY_OPEN.search(text):
        return "tagged"
    if _PRE.search(head):
        return "raw"
    return "text"


class _PageParser(HTMLParser):
    """Collects the cable metadata table's cells and the offsets of the `<pre>` blocks."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=False)
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.cells: list[str] = []
        self.pres: list[tuple[int, int]] = []
        self._in_table = 0
        self._cell: list[str] | None = None
        self._pre_start: int | None = None

    def _offset(self) -> int:
        line, col = self.getpos()
        return self._line_starts[line - 1] + col

    def handle_starttag(self, tag, attrs):
        if tag == "table" and ("class", "cable") in attrs:
            self._in_table += 1
        elif self._in_table and tag == "td":
            self._cell = []
        elif tag == "pre" and self._pre_start is None:
            self._pre_start = self._offset() + len(self.get_starttag_text() or "")

    def handle_endtag(self, tag):
        if tag == "table" and self._in_table:
            self._in_table -= 1
        elif tag == "td" and self._cell is not None:
            self.cells.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "pre" and self._pre_start is not None:
            self.pres.append((self._pre_start, self._offset()))
            self._pre_start = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _read_page(text: str) -> tuple[str, int, dict] | None:
    """The body `<pre>` of a WikiLeaks page, its offset in the page, and the metadata table."""
    parser = _PageParser(text)
    parser.feed(text)
    parser.close()
    if not parser.pres:
        return None
    start, end = parser.pres[-1]  # the routing header comes first, the body last
    keys = ("reference_id", "created", "released", "classification", "origin")
    meta = dict(zip(keys, parser.cells[:5], strict=False)) if len(parser.cells) >= 5 else {}
    if meta.get("reference_id") and not REFERENCE_ID.match(meta["reference_id"]):
        meta["reference_id"] = None
    return text[start:end], start, meta
