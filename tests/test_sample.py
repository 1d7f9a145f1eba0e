"""The invented sample in assets/sample keeps the rules its README states.

Checked with the standard library only, independently of cable_ner's own parser, so that the
reader's tests can trust the sample:
  1. every tagged file parses: entity brackets `[LABEL tok  ]` balanced, not nested, on one line,
     labels in PER/LOC/ORG/MISC; `<code><pre>` ... `</pre></code>` wrapper; lines end with " \\n";
  2. tagged text minus entity markup and all whitespace == raw text minus all whitespace;
  3. every page's body `<pre>` (read with html.parser) == the raw twin, tags and whitespace removed;
  4. every file in bad/ is rejected by the checks above, for the reason the README gives;
  5. the folder stays under 1 MB;
and the counts the README's "Counts" section shows.
"""

from __future__ import annotations

import collections
import html.parser
import re
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "sample"
TAGGED, RAW, PAGES, BAD = (SAMPLE / d for d in ("tagged", "raw", "pages", "bad"))
LABELS = ("PER", "LOC", "ORG", "MISC")
OPEN_RE = re.compile(r"\[([A-Z][A-Z0-9_]*) ")  # label-like opener; literal brackets are "[ "
CLOSE = "  ]"
WS = re.compile(r"\s+")
ANCHOR_RE = re.compile(r"<a [^>]*>")


def parse_tagged(text: str) -> tuple[str, list[tuple[str, str, int]], list[str]]:
    """Scan a tagged cable: (plain text without markup, entities as (label, text, line), errors)."""
    out: list[str] = []
    ents: list[tuple[str, str, int]] = []
    errors: list[str] = []
    open_label, open_start, open_line = None, 0, 0
    i, line, n = 0, 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
        if ch == "[":
            m = OPEN_RE.match(text, i)
            if m and (i == 0 or text[i - 1] in " \n>"):
                label = m.group(1)
                if label not in LABELS:
                    errors.append(f"line {line}: unknown label [{label}")
                elif open_label is not None:
                    errors.append(f"line {line}: nested entity [{label} inside [{open_label}")
                else:
                    open_label, open_start, open_line = label, len(out), line
                    i = m.end()
                    continue
        if text.startswith(CLOSE, i):
            if open_label is None:
                errors.append(f"line {line}: closer '  ]' without opener")
            else:
                etext = "".join(out[open_start:]).strip()
                if open_line != line:
                    errors.append(f"line {open_line}: entity [{open_label} runs over a line break")
                if not etext:
                    errors.append(f"line {line}: empty entity [{open_label}")
                ents.append((open_label, etext, open_line))
                open_label = None
            i += len(CLOSE)
            continue
        out.append(ch)
        i += 1
    if open_label is not None:
        errors.append(f"line {open_line}: unclosed entity [{open_label}")
    return "".join(out), ents, errors


def check_format(text: str) -> list[str]:
    errs = []
    if not text.startswith("<code><pre>"):
        errs.append("does not start with <code><pre>")
    if "</pre></code>" not in text:
        errs.append("no </pre></code>")
    for k, ln in enumerate(text.split("\n")[:-1], 1):
        if not ln.endswith(" "):
            errs.append(f"line {k}: does not end with ' \\n'")
            break
        if re.search(r"  (?!\])", ln.rstrip(" ")):
            errs.append(f"line {k}: double space outside an entity closer")
            break
    if not text.endswith("\n"):
        errs.append("no final newline")
    return errs


def load(path: Path) -> tuple[str | None, str | None]:
    """The file's text, or None and why it cannot be read as a cable."""
    data = path.read_bytes()
    if not data:
        return None, "empty file"
    if b"\x00" in data:
        return None, "binary (NUL bytes)"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as e:
        return None, f"invalid UTF-8 ({e.reason} at byte {e.start})"


def check_tagged_text(text: str) -> tuple[list[str], str, list]:
    if text.strip() == "Appears in these articles:<br />":
        return ["scraper stub"], "", []
    plain, ents, errs = parse_tagged(text)
    return errs + check_format(text), plain, ents


