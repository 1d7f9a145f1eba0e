"""Build the gold standoff layer (gold/gold.jsonl) from hand-corrected bracketed cables.

The annotator copies corpus cables to a scratch folder OUTSIDE the repository and corrects only the
bracket markup there (`[LABEL ` openers and `  ]` closers), keeping a doubts file `<ID>.notes`
beside each cable (one line per doubt: `<sentence line>: <what was doubtful>`, `all: ...` for
the whole body).
This script parses each corrected file and its corpus original with `cable_ner.markup.parse_markup`,
refuses any cable whose clean text changed, and writes one JSON line per cable: reference id,
sha256 of the clean text, body start (the header parser's `header_end`), the body entities as
character offsets, and the doubts. No cable text is written.

    python scripts/build_gold.py /work/gold_work --cables-dir ../shared/data/cables/annotated
"""

# ruff: noqa: B008 (typer declares options in argument defaults)
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import typer

from cable_ner.gold import GOLD_LABELS, text_sha256
from cable_ner.header import parse_header
from cable_ner.markup import parse_markup

ROOT = Path(__file__).resolve().parents[1]
app = typer.Typer(add_completion=False)
_ID = re.compile(r"^\d{2}[A-Z]+\d+$")
_NOTE = re.compile(r"^\s*(?:(\d+)(?:\s*-\s*(\d+))?|(all))\b[^:]*:\s*(.+)$")


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for piece in text.split("\n"):
        spans.append((pos, pos + len(piece)))
        pos += len(piece) + 1
    return spans


def _doubts(notes: Path, text: str, body_start: int) -> list[dict]:
    """Doubt lines `N: note`, `N-M: note`, `N,M and passim: note`, `all: note` -> body char spans.

    N is the 0-based line (sentence) of the bracketed file, the same line of the clean text.
    """
    if not notes.is_file():
        return []
    lines = _line_spans(text)
    out = []
    for raw in notes.read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        m = _NOTE.match(raw)
        if not m or m.group(3):
            start, end = body_start, len(text.rstrip())
            note = m.group(4) if m else raw.strip()
        else:
            first = min(int(m.group(1)), len(lines) - 1)
            last = min(int(m.group(2) or first), len(lines) - 1)
            start, end = max(lines[first][0], body_start), max(lines[last][1], body_start)
            note = m.group(4)
        out.append({"start": start, "end": end, "note": note.strip()})
    return out


def _on_token_boundaries(text: str, start: int, end: int) -> bool:
    return (start == 0 or text[start - 1].isspace()) and (end == len(text) or text[end].isspace())


def build_record(corrected: Path, original: Path) -> dict:
    rid = corrected.stem
    gold = parse_markup(corrected.read_text(encoding="utf-8"))
    orig = parse_markup(original.read_text(encoding="utf-8"))
    if gold.text != orig.text:
        at = next(
            (i for i, (a, b) in enumerate(zip(gold.text, orig.text, strict=False)) if a != b),
            min(len(gold.text), len(orig.text)),
        )
        raise typer.BadParameter(
            f"{rid}: the corrected clean text differs from {original} at offset {at}: "
            f"{gold.text[max(0, at - 30) : at + 30]!r} vs {orig.text[max(0, at - 30) : at + 30]!r}"
        )
    text = gold.text
    header = parse_header(text)
    body_start = header.header_end
    ents = sorted((s, e, lab) for s, e, lab in gold.entities if s >= body_start)
    for s, e, lab in ents:
        if lab not in GOLD_LABELS or not _on_token_boundaries(text, s, e):
            raise typer.BadParameter(
                f"{rid}: entity {(s, e, lab)} {text[s:e]!r} is not on token "
                "boundaries or has an unknown label"
            )
    letters = [c for c in text[body_start:] if c.isalpha()]
    upper = sum(c.isupper() for c in letters) > 0.97 * max(len(letters), 1)
    silver_body = [x for x in orig.entities if x[0] >= body_start]
    return {
        "reference_id": rid,
        "text_sha256": text_sha256(text),
        "body_start": body_start,
        "entities": [[s, e, lab] for s, e, lab in ents],
        "doubts": _doubts(corrected.with_suffix(".notes"), text, body_start),
        "annotator_note": (
            f"Hand-corrected from the tagger's silver brackets by reading every body sentence "
            f"(guidelines: docs/gold-guidelines.md); silver body entities {len(silver_body)}, "
            f"gold body entities {len(ents)}."
        ),
        "classification": header.classification,
        "sbu": header.wikileaks_classification == "UNCLASSIFIED//FOR OFFICIAL USE ONLY",
        "post": header.post,
        "year": rid[:2],
        "upper_case": upper,
    }


@app.command()
def main(
    work_dir: Path = typer.Argument(
        ..., help="Scratch folder of corrected <ID>.txt (+ <ID>.notes)"
    ),
    cables_dir: Path = typer.Option(
        ROOT.parent / "shared" / "data" / "cables" / "annotated",
        help="The original bracketed corpus",
    ),
    output: Path = typer.Option(ROOT / "gold" / "gold.jsonl", help="The gold layer to write"),
) -> None:
    if work_dir.resolve().is_relative_to(ROOT.resolve()):
        raise typer.BadParameter(
            "keep the corrected cables outside the repository (no cable text is committed)"
        )
    files = sorted(p for p in work_dir.glob("*.txt") if _ID.match(p.stem))
    if not files:
        raise typer.BadParameter(f"no corrected <ID>.txt files in {work_dir}")
    records = [build_record(p, cables_dir / p.name) for p in files]
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    counts = Counter(e[2] for r in records for e in r["entities"])
    typer.echo(
        f"{output}: {len(records)} cables, {sum(counts.values())} body entities "
        f"({', '.join(f'{k} {counts[k]}' for k in GOLD_LABELS)}), "
        f"{sum(len(r['doubts']) for r in records)} doubts"
    )


if __name__ == "__main__":
    app()
