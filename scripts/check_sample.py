#!/usr/bin/env python3
"""Check the invented sample cables in assets/sample (standard library only).

Checks
  1. every tagged file parses: entity brackets `[LABEL tok  ]` balanced, not nested, on one line,
     labels in PER/LOC/ORG/MISC; `<code><pre>` ... `</pre></code>` wrapper; lines end with " \\n";
  2. tagged text minus entity markup and all whitespace == raw text minus all whitespace;
  3. every page's body `<pre>` (read with html.parser) == the raw twin, tags and whitespace removed;
  4. every file in bad/ is rejected by the checks above (so tests can rely on each being bad);
  5. the folder stays under 1 MB.
Prints counts (cables, sentence lines, tokens, entities per label) and exits 1 on any failure.

Usage: python scripts/check_sample.py [SAMPLE_DIR]      (default: assets/sample next to scripts/)
"""

from __future__ import annotations

import collections
import html.parser
import re
import sys
from pathlib import Path

LABELS = ("PER", "LOC", "ORG", "MISC")
OPEN_RE = re.compile(r"\[([A-Z][A-Z0-9_]*) ")  # label-like opener; literal brackets are "[ "
CLOSE = "  ]"
WS = re.compile(r"\s+")
ANCHOR_RE = re.compile(r"<a [^>]*>")


def parse_tagged(text: str):
    """Scan a tagged cable. Returns (plain_text_without_markup, entities, errors);
    entities are (label, text, line_no)."""
    out: list[str] = []
    ents: list[tuple[str, str, int]] = []
    errors: list[str] = []
    open_label = None
    open_start = 0
    open_line = 0
    i = 0
    line = 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
        if ch == "[":
            m = OPEN_RE.match(text, i)
            at_token_start = i == 0 or text[i - 1] in " \n>"
            if m and at_token_start:
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
        self.titles: list[str] = []
        self._in_pre = False
        self._in_table = False
        self._in_td = False
        self._buf: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "pre":
            self._in_pre, self._buf = True, []
        elif tag == "table" and a.get("class") == "cable":
            self._in_table = True
        elif tag == "td" and self._in_table:
            self._in_td, self._buf = True, []
        elif tag == "a" and self._in_td and "title" in a:
            self.titles.append(a["title"])

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


def main(argv: list[str]) -> int:
    default = Path(__file__).resolve().parent.parent / "assets" / "sample"
    root = Path(argv[1]) if len(argv) > 1 else default
    tdir, rdir, pdir, bdir = (root / d for d in ("tagged", "raw", "pages", "bad"))
    failures: list[str] = []
    labels: collections.Counter = collections.Counter()
    n_lines = n_tokens = 0
    longest_line = (0, "")
    per_file = []

    tagged_files = sorted(tdir.glob("*.txt"))
    if not tagged_files:
        failures.append(f"no tagged cables in {tdir}")
    for tf in tagged_files:
        text, why = load(tf)
        if text is None:
            failures.append(f"{tf.name}: {why}")
            continue
        errs, plain, ents = check_tagged_text(text)
        failures += [f"tagged/{tf.name}: {e}" for e in errs]
        rf = rdir / tf.name
        if not rf.exists():
            failures.append(f"raw/{tf.name}: missing")
        else:
            raw = rf.read_text(encoding="utf-8")
            if WS.sub("", plain) != WS.sub("", raw):
                a, b = WS.sub("", plain), WS.sub("", raw)
                m = min(len(a), len(b))
                k = next((j for j in range(m) if a[j] != b[j]), m)
                failures.append(
                    f"{tf.name}: tagged != raw (markup, whitespace removed) at {k}: "
                    f"{a[k : k + 30]!r} vs {b[k : k + 30]!r}"
                )
        lines = text.split("\n")[:-1]
        flat = ANCHOR_RE.sub("<a>", plain)  # an HTML anchor is one token although it holds a space
        toks = len(flat.split())
        for ln in flat.split("\n"):
            nt = len(ln.split())
            if nt > longest_line[0]:
                longest_line = (nt, tf.name)
        n_lines += len(lines)
        n_tokens += toks
        c = collections.Counter(lab for lab, _, _ in ents)
        labels.update(c)
        per_file.append((tf.name, len(lines), toks, sum(c.values())))
    for rf in sorted(rdir.glob("*.txt")):
        if not (tdir / rf.name).exists():
            failures.append(f"raw/{rf.name}: no tagged twin")

    # pages
    pages = sorted(pdir.glob("*.html"))
    for pf in pages:
        p = PageParser()
        p.feed(pf.read_text(encoding="utf-8"))
        refid = pf.stem
        rf = rdir / f"{refid}.txt"
        if len(p.pres) != 2:
            failures.append(f"pages/{pf.name}: expected 2 <pre> blocks, found {len(p.pres)}")
        elif not rf.exists():
            failures.append(f"pages/{pf.name}: no raw twin")
        else:
            raw = rf.read_text(encoding="utf-8")
            raw_inner = re.sub(r"<[^>]+>", "", raw)  # drop <code><pre>, anchors (keep their text)
            if WS.sub("", p.pres[1]) != WS.sub("", raw_inner):
                failures.append(f"pages/{pf.name}: body differs from raw/{refid}.txt")
        if not p.cells or p.cells[0] != refid:
            failures.append(f"pages/{pf.name}: Reference ID cell {p.cells[:1]} != {refid}")

    # bad inputs must all be rejected
    bad_files = sorted(bdir.iterdir()) if bdir.exists() else []
    bad_report = []
    for bf in bad_files:
        text, why = load(bf)
        if text is not None:
            errs, _, _ = check_tagged_text(text)
            why = "; ".join(errs[:2]) if errs else None
        if why is None:
            failures.append(f"bad/{bf.name}: passes all checks but should be bad")
        bad_report.append((bf.name, why))

    size = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    if size >= 1_000_000:
        failures.append(f"sample folder is {size} bytes (limit 1 MB)")

    ents_total = sum(labels.values())
    try:
        shown = root.resolve().relative_to(Path.cwd())
    except ValueError:
        shown = root
    print(f"sample: {shown}")
    n_raw = len(list(rdir.glob("*.txt")))
    print(
        f"cables: {len(tagged_files)} tagged, {n_raw} raw, {len(pages)} pages, "
        f"{len(bad_files)} bad inputs; {size:,} bytes in all"
    )
    print(
        f"sentence lines: {n_lines}  tokens: {n_tokens:,}  entities: {ents_total}  "
        + "  ".join(f"{lab} {labels[lab]}" for lab in LABELS)
    )
    if per_file:
        lo = [min(x[i] for x in per_file) for i in (1, 2, 3)]
        hi = [max(x[i] for x in per_file) for i in (1, 2, 3)]
        n_long, f_long = longest_line
        print(
            f"per cable: lines {lo[0]}-{hi[0]}, tokens {lo[1]}-{hi[1]}, "
            f"entities {lo[2]}-{hi[2]}; longest line {n_long} tokens ({f_long})"
        )
    for name, why in bad_report:
        print(f"  bad/{name}: rejected: {why}")
    if failures:
        print(f"FAILED ({len(failures)}):")
        for f in failures:
            print("  " + f)
        return 1
    print(
        "OK: tagged == raw for every cable (markup and whitespace removed); brackets balanced; "
        "labels known; pages match raw; every bad input rejected"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
