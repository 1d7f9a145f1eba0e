"""Read cables in every form the project meets: tagged, raw, WikiLeaks pages, plain text.

`iter_sources` expands files, folders, globs and `.gz` files into named byte sources;
`read_source` reads and decodes one (`decode`: what a byte-order mark says, else UTF-8 with a
cp1252 fallback); `read_cable` turns one source into a `CableRecord` (clean text, entities,
sentences, paragraphs, header, how the file was decoded) or a `Skipped` that says why, so a
caller can account for every file it was given. `read_text` is how the pipeline's cable reader
reads a string, with the same parser.
"""

from __future__ import annotations

import codecs
import glob
import gzip
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from .header import CableHeader, Paragraph, parse_header, starts_like_a_cable
from .markup import Markup, MarkupError, parse_markup
from .page import read_page

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
    encoding: str | None = None  # how the input file was decoded (`Decoded.encoding`)
    encoding_fallback: bool = False  # not valid UTF-8: read as cp1252

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


@dataclass(frozen=True)
class Decoded:
    """A file's text and how it was decoded."""

    text: str
    encoding: str  # utf-8, utf-8-sig, utf-16-le/-be, utf-32-le/-be (a BOM said so), or cp1252
    fallback: bool = False  # not valid UTF-8: the bytes that are not were read as cp1252


# a byte-order mark says the encoding; UTF-32-LE's starts like UTF-16-LE's, so it comes first
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)  # fmt: skip
_CP1252 = "cable_ner.cp1252"


def _cp1252_bytes(err: UnicodeError) -> tuple[str, int]:
    """Decoding error handler: bytes that are not UTF-8, read as cp1252."""
    if not isinstance(err, UnicodeDecodeError):
        raise err
    try:
        return err.object[err.start : err.end].decode("cp1252"), err.end
    except UnicodeDecodeError as bad:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D: no cp1252 character
        at = err.start + bad.start
        raise UnicodeDecodeError("cp1252", err.object, at, at + 1, bad.reason) from None


codecs.register_error(_CP1252, _cp1252_bytes)


def decode(name: str, data: bytes) -> Decoded | Skipped:
    """Bytes to text, or a Skipped naming what is wrong with them.

    A byte-order mark says the encoding (UTF-8, UTF-16 or UTF-32, little or big endian) and is
    removed. Other files are read as UTF-8, and where they are not valid UTF-8 as cp1252 (the
    Windows code page that holds Latin-1's printable characters and curly quotes), which is
    recorded as `encoding="cp1252", fallback=True`. Offsets into the text are character offsets
    into the decoded file, BOM removed.
    """
    if len(data) > MAX_BYTES:
        return Skipped(name, f"file larger than {MAX_BYTES:,} bytes")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode_marked(name, data, encoding)
    if not data.strip():
        return Skipped(name, "empty file")
    if b"\x00" in data[:65536]:
        return Skipped(name, "binary file (contains NUL bytes)")
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return Decoded(data.decode("utf-8", errors=_CP1252), "cp1252", fallback=True)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        reason = f"neither UTF-8 nor cp1252 (byte 0x{data[err.start]:02X})"
        return Skipped(name, f"undecodable at byte {err.start}: {reason}", line)


def _decode_marked(name: str, data: bytes, encoding: str) -> Decoded | Skipped:
    """A file that starts with a byte-order mark, decoded as the mark says."""
    try:
        text = data.decode(encoding).removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        line = data[: err.start].decode(encoding, errors="replace").count("\n") + 1
        return Skipped(name, f"invalid {encoding.upper()} at byte {err.start}", line)
    if not text.strip():
        return Skipped(name, "empty file")
    if "\x00" in text[:65536]:
        return Skipped(name, "binary file (contains NUL characters)")
    return Decoded(text, encoding)


def read_source(source: Source) -> Decoded | Skipped:
    """Read and decode one source: the converter's and the annotate job's way in."""
    try:
        data = source.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        return Skipped(source.name, f"cannot read: {err}")
    return decode(source.name, data)


def read_cable(source: Source, form: str = "auto") -> CableRecord | Skipped:
    """Read one source. `form` is auto, tagged, raw, page or text (taken as it is, see
    `plain_record`)."""
    decoded = read_source(source)
    if isinstance(decoded, Skipped):
        return decoded
    record = parse_cable(decoded.text, name=source.name, form=form, stem=source.stem)
    if isinstance(record, CableRecord):
        record.encoding, record.encoding_fallback = decoded.encoding, decoded.fallback
    return record


def read_text(
    text: str, form: str = "auto", name: str = "<text>"
) -> tuple[CableRecord, Skipped | None]:
    """The record the pipeline's cable reader reads `text` as, and the parser's Skipped if it
    rejected it (the text is then taken as it is)."""
    detected = detect_form(text)
    if form == "auto" and detected == "text" and STUB_TEXT in text:
        form = "raw"  # a scraper stub: the reader names it
    parsed = parse_cable(text, name=name, form=form)
    if isinstance(parsed, Skipped):
        record = plain_record(text, name, header=False)
        record.form = detected
        return record, parsed
    return parsed, None


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
        page = read_page(text)
        if page is None:
            return Skipped(name, "WikiLeaks page without a cable body")
        body, offset, page_meta = page
    try:
        markup = parse_markup(body)
    except MarkupError as err:
        line = body.count("\n", 0, _line_offset(body, err.line)) + 1 + text.count("\n", 0, offset)
        return Skipped(name, f"markup error: {err.reason}", line)
    header, paragraphs = parse_header(markup.text)
    ids = (page_meta.get("reference_id"), stem)  # the page's table, else the file name
    ref = next((r for r in ids if r and REFERENCE_ID.match(r)), None)
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


def cable_user_data(record: CableRecord) -> dict:
    """The plain, JSON-ready metadata a Doc carries (`cable.USER_DATA_KEY`; the `Cable` view is
    built from it)."""
    return {
        "header": record.header.to_dict(),
        "paragraphs": [p.to_dict() for p in record.paragraphs],
        "source": record.name,
        "form": record.form,
        "text_hash": record.text_hash(),
        "encoding": record.encoding,
        "encoding_fallback": record.encoding_fallback,
    }


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
