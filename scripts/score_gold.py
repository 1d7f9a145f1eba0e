"""Score the old tagger's labels (and optionally a trained spaCy pipeline) against the gold layer.

    python scripts/score_gold.py [--model training/model-best] [--gold gold/gold.jsonl]
        [--cables-dir ../shared/data/cables/annotated] [--output metrics.json]

Prints overall and per-label P/R/F for: the tagger's silver labels as they stand, the same after the
project's silver filters (cable_ner.filters, when present), and the pipeline given with --model
(`nlp(text)` on each cable's clean text). Only cable bodies are scored; the numbers are spaCy's own
(`spacy.scorer.get_ner_prf` over Examples), see cable_ner.gold.
"""

# ruff: noqa: B008 (typer declares options in argument defaults)
from __future__ import annotations

import functools
import json
from pathlib import Path

import typer

from cable_ner.gold import (
    GOLD_LABELS,
    filtered_tagger_predict,
    load_gold,
    pipeline_predict,
    score_against_gold,
    silver_vs_gold,
    tagger_predict,
)
from cable_ner.report import silver_vs_gold_md

ROOT = Path(__file__).resolve().parents[1]
app = typer.Typer(add_completion=False)


def _fmt(x) -> str:
    return "   -  " if x is None else f"{100 * x:6.1f}"


def table(results: dict[str, dict]) -> str:
    names = list(results)
    head = f"{'label':<8}" + "".join(f" | {n[:22]:^22}" for n in names)
    sub = f"{'':<8}" + "".join(f" | {'P':>6} {'R':>6} {'F':>6}  " for _ in names)
    rows = [head, sub, "-" * len(sub)]
    labels = [lab for lab in GOLD_LABELS]
    for r in results.values():
        labels += [lab for lab in (r.get("ents_per_type") or {}) if lab not in labels]
    for lab in labels:
        cells = []
        for r in results.values():
            t = (r.get("ents_per_type") or {}).get(lab)
            cells.append(" | " + (" ".join(_fmt(t[k]) for k in "prf") if t else " " * 20) + "  ")
        rows.append(f"{lab:<8}" + "".join(cells))
    rows.append("-" * len(sub))
    rows.append(
        f"{'ALL':<8}"
        + "".join(
            " | " + " ".join(_fmt(r[k]) for k in ("ents_p", "ents_r", "ents_f")) + "  "
            for r in results.values()
        )
    )
    return "\n".join(rows)


@app.command()
def main(
    model: Path | None = typer.Option(None, help="A trained spaCy pipeline to score as well"),
    gold: Path = typer.Option(ROOT / "gold" / "gold.jsonl", help="The gold standoff layer"),
    cables_dir: Path = typer.Option(
        ROOT.parent / "shared" / "data" / "cables" / "annotated",
        help="The bracketed corpus the gold layer refers to",
    ),
    output: Path | None = typer.Option(None, help="Write all scores as JSON here"),
) -> None:
    cables = load_gold(gold, cables_dir)
    results = {"tagger (silver as is)": score_against_gold(cables, tagger_predict(cables))}
    filtered = filtered_tagger_predict(cables)
    if filtered is not None:
        results["tagger + silver filters"] = score_against_gold(cables, filtered)
    predict = None
    if model is not None:
        import spacy

        predict = functools.cache(pipeline_predict(spacy.load(model)))
        results[f"model {model.name}"] = score_against_gold(cables, predict)
    against_silver = silver_vs_gold(cables, filtered or tagger_predict(cables),
                                    "tagger + silver filters" if filtered else "tagger as is",
                                    predict)  # fmt: skip
    n = sum(len(c.entities) for c in cables)
    typer.echo(
        f"Gold: {len(cables)} cables, {n} body entities ({gold}); scores are against "
        "hand-corrected gold, bodies only.\n"
    )
    typer.echo(table(results))
    typer.echo("\n" + "\n".join(silver_vs_gold_md(against_silver)))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(
            json.dumps(
                {
                    "gold": str(gold),
                    "n_cables": len(cables),
                    "n_entities": n,
                    "systems": results,
                    "silver_vs_gold": against_silver,
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        typer.echo(f"\nwrote {output}")


if __name__ == "__main__":
    app()