class PageParser(html.parser.HTMLParser):
    """Collects the <table class='cable'> cells and the text of each <pre> block."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pres: list[str] = []
        self.cells: list[str] = []
        self._in_pre = self._in_table = self._in_td = False
        self._buf: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "pre":
            self._in_pre, self._buf = True, []
        elif tag == "table" and dict(attrs).get("class") == "cable":
            self._in_table = True
        elif tag == "td" and self._in_table:
            self._in_td, self._buf = True, []

    def handle_endtag(self, tag):
        if tag == "pre" and self._in_pre:
            self.pres.append("".join(self._buf))
            self._in_pre = False
        elif tag == "td" and self._in_td:
            self.cells.append(" ".join("".join(self._buf).split()))
            self._in_td = False
        elif tag == "table":
            self._in_table = False

    def handle_data(self, data):
        if self._in_pre or self._in_td:
            self._buf.append(data)


def first_difference(a: str, b: str) -> str:
    k = next((j for j in range(min(len(a), len(b))) if a[j] != b[j]), min(len(a), len(b)))
    return f"at {k}: {a[k : k + 30]!r} vs {b[k : k + 30]!r}"


TAGGED_FILES = sorted(TAGGED.glob("*.txt"))
PAGE_FILES = sorted(PAGES.glob("*.html"))


@pytest.mark.parametrize("path", TAGGED_FILES, ids=lambda p: p.name)
def test_tagged_file_parses(path):
    text, why = load(path)
    assert why is None, f"tagged/{path.name}: {why}"
    errs, _, _ = check_tagged_text(text)
    assert errs == [], f"tagged/{path.name}: {errs}"


@pytest.mark.parametrize("path", TAGGED_FILES, ids=lambda p: p.name)
def test_tagged_equals_raw_without_markup_and_whitespace(path):
    raw = RAW / path.name
    assert raw.is_file(), f"raw/{path.name}: missing"
    _, plain, _ = check_tagged_text(path.read_text(encoding="utf-8"))
    a, b = WS.sub("", plain), WS.sub("", raw.read_text(encoding="utf-8"))
    assert a == b, f"{path.name}: tagged != raw without markup, whitespace {first_difference(a, b)}"


def test_every_raw_cable_has_a_tagged_twin():
    assert [p.name for p in sorted(RAW.glob("*.txt")) if not (TAGGED / p.name).exists()] == []


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda p: p.name)
def test_page_body_equals_raw_twin(path):
    page = PageParser()
    page.feed(path.read_text(encoding="utf-8"))
    raw = RAW / f"{path.stem}.txt"
    assert len(page.pres) == 2, f"pages/{path.name}: expected 2 <pre> blocks"
    assert raw.is_file(), f"pages/{path.name}: no raw twin"
    raw_inner = re.sub(r"<[^>]+>", "", raw.read_text(encoding="utf-8"))  # keep anchors' text
    assert WS.sub("", page.pres[1]) == WS.sub("", raw_inner), f"pages/{path.name}: body != raw"
    assert page.cells[:1] == [path.stem], f"pages/{path.name}: Reference ID cell"


BAD_REASONS = {  # the reasons assets/sample/README.md gives, as the checks above find them
    "bad_binary.txt": "binary (NUL bytes)",
    "bad_empty.txt": "empty file",
    "bad_invalid_utf8.txt": "invalid UTF-8 (invalid continuation byte at byte 179)",
    "bad_nested.txt": "line 2: nested entity [LOC inside [ORG; line 2: closer '  ]' without opener",
    "bad_no_pre.txt": "does not start with <code><pre>; no </pre></code>",
    "bad_stub.txt": "scraper stub",
    "bad_unbalanced.txt": "line 2: unclosed entity [PER",
    "bad_unknown_label.txt": "line 2: unknown label [FOO; line 2: closer '  ]' without opener",
}


def test_every_bad_input_is_rejected_for_its_reason():
    found = {}
    for path in sorted(BAD.iterdir()):
        text, why = load(path)
        if text is not None:
            errs, _, _ = check_tagged_text(text)
            why = "; ".join(errs[:2]) if errs else None
        found[path.name] = why
    assert found == BAD_REASONS


def test_sample_stays_under_one_megabyte():
    assert sum(f.stat().st_size for f in SAMPLE.rglob("*") if f.is_file()) < 1_000_000


def test_counts_in_the_readme():
    labels: collections.Counter = collections.Counter()
    per_file, longest = [], (0, "")
    for path in TAGGED_FILES:
        text = path.read_text(encoding="utf-8")
        _, plain, ents = check_tagged_text(text)
        flat = ANCHOR_RE.sub("<a>", plain)  # an HTML anchor is one token although it holds a space
        longest = max(longest, *((len(ln.split()), path.name) for ln in flat.split("\n")))
        labels.update(label for label, _, _ in ents)
        per_file.append((len(text.split("\n")) - 1, len(flat.split()), len(ents)))
    lines, tokens, entities = (sorted(x[i] for x in per_file) for i in range(3))
    files = [len(TAGGED_FILES), len(list(RAW.glob("*.txt"))), len(PAGE_FILES)]
    assert files + [len(list(BAD.iterdir()))] == [40, 40, 5, 8]
    assert (sum(lines), sum(tokens), sum(entities)) == (866, 16_674, 1067)
    assert [labels[label] for label in LABELS] == [269, 358, 285, 155]
    assert (lines[0], lines[-1], tokens[0], tokens[-1]) == (17, 28, 284, 1043)
    assert (entities[0], entities[-1]) == (15, 41)
    assert longest == (679, "08KHARTOUM1460.txt")
