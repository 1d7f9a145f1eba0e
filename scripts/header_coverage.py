"""Coverage of the cable header parser on the shared corpus.

    python scripts/header_coverage.py [--data-dir ../shared/data] [--show-failures 5]

Figures are presence rates of each field (silver data: no gold headers exist), plus the
agreement of the body's WikiLeaks classification with the pages' metadata table.
"""

from __future__ import annotations

import html
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import typer

from cable_ner.header import find_paragraphs, parse_header

app = typer.Typer(add_completion=False)

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FIELDS = ("classification", "tags", "subject", "post", "serial", "decl", "classified_by",
          "reasons", "paragraphs")
STUB = "Appears in these articles"

_PRE = re.compile(r"<pre>(.*?)</pre>", re.S)
_TAG = re.compile(r"<[^>]*>")
_ENT = re.compile(r"\[(?:PER|LOC|ORG|MISC) ")


def stand_in_clean(raw: str) -> str:
    """Clean text without cable_ner.markup: <pre> content, unescaped, tags and brackets removed."""
    m = _PRE.search(raw)
    s = m.group(1) if m else raw
    s = _TAG.sub("", html.unescape(s))
    return _ENT.sub("", s).replace("  ]", "")


def clean_text(raw: str) -> str:
    try:
        from cable_ner.markup import parse_markup
    except ImportError:  # markup module not there yet
        return stand_in_clean(raw)
    try:
        return parse_markup(raw).text
    except Exception:  # noqa: BLE001 - fall back on odd input
        return stand_in_clean(raw)


def is_stub(raw: str) -> bool:
    return STUB in raw[:200] and len(raw) < 400


class PageReader(HTMLParser):
    """Reads the metadata table (link texts) and the <pre> blocks of a WikiLeaks page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.in_table = False
        self.cells: list[str] = []
        self.cell: list[str] | None = None
        self.in_pre = False
        self.pres: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("class") == "cable":
            self.in_table = True
        elif tag == "td" and self.in_table:
            self.cell = []
        elif tag == "pre":
            self.in_pre = True
            self.pres.append("")

    def handle_endtag(self, tag):
        if tag == "table" and self.in_table:
            self.in_table = False
        elif tag == "td" and self.cell is not None:
            self.cells.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "pre":
            self.in_pre = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)
        if self.in_pre:
            self.pres[-1] += data


def read_page(path: Path) -> tuple[dict, str]:
    p = PageReader()
    p.feed(path.read_text(encoding="utf-8", errors="replace"))
    keys = ("reference_id", "created", "released", "classification", "origin")
    meta = dict(zip(keys, p.cells[:5], strict=False))
    body = p.pres[1] if len(p.pres) > 1 else (p.pres[0] if p.pres else "")
    return meta, body


def has(h, para, name: str) -> bool:
    if name == "paragraphs":
        return bool(para)
    return bool(getattr(h, name))


def report(label: str, items: list[tuple[str, str]], show: int) -> dict[str, float]:
    counts = dict.fromkeys(FIELDS, 0)
    missing: dict[str, list[str]] = {f: [] for f in FIELDS}
    t0 = time.perf_counter()
    for name, text in items:
        h = parse_header(text)
        para = find_paragraphs(text)
        for f in FIELDS:
            if has(h, para, f):
                counts[f] += 1
            else:
                missing[f].append(name)
    dt = time.perf_counter() - t0
    n = max(len(items), 1)
    typer.echo(f"\n{label}: {len(items)} cables ({dt:.2f} s, {1000 * dt / n:.2f} ms/cable)")
    rates = {}
    for f in FIELDS:
        rates[f] = 100.0 * counts[f] / n
        line = f"  {f:15s} {rates[f]:6.2f}%  ({counts[f]}/{len(items)})"
        if show and missing[f]:
            line += "  missing e.g. " + " ".join(missing[f][:show])
        typer.echo(line)
    return rates


@app.command()
def main(
    data_dir: Path = typer.Option(DEFAULT_DATA, help="the shared data folder"),
    show_failures: int = typer.Option(5, help="ids listed per missing field"),
) -> None:
    cables = data_dir / "cables"
    tagged, raw = [], []
    for f in sorted((cables / "annotated").glob("*.txt")):
        if f.name == "test.txt":
            continue
        r = f.read_text(encoding="utf-8", errors="replace")
        if is_stub(r):
            continue
        tagged.append((f.stem, clean_text(r)))
        rf = cables / "raw" / f.name
        if rf.exists():
            raw.append((f.stem, clean_text(rf.read_text(encoding="utf-8", errors="replace"))))
    rt = report("tagged (annotated, non-stub)", tagged, show_failures)
    report("raw", raw, show_failures)

    pages = sorted((data_dir / "pages").glob("*.html"))
    agree = 0
    mism = []
    for p in pages:
        meta, body = read_page(p)
        h = parse_header(body)
        body_c = h.wikileaks_classification
        page_c = meta.get("classification")
        if body_c == page_c:
            agree += 1
        else:
            mism.append((p.stem, body_c, page_c))
    n = max(len(pages), 1)
    typer.echo(f"\npages: classification agreement {100.0 * agree / n:.2f}% ({agree}/{len(pages)})")
    for ref, b, pg in mism:
        typer.echo(f"  MISMATCH {ref}: body={b!r} page={pg!r}")
    ok = (rt["classification"] >= 98 and rt["tags"] >= 98 and rt["subject"] >= 95
          and 100.0 * agree / n >= 95)
    typer.echo("\ntargets (tagged classification/TAGS >= 98%, subject >= 95%, pages >= 95%): "
               + ("MET" if ok else "NOT MET"))


if __name__ == "__main__":
    app()
