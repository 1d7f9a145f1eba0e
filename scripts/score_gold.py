"""Score the old tagger's labels (and optionally a trained spaCy pipeline) against the gold layer.

    python scripts/score_gold.py --cables-dir ../shared/data/cables/annotated
        [--model training/trf/model-best] [--split test|dev|train|all] [--gold gold/gold.jsonl]
        [--output FILE]

Prints P/R/F overall and per label, with a bootstrap interval over cables, for the tagger's silver
labels as they stand, the same after the project's silver filters, and the pipeline given with
--model (`nlp(text)` on each cable's clean text), on the gold test cables unless --split says
otherwise; mixed-case and upper-case cables beside each other. Only cable bodies are scored; the
numbers are spaCy's own scorer's (`cable_ner.gold_score.score_gold_layer`, which evaluate.py reports
too).
"""

# ruff: noqa: B008 (typer declares options in argument defaults)
from __future__ import annotations

import json
from pathlib import Path

import typer

from cable_ner.gold import GOLD_LABELS, GOLD_SPLITS, GoldError
from cable_ner.gold_score import score_gold_layer
from cable_ner.report import silver_vs_gold_md

app = typer.Typer(add_completion=False, rich_markup_mode="markdown")


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


def _ci(r: dict) -> str:
    ci = (r.get("ci") or {}).get("ents_f")
    return f"{100 * ci[0]:.1f}-{100 * ci[1]:.1f}" if ci else "-"


def summary(result: dict) -> str:
    """One line per system: F with its interval, on all cables and by case."""
    rows = []
    for name, r in result["systems"].items():
        cases = "; ".join(
            f"{case} F {_fmt(c['ents_f']).strip()} ({_ci(c)}, {c['n_cables']} cables)"
            for case, c in r["by_case"].items()
        )
        rows.append(f"{name:<18} F {_fmt(r['ents_f']).strip()} (95% CI {_ci(r)}); {cases}")
    return "\n".join(rows)


@app.command()
def main(
    cables_dir: Path = typer.Option(
        ...,
        exists=True,
        file_okay=False,
        help="The bracketed corpus the gold layer refers to (the shared cables/annotated folder)",
    ),
    model: Path | None = typer.Option(
        None, exists=True, help="A trained spaCy pipeline to score as well"
    ),
    split: str = typer.Option("test", help=f"Gold split to score: {', '.join(GOLD_SPLITS)}, all"),
    gold: Path | None = typer.Option(
        None, help="The gold standoff layer (default: the project's gold/gold.jsonl)"
    ),
    n_bootstrap: int = typer.Option(1000, help="Bootstrap resamples for the intervals"),
    output: Path | None = typer.Option(None, help="Write all scores as JSON here"),
) -> None:
    """Score the old tagger's labels (as they stand and after the silver filters) and, with
    --model, a trained pipeline against the hand-corrected gold layer.

    Prints P/R/F per label and overall with a 95% bootstrap interval over cables, mixed-case and
    upper-case cables apart, then what the silver labels are worth on those cables. Only cable
    bodies are scored, with spaCy's own NER scorer; the gold test split unless --split says
    otherwise.
    """
    nlp = None
    if model is not None:
        import spacy

        import cable_ner.components  # noqa: F401  (the cable_metadata component)
        import cable_ner.tokenizer  # noqa: F401  (the cable reader)

        nlp = spacy.load(model)
    try:
        result = score_gold_layer(gold, cables_dir, split, nlp, n_bootstrap)
    except GoldError as err:
        typer.secho(str(err), fg="red", err=True)
        raise typer.Exit(1) from err
    typer.echo(
        f"Gold {split}: {result['n_cables']} cables ({result['n_upper_case']} upper case), "
        f"{result['n_entities']} body entities ({result['gold']}); scores are against "
        "hand-corrected gold, bodies only.\n"
    )
    typer.echo(table(result["systems"]))
    typer.echo("\n" + summary(result))
    typer.echo("\n" + "\n".join(silver_vs_gold_md(result["silver_vs_gold"])))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        typer.echo(f"\nwrote {output}")


if __name__ == "__main__":
    app()
