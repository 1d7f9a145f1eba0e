"""The evaluation report: metrics.json, report.md, a self-contained report.html and PNG plots.

`write_report(metrics, output_dir, ...)` takes the JSON-ready metrics `scripts/evaluate.py`
builds (per split, the output of `cable_ner.scoring.evaluate`, plus timing, the gold-layer
comparison and the training log) and writes:

- `metrics.json`: every figure, as computed (nothing in the report is typed by hand);
- `per_label.png` (P/R/F per label with 95% bootstrap intervals), `taxonomy.png` (error
  categories per label), `slices.png` (F per slice), `training.png` (the training curve from the
  ConsoleLogger's log.jsonl) and `compare.png` (configs side by side, when there are several);
- `report.md` (tables; the PNGs beside it) and `report.html`: one file that opens offline,
  CSS inline, the PNGs as base64 data URIs, error samples as displaCy HTML with the cable's
  metadata block (`cable_ner.render.render`), no external link, script, font or CDN.

`build_reference(metrics_files)` gathers the figures of several configs for
`reports/reference.json`.

Modules: `plots` (matplotlib), `markdown` (report.md), `page` (report.html: jinja2 templates in
`templates/`, markdown-it-py), `reference` (configs side by side, the reference report),
`training_log` (the training log and throughput), `write` (all the files at once).
"""

from .markdown import markdown_report, silver_vs_gold_md
from .page import html_report, render_errors
from .plots import plot_compare, plot_per_label, plot_slices, plot_taxonomy, plot_training
from .reference import build_reference, compare_rows, config_name, reference_markdown
from .training_log import read_throughput, read_training_log, throughput_path
from .write import write_report

__all__ = [
    "build_reference",
    "compare_rows",
    "config_name",
    "html_report",
    "markdown_report",
    "plot_compare",
    "plot_per_label",
    "plot_slices",
    "plot_taxonomy",
    "plot_training",
    "read_throughput",
    "read_training_log",
    "reference_markdown",
    "render_errors",
    "silver_vs_gold_md",
    "throughput_path",
    "write_report",
]
