"""Make the gold layer (gold/gold.jsonl): draw cables, hand them out, check them, build the layer.

The work happens in a scratch folder OUTSIDE the repository (no cable text is committed):

    python scripts/build_gold.py sample                     # the seeded draw -> gold/sample.json
    python scripts/build_gold.py init WORK 05ROME123 ...    # scratch copies to correct
    python scripts/build_gold.py init WORK --blind ID ...   # copies without the tagger's brackets
    python scripts/build_gold.py show WORK/ID.txt           # the body, one numbered line each
    python scripts/build_gold.py apply WORK/ID.txt          # write WORK/ID.fix into the copy
    python scripts/build_gold.py check WORK                 # text unchanged, spans, doubts
    python scripts/build_gold.py build WORK                 # -> gold/gold.jsonl
    python scripts/build_gold.py export WORK                # the layer back into scratch copies
    python scripts/build_gold.py agreement WORK WORK_BLIND  # two passes compared

The annotator corrects only the bracket markup (`[LABEL ` openers, `  ]` closers) of each copy,
either in place or by writing the corrected lines to `<ID>.fix` (`N: line`, N as `show` numbers
it) and running `apply`, and keeps a doubts file `<ID>.notes` (one line per doubt: `N: what was
doubtful`, `all: ...` for the whole body). Every command refuses a change of text and names the
file and line.
"""

# ruff: noqa: B008 (typer declares options in argument defaults)
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import typer
from tqdm import tqdm

from cable_ner.gold import GOLD_LABELS, GOLD_SPLITS, read_gold_records, record_split
from cable_ner.gold_build import (
    GoldWorkError,
    agreement,
    apply_fixes,
    body_lines,
    bracket,
    build_record,
    check_scratch,
    scratch_copy,
)
from cable_ner.gold_sample import CABLE_ID, catalogue, draw_sample
from cable_ner.markup import parse_markup

ROOT = Path(__file__).resolve().parents[1]
# Paths relative to the directory it runs in, the repository root (as `spacy project run` does).
CORPUS = Path("../shared/data/cables/annotated")
GOLD = Path("gold/gold.jsonl")
SAMPLE = Path("gold/sample.json")
# every draw the layer was made from: the first, and the later one that enlarged gold dev
SAMPLES = [SAMPLE, Path("gold/sample_dev.json")]
BLIND_HOW = (
    "Corrected a second time from the text without the tagger's brackets, independently of the "
    "first pass (guidelines: docs/gold-guidelines.md)"
)
app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0])

CablesDir = typer.Option(CORPUS, "--cables-dir", help="The original bracketed corpus")


def _fail(message: str) -> None:
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(1)


def _outside_repo(path: Path) -> None:
    if path.resolve().is_relative_to(ROOT.resolve()):
        _fail("keep the scratch copies outside the repository (no cable text is committed)")


def _scratch_files(work_dir: Path) -> list[Path]:
    """The <ID>.txt copies of a scratch folder, or the one copy given."""
    _outside_repo(work_dir)
    if work_dir.is_file():
        return [work_dir]
    files = sorted(p for p in work_dir.glob("*.txt") if CABLE_ID.match(p.stem))
    if not files:
        _fail(f"no corrected <ID>.txt files in {work_dir}")
    return files


@app.command()
def sample(
    n: int = typer.Option(146, help="Cables to draw (besides those already in the layer)"),
    seed: int = typer.Option(17, help="Seed of the draw"),
    upper_share: float = typer.Option(0.05, help="Share of upper-case cables in the draw"),
    test: int = typer.Option(15, help="Drawn cables for gold test (beside the layer's own)"),
    dev: int = typer.Option(14, help="Drawn cables for gold dev"),
    held_out_only: bool = typer.Option(
        False, help="Draw only cables the converter already puts in its test split, so that no "
        "silver training or dev split changes (for cables that go to gold dev or test)"
    ),
    cables_dir: Path = CablesDir,
    gold: Path = typer.Option(GOLD, help="The layer whose cables are not drawn again"),
    output: Path = typer.Option(SAMPLE, help="Where the draw is written"),
) -> None:
    """Draw cables to correct: seeded, stratified by period x classification x length tercile as
    the corpus spreads them, upper-case cables at --upper-share; each with its gold split."""
    files = sorted(cables_dir.glob("*.txt"))
    with tqdm(total=len(files), unit="cable", desc="catalogue", file=sys.stderr) as bar:
        entries, left_out = catalogue(cables_dir, progress=bar.update)
    have = [r["reference_id"] for r in read_gold_records(gold)] if gold.is_file() else []
    drawn = draw_sample(entries, n, seed, exclude=have, upper_share=upper_share,
                        split_sizes={"test": test, "dev": dev},
                        held_out_only=held_out_only)  # fmt: skip
    corpus_upper = sum(e.upper_case for e in entries) / len(entries)
    doc = {
        "command": f"python scripts/build_gold.py sample --n {n} --seed {seed} "
        f"--upper-share {upper_share} --test {test} --dev {dev}"
        + (" --held-out-only" if held_out_only else "")
        + (f" --output {output}" if output != SAMPLE else ""),
        "corpus": {"usable": len(entries), "left_out": dict(left_out),
                   "upper_case_share": round(corpus_upper, 4)},  # fmt: skip
        "excluded": have,
        "cables": drawn,
    }
    output.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    by_split = Counter(c["split"] for c in drawn)
    typer.echo(f"{output}: {len(drawn)} cables drawn from {len(entries)} usable "
               f"({dict(by_split)}; {sum(c['upper_case'] for c in drawn)} upper case)")  # fmt: skip


