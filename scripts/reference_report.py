"""Build reports/reference.json and reports/reference.md from the configs' evaluation metrics.

    python scripts/reference_report.py training/trf/eval/metrics.json \
        training/cnn/eval/metrics.json [--output reports]

Every figure comes from the metrics.json files `scripts/evaluate.py` wrote (per config: dev and
test P/R/F overall and per label with their intervals, words/s, wall time, the gold-layer scores
and the command that made them); nothing is typed by hand. See cable_ner.report.build_reference.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from wasabi import msg

from cable_ner.report import build_reference, reference_markdown

app = typer.Typer(add_completion=False)


@app.command()
def main(
    metrics: list[Path] = typer.Argument(
        ..., exists=True, dir_okay=False, help="metrics.json files, one per config"
    ),  # fmt: skip
    output: Path = typer.Option(Path("reports"), help="Folder for reference.json/.md"),
    default: str = typer.Option(None, help="The project's default pipeline, one of the configs"),
) -> None:
    """Gather the configs' metrics into OUTPUT/reference.json and OUTPUT/reference.md."""
    try:
        reference = build_reference(metrics, default)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--default") from None
    output.mkdir(parents=True, exist_ok=True)
    (output / "reference.json").write_text(json.dumps(reference, indent=2) + "\n", "utf-8")
    (output / "reference.md").write_text(reference_markdown(reference), "utf-8")
    for name, entry in reference["configs"].items():
        f = (entry.get("test") or {}).get("ents_f")
        msg.info(f"{name}: test F {'-' if f is None else f'{100 * f:.1f}'}")
    msg.good(f"wrote {output / 'reference.json'} and {output / 'reference.md'}")


if __name__ == "__main__":
    app()
