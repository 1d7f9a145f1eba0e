"""Coverage of the cable header parser on the shared corpus.

    python scripts/header_coverage.py [--data-dir ../shared/data] [--show-failures 5]

Figures are presence rates of each field (silver data: no gold headers exist), plus the
agreement of the body's WikiLeaks classification with the pages' metadata table.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

from cable_ner.header import parse_header
from cable_ner.reader import CableRecord, Source, read_cable

app = typer.Typer(add_completion=False)

FIELDS = ("classification", "tags", "subject", "post", "serial", "decl", "classified_by",
          "reasons", "paragraphs")  # fmt: skip


def read(path: Path, form: str) -> CableRecord | None:
    """The project's own reader (stubs and unreadable files give None)."""
    record = read_cable(Source(str(path), path), form)
    return record if isinstance(record, CableRecord) else None


def has(h, para, name: str) -> bool:
    if name == "paragraphs":
        return bool(para)
    return bool(getattr(h, name))


def report(label: str, items: list[tuple[str, str]], show: int) -> dict[str, float]:
    counts = dict.fromkeys(FIELDS, 0)
    missing: dict[str, list[str]] = {f: [] for f in FIELDS}
    t0 = time.perf_counter()
    for name, text in items:
        h, para = parse_header(text)
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
    data_dir: Path = typer.Option(
        Path("../shared/data"), exists=True, file_okay=False,
        help="The shared data folder: cables/annotated, cables/raw and pages inside",
    ),  # fmt: skip
    show_failures: int = typer.Option(5, help="Ids listed per missing field"),
) -> None:
    """Presence rate of each header field on the tagged and raw cables, and the pages'
    classification agreement with the body's."""
    cables = data_dir / "cables"
    if not (cables / "annotated").is_dir():
        typer.secho(f"{data_dir}: no cables/annotated folder inside", fg="red", err=True)
        raise typer.Exit(1)
    tagged, raw = [], []
    for f in sorted((cables / "annotated").glob("*.txt")):
        record = read(f, "tagged") if f.name != "test.txt" else None
        if record is None:
            continue
        tagged.append((f.stem, record.text))
        twin = read(cables / "raw" / f.name, "raw") if (cables / "raw" / f.name).exists() else None
        if twin is not None:
            raw.append((f.stem, twin.text))
    rt = report("tagged (annotated, non-stub)", tagged, show_failures)
    report("raw", raw, show_failures)

    pages = sorted((data_dir / "pages").glob("*.html"))
    agree = 0
    mism = []
    for p in pages:
        record = read(p, "page")
        body_c = record.header.wikileaks_classification if record else None
        page_c = record.header.page_classification if record else None
        if record is not None and body_c == page_c:
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