@app.command()
def init(
    work_dir: Path = typer.Argument(..., help="Scratch folder (outside the repository)"),
    ids: list[str] = typer.Argument(..., help="Reference ids to copy"),
    blind: bool = typer.Option(False, help="Copy without the tagger's brackets"),
    cables_dir: Path = CablesDir,
) -> None:
    """Scratch copies of corpus cables for an annotator (never overwrites a copy)."""
    _outside_repo(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    for rid in ids:
        original, target = cables_dir / f"{rid}.txt", work_dir / f"{rid}.txt"
        if not original.is_file():
            _fail(f"{original}: not found")
        if target.exists():
            typer.echo(f"{target}: exists, kept")
            continue
        target.write_text(scratch_copy(original, blind=blind), encoding="utf-8")
    typer.echo(f"{work_dir}: {len(ids)} cables")


@app.command()
def show(scratch: Path = typer.Argument(..., help="A scratch copy <ID>.txt")) -> None:
    """Print the body of a scratch copy, one numbered line (sentence) each, as fixes and notes
    number them."""
    lines, first = body_lines(scratch.read_text(encoding="utf-8"))
    typer.echo(
        f"# {scratch.stem}: body lines {first}-{len(lines) - 1}. Line {first} may begin with the "
        "header: only its text from the first paragraph mark on is the body."
    )
    for i in range(first, len(lines)):
        if lines[i].strip():
            typer.echo(f"{i}: {lines[i]}")


@app.command()
def apply(
    scratch: Path = typer.Argument(..., help="A scratch copy <ID>.txt; reads <ID>.fix beside it"),
    fixes: Path = typer.Option(None, help="The fix file (default: <ID>.fix)"),
) -> None:
    """Write corrected lines (`N: line`) into a scratch copy, refusing any change of text."""
    fixes = fixes or scratch.with_suffix(".fix")
    try:
        changed = apply_fixes(scratch, fixes)
    except (GoldWorkError, OSError) as err:
        _fail(str(err))
    typer.echo(f"{scratch}: {changed} lines changed")


@app.command()
def check(
    work_dir: Path = typer.Argument(..., help="Scratch folder of corrected <ID>.txt, or one copy"),
    cables_dir: Path = CablesDir,
) -> None:
    """Check every scratch copy: clean text unchanged, entities on whole tokens, doubts noted."""
    bad = 0
    for path in _scratch_files(work_dir):
        try:
            rec = check_scratch(path, cables_dir / path.name)
        except (GoldWorkError, OSError) as err:
            typer.secho(f"FAIL {err}", fg="red")
            bad += 1
            continue
        counts = rec["annotator_note"].split("; ")[-1]
        typer.echo(f"ok   {path.stem}: {len(rec['doubts'])} doubts; {counts}")
    if bad:
        _fail(f"{bad} scratch copies failed")


def _splits(sample_files: list[Path], gold: Path) -> dict[str, str]:
    splits = {}
    if gold.is_file():
        splits.update({r["reference_id"]: record_split(r) for r in read_gold_records(gold)})
    for sample_file in sample_files:
        if sample_file.is_file():
            for c in json.loads(sample_file.read_text(encoding="utf-8"))["cables"]:
                splits[c["reference_id"]] = c["split"]
    return splits


@app.command()
def build(
    work_dir: Path = typer.Argument(..., help="Scratch folder of corrected <ID>.txt (+ .notes)"),
    cables_dir: Path = CablesDir,
    sample_files: list[Path] = typer.Option(
        SAMPLES, "--sample", help="The draws that give each split (repeat the option for several)"
    ),
    gold: Path = typer.Option(GOLD, help="The current layer (its cables keep their split)"),
    output: Path = typer.Option(GOLD, help="The gold layer to write"),
) -> None:
    """Build the gold layer from the corrected copies; each record's split comes from the current
    layer (a record without one is test: the first 17 cables) or from the draws."""
    splits = _splits(sample_files, gold)
    records = []
    for path in tqdm(_scratch_files(work_dir), unit="cable", desc="build", file=sys.stderr):
        if path.stem not in splits:
            draws = ", ".join(map(str, sample_files))
            _fail(f"{path.stem}: neither in {gold} nor in a draw ({draws}), so it has no split")
        try:
            records.append(build_record(path, cables_dir / path.name, splits[path.stem]))
        except (GoldWorkError, OSError) as err:
            _fail(str(err))
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    for split in GOLD_SPLITS:
        part = [r for r in records if r["split"] == split]
        counts = Counter(e[2] for r in part for e in r["entities"])
        typer.echo(f"{split:5}: {len(part)} cables, {sum(counts.values())} body entities "
                   f"({', '.join(f'{k} {counts[k]}' for k in GOLD_LABELS)}), "
                   f"{sum(len(r['doubts']) for r in part)} doubts")  # fmt: skip
    typer.echo(f"wrote {output}")


@app.command()
def export(
    work_dir: Path = typer.Argument(..., help="Scratch folder to write <ID>.txt and .notes to"),
    cables_dir: Path = CablesDir,
    gold: Path = typer.Option(GOLD, help="The gold layer"),
) -> None:
    """Write the gold layer back into bracketed scratch copies (to extend or revise it); `build`
    on them gives the same records."""
    from cable_ner.gold import load_gold

    _outside_repo(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    for cable in load_gold(gold, cables_dir):
        source = cable.path.read_text(encoding="utf-8")
        out = bracket(source, cable.entities, keep_before=cable.body_start)
        if parse_markup(out).text != cable.text:
            _fail(f"{cable.reference_id}: writing the brackets changed the text")
        (work_dir / f"{cable.reference_id}.txt").write_text(out, encoding="utf-8")
        notes = []
        for d in cable.doubts:
            first, last = (cable.text.count("\n", 0, d[k]) for k in ("start", "end"))
            whole = d["start"] <= cable.body_start and d["end"] >= len(cable.text.rstrip())
            notes.append(f"{'all' if whole else first if first == last else f'{first}-{last}'}: "
                         f"{d['note']}\n")  # fmt: skip
        (work_dir / f"{cable.reference_id}.notes").write_text(
            "".join(notes) or "all: none\n", encoding="utf-8"
        )
    typer.echo(f"{work_dir}: the layer's cables as scratch copies")


@app.command(name="agreement")
def agreement_cmd(
    first_dir: Path = typer.Argument(..., help="Scratch folder of the first pass"),
    second_dir: Path = typer.Argument(..., help="Scratch folder of the blind second pass"),
    cables_dir: Path = CablesDir,
    output: Path = typer.Option(None, help="Write the figures as JSON"),
) -> None:
    """Agreement between two independent passes over the same cables (the second made without
    the tagger's brackets), per label, and how much the brackets anchored the first."""
    first, second, silver = {}, {}, {}
    for path in _scratch_files(second_dir):
        one = first_dir / path.name
        if not one.is_file():
            _fail(f"{path.stem}: {one} not found (the first pass)")
        original = cables_dir / path.name
        try:
            a = build_record(one, original, "test")
            b = build_record(path, original, "test", how=BLIND_HOW)
        except GoldWorkError as err:
            _fail(str(err))
        first[path.stem], second[path.stem] = a["entities"], b["entities"]
        orig = parse_markup(original.read_text(encoding="utf-8"))
        silver[path.stem] = [list(e) for e in orig.entities if e[0] >= a["body_start"]]
    result = agreement(first, second, silver)
    result["cables"] = sorted(first)
    if output:
        output.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    typer.echo(f"{len(first)} cables; F {result['all']['f']:.3f} "
               f"({result['all']['both']} entities in both, {result['all']['first']} first pass, "
               f"{result['all']['second']} second)")  # fmt: skip
    for lab, r in result["per_label"].items():
        typer.echo(f"  {lab:4} F {r['f']:.3f} (first {r['first']}, second {r['second']})")
    for group, r in result["anchoring"].items():
        share = "-" if r["share"] is None else f"{r['share']:.1%}"
        typer.echo(f"  first-pass entities {group}: {r['first_pass_entities']}, "
                   f"not in the second pass {r['second_pass_lacks']} ({share})")  # fmt: skip


if __name__ == "__main__":
    app()
