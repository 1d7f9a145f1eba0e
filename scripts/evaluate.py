"""Evaluate a pipeline on the test (and dev) cables and write the report.

    python scripts/evaluate.py training/trf/model-best training/trf/eval --test corpus/test.spacy \
        [--dev corpus/dev.spacy] [--reference-dir DIR] [--gold gold/gold.jsonl \
        --gold-cables-dir ../shared/data/cables/annotated] [--log training/trf/log.jsonl] \
        [--compare-dir training] [--n-bootstrap 1000] [--limit N]

Writes OUTPUT_DIR/metrics.json, report.md, report.html (self-contained) and PNG plots
(cable_ner.report) and prints a summary. Figures are spaCy's NER scorer's, per cable
(cable_ner.scoring). `--reference-dir` scores against a folder in the tagged format instead of
--test (a hand-corrected set, converted in memory). With the gold layer's cables found, the model
and the old tagger's own labels are scored against it side by side.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import typer
from tqdm import tqdm
from wasabi import msg

from cable_ner import report, scoring
from cable_ner.gold import GOLD_SPLITS, GoldError
from cable_ner.gold_score import score_gold_layer

app = typer.Typer(add_completion=False, rich_markup_mode="markdown")


def score_split(nlp, examples, n_bootstrap: int, desc: str) -> tuple[dict, list]:
    with tqdm(total=len(examples), desc=desc, unit="doc", leave=False) as bar:
        start = time.perf_counter()
        scored = list(scoring.predict(nlp, examples, progress=bar.update))
        wall = time.perf_counter() - start
    result, _ = scoring.evaluate(scored, n_bootstrap=n_bootstrap)
    result["wall_time_s"] = wall
    result["words_per_second"] = result["n_tokens"] / wall if wall > 0 else None
    return result, scored


def score_gold(
    nlp, gold: Path | None, cables_dir: Path | None, split: str, n_bootstrap: int
) -> dict:
    """The gold scores (`gold_score.score_gold_layer`), or {"skipped": why} without them."""
    if cables_dir is None:
        return {"skipped": "no --gold-cables-dir given"}
    try:
        return score_gold_layer(gold, cables_dir, split, nlp, n_bootstrap)
    except GoldError as err:
        return {"skipped": str(err)}


@app.command()
def main(
    model: Path = typer.Argument(..., exists=True, help="The pipeline to evaluate"),
    output_dir: Path = typer.Argument(..., help="Folder for metrics.json, report.md/.html, PNGs"),
    test: Path | None = typer.Option(None, exists=True, help="Test DocBin(s) (.spacy or folder)"),
    dev: Path | None = typer.Option(None, exists=True, help="Dev DocBin(s), scored as well"),
    reference_dir: str = typer.Option(
        "", help="Score against this tagged-format folder instead of --test ('' = use --test)"
    ),
    filters: str = typer.Option("none", help="Silver filters for --reference-dir (none|FILE)"),
    gold: Path | None = typer.Option(
        None, help="The gold standoff layer (default: the project's gold/gold.jsonl)"
    ),
    gold_cables_dir: Path | None = typer.Option(None, help="The corpus the gold layer refers to"),
    gold_split: str = typer.Option(
        "test", help=f"The gold split to score ({', '.join(GOLD_SPLITS)}, all)"
    ),
    log: Path | None = typer.Option(None, help="The training log (ConsoleLogger log.jsonl)"),
    compare_dir: Path | None = typer.Option(None, help="Put DIR/*/eval/metrics.json beside"),
    name: str | None = typer.Option(None, help="Config name (default: from training/<name>/)"),
    n_bootstrap: int = typer.Option(1000, help="Bootstrap resamples for the intervals"),
    limit: int = typer.Option(0, help="Score only the first N cables of each split (0: all)"),
) -> None:
    """Score MODEL on the test (and dev) cables and write the report to OUTPUT_DIR.

    Writes metrics.json, report.md, a self-contained report.html and PNG plots, and prints a
    summary. The figures are spaCy's NER scorer's, recomputed per cable with 95% bootstrap
    intervals. --reference-dir scores against a folder in the tagged format instead of --test.
    With --gold-cables-dir, the model and the old tagger's own labels are also scored against the
    hand-corrected gold layer (its --gold-split).
    """
    import spacy

    import cable_ner.components  # noqa: F401  (the cable_metadata component)
    import cable_ner.tokenizer  # noqa: F401  (the cable reader)

    if not reference_dir and test is None:
        raise typer.BadParameter("give --test or --reference-dir")
    if gold_split not in (*GOLD_SPLITS, "all"):
        raise typer.BadParameter(
            f"--gold-split {gold_split!r}: one of {', '.join(GOLD_SPLITS)}, all"
        )
    if reference_dir and not Path(reference_dir).exists():
        raise typer.BadParameter(f"--reference-dir {reference_dir} does not exist")
    nlp = spacy.load(model)
    splits, examples, notes = {}, {}, []
    if reference_dir:  # replaces --test
        refs, skipped = scoring.tagged_examples(nlp, [reference_dir], filters, limit)
        if skipped:
            why = "; ".join(f"{s['file']}: {s['reason']}" for s in skipped[:5])
            notes.append(f"{len(skipped)} files of {reference_dir} not read: {why}")
        sources = {"test": (reference_dir, refs)}
    else:
        sources = {"test": (test, scoring.reference_examples(nlp, test, limit))}
    if dev is not None:
        sources["dev"] = (dev, scoring.reference_examples(nlp, dev, limit))
    for split, (path, refs) in sources.items():
        splits[split], examples[split] = score_split(nlp, refs, n_bootstrap, split)
        splits[split]["reference"] = str(path)
    gold_result = score_gold(nlp, gold, gold_cables_dir, gold_split, n_bootstrap)
    if "skipped" in gold_result:
        notes.append(f"Gold layer not scored: {gold_result['skipped']}")
        msg.warn(notes[-1])
    metrics = {
        "model": str(model), "config": name or report.config_name({}, model),
        "pipeline": nlp.pipe_names, "meta": {k: nlp.meta.get(k) for k in ("name", "version")},
        "provenance": nlp.meta.get("cable_ner"),
        "command": shlex.join(["python", *sys.argv]),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "splits": splits, "gold": gold_result, "notes": notes,
    }  # fmt: skip
    others = other_configs(compare_dir, output_dir) if compare_dir is not None else {}
    written = report.write_report(metrics, output_dir, examples, log, others)
    print_summary(splits, gold_result, gold_split)
    msg.good(f"wrote {', '.join(sorted(written))} to {output_dir}")


def other_configs(compare_dir: Path, output_dir: Path) -> dict[str, dict]:
    """{config: metrics} of the other configs' DIR/*/eval/metrics.json, to put beside."""
    others = {}
    for file in sorted(compare_dir.glob("*/eval/metrics.json")):
        if file.resolve() != (output_dir / "metrics.json").resolve():
            other = json.loads(file.read_text(encoding="utf-8"))
            others[report.config_name(other, file)] = other
    return others


def print_summary(splits: dict, gold_result: dict, gold_split: str) -> None:
    """P/R/F with the F interval per split and per gold-scored system, as a table."""
    rows = [(split, s["n_docs"], s["n_gold"], *(f"{100 * (s[k] or 0):.1f}"
             for k in ("ents_p", "ents_r", "ents_f")), scoring_ci(s))
            for split, s in splits.items()]  # fmt: skip
    for system, s in (gold_result.get("systems") or {}).items():
        rows.append((f"gold {gold_split}: {system}", s["n_cables"], s["n_gold"],
                     *(f"{100 * (s[k] or 0):.1f}" for k in ("ents_p", "ents_r", "ents_f")),
                     scoring_ci(s)))  # fmt: skip
    msg.table(rows, header=("", "cables", "gold ents", "P", "R", "F", "F 95% CI"), divider=True)


def scoring_ci(s: dict) -> str:
    ci = (s.get("ci") or {}).get("ents_f")
    return f"{100 * ci[0]:.1f}-{100 * ci[1]:.1f}" if ci else ""


if __name__ == "__main__":
    app()
