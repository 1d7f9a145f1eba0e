"""Writing the evaluation report: metrics.json, the PNGs, report.md and report.html."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from .markdown import markdown_report
from .page import html_report, render_errors
from .plots import plot_compare, plot_per_label, plot_slices, plot_taxonomy, plot_training
from .reference import compare_rows
from .training_log import read_training_log, training_summary


def _plots(metrics: dict, out: Path, training_log: str | Path | None) -> dict[str, Path]:
    """The main split's plots and the training curve ({caption: path}); adds
    metrics["training"] when the log has evaluations."""
    images: dict[str, Path] = {}
    main = "test" if "test" in metrics["splits"] else next(iter(metrics["splits"]))
    s = metrics["splits"][main]
    if s.get("ents_per_type"):
        images[f"P/R/F per label ({main})"] = plot_per_label(s, out / "per_label.png")
    images[f"error taxonomy ({main})"] = plot_taxonomy(s, out / "taxonomy.png")
    images[f"F per slice ({main})"] = plot_slices(s, out / "slices.png")
    if training_log is not None and Path(training_log).is_file():
        rows = read_training_log(training_log)
        if rows:
            metrics["training"] = training_summary(training_log, rows)
            images["training curve"] = plot_training(rows, out / "training.png")
    return images


def write_report(metrics: dict, output_dir: str | Path, examples: dict[str, Sequence] | None = None,
                 training_log: str | Path | None = None,
                 others: dict[str, dict] | None = None) -> dict[str, Path]:  # fmt: skip
    """Write metrics.json, the PNGs, report.md and report.html into `output_dir`.

    `examples` ({split: scored Examples}) are needed to render the error samples; `training_log`
    adds the training curve; `others` ({config: metrics}) the configs side by side.
    Returns {name: path} of what was written.
    """
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    images = _plots(metrics, out, training_log)
    compare: list[dict] = []
    if others:
        compare = compare_rows({metrics.get("config") or "this": metrics, **others})
        images["configs side by side"] = plot_compare(compare, out / "compare.png")
    errors = {
        split: render_errors(examples[split], metrics["splits"][split]["error_samples"])
        for split in metrics["splits"]
        if examples and split in examples
    }
    written: dict[str, Path] = {p.name: p for p in images.values()}
    files = {name: p.name for name, p in images.items()}
    texts = {
        "metrics.json": json.dumps(metrics, indent=2) + "\n",
        "report.md": markdown_report(metrics, files, compare),
        "report.html": html_report(metrics, images, errors, compare),
    }
    for name, text in texts.items():
        (out / name).write_text(text, encoding="utf-8")
        written[name] = out / name
    return written
