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
  metadata block (`cable_ner.pipeline.render`), no external link, script, font or CDN.

`build_reference(metrics_files)` gathers the figures of several configs for
`reports/reference.json`.
"""

from __future__ import annotations

import base64
import html
import json
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

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
    "read_training_log",
    "reference_markdown",
    "render_errors",
    "silver_vs_gold_md",
    "write_report",
]

COLORS = {"PER": "#aa9cfc", "LOC": "#ff9561", "ORG": "#7aecec", "MISC": "#e4e7d2"}
CATEGORY_COLORS = {
    "correct": "#4c9a2a", "wrong_label": "#f2b134", "wrong_boundary": "#6fa8dc",
    "wrong_label_boundary": "#c27ba0", "missed": "#cc4125", "spurious": "#999999",
}  # fmt: skip
SLICE_TITLES = {
    "classification": "Classification", "post": "Post", "year": "Year",
    "portion": "Portion marking of the entity's paragraph", "case": "Case",
}  # fmt: skip
MAX_SLICE_BARS = 15


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: Path) -> Path:
    """Lay out, write as PNG and close a figure."""
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _ci(ci) -> str:
    return "" if not ci else f"{100 * ci[0]:.1f}–{100 * ci[1]:.1f}"


def _labels(split: dict) -> list[str]:
    return sorted(split.get("ents_per_type") or {})


# --------------------------------------------------------------------------- plots


def plot_per_label(split: dict, path: Path, title: str = "") -> Path:
    """Grouped bars of P, R and F per label and overall, with the bootstrap intervals."""
    plt = _plt()
    labels = [*_labels(split), "ALL"]
    ci = split.get("ci") or {}
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    width = 0.26
    for k, (key, name, color) in enumerate(
        (("p", "precision", "#6fa8dc"), ("r", "recall", "#f2b134"), ("f", "F", "#4c9a2a"))
    ):
        values, lows, highs = [], [], []
        for lab in labels:
            if lab == "ALL":
                v, interval = split.get(f"ents_{key}"), ci.get(f"ents_{key}")
            else:
                v = split["ents_per_type"][lab][key]
                interval = (ci.get("per_type") or {}).get(lab, {}).get(key)
            v = v or 0.0
            values.append(100 * v)
            lo, hi = interval if interval else (v, v)
            lows.append(100 * max(v - lo, 0))
            highs.append(100 * max(hi - v, 0))
        xs = [i + (k - 1) * width for i in range(len(labels))]
        ax.bar(xs, values, width, label=name, color=color, yerr=[lows, highs], capsize=3)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylim(0, 105)
    ax.set_ylabel("%")
    level = int(round(100 * ci.get("level", 0.95)))
    ax.set_title(title or f"P/R/F per label, {level}% bootstrap intervals over cables")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(plt, fig, path)


def plot_taxonomy(split: dict, path: Path) -> Path:
    """Stacked horizontal bars of the error categories per label."""
    from .scoring import CATEGORIES

    plt = _plt()
    table = split["taxonomy"]
    labels = list(table)
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(labels) + 1.5), dpi=100)
    left = [0] * len(labels)
    for cat in CATEGORIES:
        values = [table[lab][cat] for lab in labels]
        ax.barh(labels, values, left=left, color=CATEGORY_COLORS[cat], label=cat.replace("_", " "))
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.invert_yaxis()
    ax.set_xlabel("entities (gold outcomes + spurious predictions)")
    ax.set_title("Error taxonomy per label")
    ax.legend(fontsize=7, ncol=3, loc="lower center", bbox_to_anchor=(0.5, 1.08), frameon=False)
    return _save(plt, fig, path)


def plot_slices(split: dict, path: Path) -> Path:
    """F per value of each slice (the largest by gold count), with gold counts on the bars."""
    plt = _plt()
    names = list(split["slices"])
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 2.2 * len(names) + 0.5), dpi=100)
    for ax, name in zip(axes if len(names) > 1 else [axes], names, strict=True):
        items = list(split["slices"][name].items())[: 40 if name == "year" else MAX_SLICE_BARS]
        keys = [str(k) for k, _ in items]
        values = [100 * v["f"] for _, v in items]
        bars = ax.bar(range(len(keys)), values, color="#4c9a2a")
        for bar, (_, v) in zip(bars, items, strict=True):
            ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height() + 1, str(v["n_gold"]),
                    ha="center", va="bottom", fontsize=7)  # fmt: skip
        ax.set_xticks(range(len(keys)), keys, rotation=30 if len(keys) > 5 else 0,
                      ha="right" if len(keys) > 5 else "center", fontsize=7)  # fmt: skip
        ax.set_ylim(0, 110)
        ax.set_ylabel("F %")
        more = len(split["slices"][name]) - len(items)
        ax.set_title(SLICE_TITLES.get(name, name) + (f" ({more} more in the tables)" if more > 0
                     else "") + "; numbers: gold entities", fontsize=9)  # fmt: skip
    return _save(plt, fig, path)


def read_training_log(path: str | Path) -> list[dict]:
    """The lines of a `spacy.ConsoleLogger.v3` output_file: one JSON object per evaluation,
    {"epoch", "step", "losses": {pipe: loss}, "scores": {col: score, in % except speed},
    "score": weighted score in 0-1}."""
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


def plot_training(rows: Sequence[dict], path: Path, title: str = "Training curve") -> Path:
    """Scores (%) and losses per step from the training log."""
    plt = _plt()
    steps = [r["step"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 5), dpi=100, sharex=True)
    cols = [c for c in (rows[0].get("scores") or {}) if c != "speed"] if rows else []
    for col in cols:
        ax1.plot(steps, [r["scores"].get(col, 0.0) for r in rows], marker=".", label=col)
    ax1.plot(steps, [100 * r["score"] for r in rows], "k--", label="score (weighted)")
    ax1.set_ylabel("dev %")
    ax1.legend(fontsize=7)
    ax1.grid(alpha=0.3)
    ax1.set_title(title)
    pipes = list(rows[0].get("losses") or {}) if rows else []
    for pipe in pipes:
        ax2.plot(steps, [r["losses"].get(pipe, 0.0) for r in rows], marker=".", label=pipe)
    ax2.set_ylabel("loss")
    ax2.set_xlabel("step")
    if pipes:
        ax2.legend(fontsize=7)
    ax2.grid(alpha=0.3)
    return _save(plt, fig, path)


def plot_compare(rows: Sequence[dict], path: Path) -> Path:
    """Test F overall and per label, one group of bars per config."""
    plt = _plt()
    labels = sorted({lab for r in rows for lab in r["per_type_f"]}) + ["ALL"]
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    width = 0.8 / max(len(rows), 1)
    for k, row in enumerate(rows):
        values = [100 * ((row["f"] if lab == "ALL" else row["per_type_f"].get(lab)) or 0.0)
                  for lab in labels]  # fmt: skip
        xs = [i - 0.4 + width * (k + 0.5) for i in range(len(labels))]
        ax.bar(xs, values, width, label=row["config"])
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylim(0, 105)
    ax.set_ylabel("test F %")
    ax.set_title("Configs side by side (test split)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(plt, fig, path)


# --------------------------------------------------------------------------- error samples


def _window_doc(doc, start_char: int, end_char: int, cable_data: dict | None, width: int):
    """The tokens of `doc` within `width` characters of [start_char, end_char), as a new Doc
    with the cable's metadata (paragraphs clipped and shifted to the window)."""
    a = max(0, start_char - width)
    b = min(len(doc.text), end_char + width)
    span = doc.char_span(a, b, alignment_mode="expand")
    window = span.as_doc()
    if cable_data is not None:
        data = json.loads(json.dumps(cable_data))
        off = span.start_char
        data["paragraphs"] = [
            {**p, "start": max(p["start"], off) - off, "end": min(p["end"], span.end_char) - off}
            for p in data.get("paragraphs", [])
            if p["start"] < span.end_char and p["end"] > off
        ]
        data.get("header", {})["header_end"] = 0
        window.user_data["cable"] = data
    return window


def render_errors(examples: Sequence, samples: Sequence[dict], width: int = 100) -> list[str]:
    """HTML for each error sample: the model's entities around the error with the cable's
    metadata (`cable_ner.pipeline.render`), then the reference's entities there (displaCy)."""
    from spacy import displacy

    from .render import render

    options = {"colors": COLORS}
    out = []
    for s in samples:
        eg = examples[s["cable"]]
        ents = [e for e in (s["gold"], s["pred"]) if e]
        start = min(e["start_char"] for e in ents)
        end = max(e["end_char"] for e in ents)
        cable_data = eg.reference.user_data.get("cable")
        pred = _window_doc(eg.predicted, start, end, cable_data, width)
        gold = _window_doc(eg.reference, start, end, None, width)
        gold.user_data.clear()

        def describe(e, what):
            if not e:
                return f"{what}: none"
            where = f", paragraph {e['paragraph']}" if e.get("paragraph") is not None else ""
            portion = f" ({e['portion']})" if e.get("portion") else ""
            return f"{what}: {e['label']} “{e['text']}”{where}{portion}"

        caption = (
            f"<p class='error-kind'><b>{html.escape(s['kind'].replace('_', ' '))}</b> in "
            f"{html.escape(str(s['reference_id'] or s['cable']))}: "
            f"{html.escape(describe(s['gold'], 'reference'))}; "
            f"{html.escape(describe(s['pred'], 'model'))}</p>"
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"\[W006\]")
            gold_html = displacy.render(gold, style="ent", page=False, jupyter=False,
                                        options=options)  # fmt: skip
        out.append(
            "<div class='error'>"
            + caption
            + "<div class='which'>model</div>"
            + render(pred, page=False, options=options)
            + "<div class='which'>reference</div>"
            + gold_html
            + "</div>"
        )
    return out


# --------------------------------------------------------------------------- configs side by side


def config_name(metrics: dict, path: str | Path | None = None) -> str:
    """The config a metrics file belongs to: its "config" field, else training/<config>/..."""
    if metrics.get("config"):
        return str(metrics["config"])
    if path is not None:
        parts = Path(path).resolve().parts
        if "training" in parts and parts.index("training") + 1 < len(parts):
            return parts[parts.index("training") + 1]
        return Path(path).parent.name
    return "model"


def compare_rows(metrics_by_name: dict[str, dict]) -> list[dict]:
    """One row per config: gold test P/R/F with its interval, per label and by case (what the
    project is judged by), then silver test and dev F (a diagnostic), words/s."""
    rows = []
    for name, m in metrics_by_name.items():
        test = m["splits"].get("test") or {}
        dev = m["splits"].get("dev") or {}
        gold = m.get("gold") or {}
        model = (gold.get("systems") or {}).get("model") or {}
        by_case = model.get("by_case") or {}
        rows.append({
            "config": name,
            "gold_split": gold.get("split", "test"), "gold_cables": model.get("n_cables"),
            "gold_p": model.get("ents_p"), "gold_r": model.get("ents_r"),
            "gold_f": model.get("ents_f"), "gold_f_ci": (model.get("ci") or {}).get("ents_f"),
            "gold_per_type_f": {k: v["f"] for k, v in (model.get("ents_per_type") or {}).items()},
            "gold_case_f": {case: c.get("ents_f") for case, c in by_case.items()},
            "p": test.get("ents_p"), "r": test.get("ents_r"),
            "f": test.get("ents_f"), "f_ci": (test.get("ci") or {}).get("ents_f"),
            "dev_f": dev.get("ents_f"),
            "per_type_f": {k: v["f"] for k, v in (test.get("ents_per_type") or {}).items()},
            "words_per_second": test.get("words_per_second"),
            "train_wps": (m.get("training") or {}).get("train_words_per_second"),
            "train_peak_mb": (m.get("training") or {}).get("train_peak_rss_mb"),
        })  # fmt: skip
    return rows


def _compare_md(rows: Sequence[dict]) -> list[str]:
    labels = sorted({lab for r in rows for lab in r["gold_per_type_f"]})
    head = ["config", "gold P", "gold R", "gold F (95% CI)", *(f"gold {x} F" for x in labels),
            "gold mixed-case F", "gold upper-case F", "silver test F (95% CI)", "silver dev F",
            "words/s", "train words/s", "train peak MB"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for r in rows:
        cells = [
            r["config"], _pct(r["gold_p"]), _pct(r["gold_r"]),
            f"**{_pct(r['gold_f'])}** ({_ci(r['gold_f_ci'])})",
            *(_pct(r["gold_per_type_f"].get(x)) for x in labels),
            _pct(r["gold_case_f"].get("mixed case")), _pct(r["gold_case_f"].get("upper case")),
            f"{_pct(r['f'])} ({_ci(r['f_ci'])})", _pct(r["dev_f"]),
            f"{r['words_per_second']:,.0f}" if r["words_per_second"] else "–",
            f"{r['train_wps']:,.0f}" if r.get("train_wps") else "–",
            f"{r['train_peak_mb']:,}" if r.get("train_wps") else "–",
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def throughput_path(training_log: str | Path) -> Path:
    """Where cable_ner.ThroughputLogger.v1 writes, next to the console logger's file."""
    return Path(f"{training_log}.throughput.jsonl")


def read_throughput(training_log: str | Path) -> dict:
    """Training words/s, seconds and peak RSS from the file cable_ner.ThroughputLogger.v1 writes
    next to the log (`<log>.throughput.jsonl`); {} when there is none.

    Words/s is taken from the first evaluation (step 0) to the last: spaCy's clock starts before
    it reads the training corpus into memory, which the step-0 row absorbs. Evaluations in between
    are included."""
    path = throughput_path(training_log)
    if not path.is_file():
        return {}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    if not rows:
        return {}
    first, last = rows[0], rows[-1]
    seconds = last["seconds"] - first["seconds"]
    wps = (last["words"] - first["words"]) / seconds if seconds > 0 else None
    return {"train_words": last["words"], "train_seconds": last["seconds"],
            "train_words_per_second": round(wps, 1) if wps else None,
            "train_peak_rss_mb": max(r["peak_rss_mb"] for r in rows)}  # fmt: skip


def build_reference(metrics_files: Iterable[str | Path]) -> dict:
    """`reports/reference.json`: per config, what its metrics.json says (never typed by hand):
    dev and test ents_p/ents_r/ents_f and ents_per_type with their intervals, words/s and wall
    time of the evaluation, the gold-layer scores when they were computed, and the command."""
    out: dict[str, Any] = {"configs": {}}
    for file in metrics_files:
        m = json.loads(Path(file).read_text(encoding="utf-8"))
        entry: dict[str, Any] = {"metrics": str(file), "model": m.get("model")}
        entry.update(command=m.get("command"), created=m.get("created"))
        for split, s in (m.get("splits") or {}).items():
            entry[split] = {
                k: s.get(k) for k in ("ents_p", "ents_r", "ents_f", "ents_per_type",
                                      "n_docs", "n_gold", "words_per_second", "wall_time_s")
            }  # fmt: skip
            entry[split]["ci"] = s.get("ci")
            entry[split]["reference"] = s.get("reference")
        gold = m.get("gold") or {}
        if gold.get("systems"):
            entry["gold"] = {k: gold.get(k) for k in ("split", "n_cables", "n_entities",
                                                      "n_upper_case")}  # fmt: skip
            entry["gold"].update({
                name: {k: v.get(k) for k in ("ents_p", "ents_r", "ents_f", "ents_per_type", "ci",
                                             "n_cables", "n_gold")}
                | {"by_case": {case: {k: c.get(k) for k in ("ents_f", "ci", "n_cables", "n_gold")}
                               for case, c in (v.get("by_case") or {}).items()}}
                for name, v in gold["systems"].items()
            })  # fmt: skip
        if m.get("training"):
            entry["training"] = {k: v for k, v in m["training"].items() if k != "rows"}
        entry["training_provenance"] = m.get("provenance")
        name = config_name(m, file)
        if name in out["configs"]:  # two runs of one config: keep both, named by their file
            name = f"{name} ({file})"
        out["configs"][name] = entry
    return out


def reference_markdown(reference: dict) -> str:
    """reports/reference.md: the configs side by side, from reference.json."""
    by_name = {
        name: {"splits": {k: e[k] for k in ("dev", "test") if k in e},
               "gold": {**(e.get("gold") or {}),
                        "systems": {k: v for k, v in (e.get("gold") or {}).items()
                                    if isinstance(v, dict)}},
               "training": e.get("training") or {}}
        for name, e in reference["configs"].items()
    }  # fmt: skip
    lines = ["# Reference figures", "",
             "Built by `scripts/reference_report.py` from each config's `eval/metrics.json` "
             "(`spacy project run evaluate`); nothing here is typed by hand.", ""]  # fmt: skip
    golds = [e["gold"] for e in reference["configs"].values() if e.get("gold")]
    if golds:
        g = golds[0]
        lines += [f"Gold: the hand-corrected gold {g.get('split', 'test')} split, "
                  f"{g.get('n_cables')} cables ({g.get('n_upper_case')} upper case), "
                  f"{g.get('n_entities'):,} entities, 95% bootstrap intervals over cables "
                  "(`gold/README.md`). Silver: the tagger's labels on the silver test split, a "
                  "diagnostic.", ""]  # fmt: skip
    lines += _compare_md(compare_rows(by_name))
    lines.append("")
    for name, e in reference["configs"].items():
        lines.append(f"- **{name}**: evaluated with `{e.get('command') or ''}` "
                     f"({e.get('created') or ''})")  # fmt: skip
        train_command = (e.get("training_provenance") or {}).get("command")
        if train_command:
            t = e.get("training") or {}
            lines.append(f"  trained with `{train_command}`" + _throughput_md(t))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- markdown


def _split_md(name: str, s: dict) -> list[str]:
    from .scoring import CATEGORIES

    ci = s.get("ci") or {}
    lines = [f"## {name}: {s['n_docs']} cables, {s['n_gold']} reference entities", ""]
    if s.get("reference"):
        lines += [f"Reference: `{s['reference']}`. " + (
            f"{s['words_per_second']:,.0f} words/s, {s['wall_time_s']:.1f} s wall time."
            if s.get("words_per_second") else ""), ""]  # fmt: skip
    lines += [
        f"95% intervals: percentile bootstrap over cables, {ci.get('n', 0)} resamples, "
        f"seed {ci.get('seed', 0)}. Predictions on header tokens (missing annotation) are not "
        f"scored: {s.get('n_ignored', 0)} of them.",
        "",
        "| label | P | R | F | F 95% CI | tp | fp | fn |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for lab in _labels(s):
        t, c = s["ents_per_type"][lab], s["counts"][lab]
        lines.append(
            f"| {lab} | {_pct(t['p'])} | {_pct(t['r'])} | {_pct(t['f'])} | "
            f"{_ci((ci.get('per_type') or {}).get(lab, {}).get('f'))} | "
            f"{c['tp']} | {c['fp']} | {c['fn']} |"
        )
    c = s["counts"]["ALL"]
    lines.append(
        f"| **all** | **{_pct(s['ents_p'])}** | **{_pct(s['ents_r'])}** | **{_pct(s['ents_f'])}** "
        f"| {_ci(ci.get('ents_f'))} | {c['tp']} | {c['fp']} | {c['fn']} |"
    )
    lines += ["", "### Error taxonomy", "",
              "| label | " + " | ".join(x.replace("_", " ") for x in CATEGORIES) + " |",
              "|---" * (len(CATEGORIES) + 1) + "|"]  # fmt: skip
    for lab, row in s["taxonomy"].items():
        lines.append(f"| {lab} | " + " | ".join(str(row[x]) for x in CATEGORIES) + " |")
    lines += ["", "Top confusions (reference → model; O: no entity):", "",
              "| reference | model | count | commonest texts |", "|---|---|---|---|"]  # fmt: skip
    for cf in s["confusions"]:
        texts = ", ".join(f"`{t}`" for t in cf["examples"])
        lines.append(f"| {cf['gold']} | {cf['pred']} | {cf['count']} | {texts} |")
    lines += ["", "### Slices", ""]
    for slice_name, values in s["slices"].items():
        lines += [f"**{SLICE_TITLES.get(slice_name, slice_name)}**", "",
                  "| value | cables | gold | pred | P | R | F |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        for value, v in values.items():
            lines.append(
                f"| {value} | {v.get('n_cables', '')} | {v['n_gold']} | {v['n_pred']} | "
                f"{_pct(v['p'])} | {_pct(v['r'])} | {_pct(v['f'])} |"
            )
        lines.append("")
    lines += [f"### Worst cables (lowest F, at least {s.get('worst_cables_min_gold')} "
              "reference entities)", "",
              "| cable | classification | post | year | gold | pred | P | R | F |",
              "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for w in s["worst_cables"]:
        lines.append(
            f"| {w['reference_id'] or w['cable']} | {w['classification'] or ''} | "
            f"{w['post'] or ''} | {w['year']} | {w['n_gold']} | {w['n_pred']} | "
            f"{_pct(w['p'])} | {_pct(w['r'])} | {_pct(w['f'])} |"
        )
    lines += ["", "### Error samples (rendered in report.html)", ""]
    for e in s["error_samples"]:
        g = f"{e['gold']['label']} “{e['gold']['text']}”" if e["gold"] else "none"
        p = f"{e['pred']['label']} “{e['pred']['text']}”" if e["pred"] else "none"
        lines.append(f"- {e['kind'].replace('_', ' ')} in {e['reference_id']}: "
                     f"reference {g}, model {p}")  # fmt: skip
    return lines + [""]


def _gold_md(gold: dict) -> list[str]:
    lines = ["## Against the hand-corrected gold layer", ""]
    if not gold or not gold.get("systems"):
        return lines + [f"Not scored: {(gold or {}).get('skipped', 'no gold layer given')}", ""]
    systems = gold["systems"]
    names = list(systems)
    labels = sorted({lab for v in systems.values() for lab in (v.get("ents_per_type") or {})})
    lines += [
        f"Gold {gold.get('split', 'test')} split: {gold['n_cables']} cables "
        f"({gold.get('n_upper_case', 0)} upper case), {gold['n_entities']} gold entities "
        f"(`{gold['gold']}`), bodies only, spaCy's scorer (`cable_ner.gold.gold_report`); 95% "
        "bootstrap intervals over cables. The tagger's labels are the silver training data.",
        "",
        "| system | P | R | F (95% CI) | "
        + " | ".join(f"{lab} F" for lab in labels)
        + " | mixed-case F (cables) | upper-case F (cables) |",
        "|---" * (6 + len(labels)) + "|",
    ]
    for n in names:
        v = systems[n]
        per = v.get("ents_per_type") or {}
        cases = []
        for case in ("mixed case", "upper case"):
            c = (v.get("by_case") or {}).get(case)
            cases.append(f"{_pct(c['ents_f'])} ({_ci((c.get('ci') or {}).get('ents_f'))}; "
                         f"{c['n_cables']})" if c else "–")  # fmt: skip
        lines.append(
            f"| {n} | {_pct(v['ents_p'])} | {_pct(v['ents_r'])} | {_pct(v['ents_f'])} "
            f"({_ci((v.get('ci') or {}).get('ents_f'))}) | "
            + " | ".join(_pct((per.get(lab) or {}).get("f")) for lab in labels)
            + f" | {cases[0]} | {cases[1]} |"
        )
    return lines + [""] + silver_vs_gold_md(gold.get("silver_vs_gold"))


def silver_vs_gold_md(split: dict | None, silver_recall: float = 0.85) -> list[str]:
    """What the silver labels are worth on the gold cables and, with a "model" entry, the model's
    silver agreement and errors judged by gold (`cable_ner.gold.silver_vs_gold`)."""
    if not split:
        return []
    from .gold import SILVER_GOLD_KINDS, min_copied_share

    r = _pct(silver_recall)
    lines = [
        f"### Silver labels judged by gold ({split['silver']} as silver)", "",
        "A system equal to the gold layer is scored against the silver labels: its silver F is "
        "what right entities alone earn there, and any system with silver recall "
        f"{r} must also predict at least the given share of the wrong silver entities "
        "(`cable_ner.gold.min_copied_share`).", "",
        "| cables | silver entities | right (gold agrees) | gold's silver F "
        f"| copied for silver R {r} |", "|---|---|---|---|---|",
    ]  # fmt: skip
    for name, g in split["gold"].items():
        wrong = g["counts"]["missed_wrong"]
        precision = g["silver_precision"]  # None: no silver entity on these cables
        copy = None if precision is None else min_copied_share(silver_recall, precision)
        lines.append(f"| {name} ({g['n_cables']}) | {g['n_silver']:,} | "
                     f"{_pct(precision)} | {_pct(g['gold_silver_f'])} | "
                     f"{_pct(copy)}% of {wrong:,} |")  # fmt: skip
    model = split.get("model")
    if not model:
        return lines + [""]
    groups = "; ".join(f"{_pct(m['silver_f'])} and {_pct(m['silver_errors_right'])}% on {name}"
                       for name, m in model.items())  # fmt: skip
    lines += [
        "", "The model's silver F here, and the share of its silver errors where gold says it is "
        f"right: {groups}.", "",
        "| model entities and silver entities, all cables | count |", "|---|---|",
    ]  # fmt: skip
    counts = model["all"]["counts"]
    lines += [f"| {why} | {counts[kind]:,} |" for kind, why in SILVER_GOLD_KINDS.items()]
    return lines + [""]


def markdown_report(metrics: dict, images: dict[str, str], compare: Sequence[dict] = ()) -> str:
    lines = [f"# Evaluation of `{metrics['model']}`", "",
             f"Config `{metrics.get('config')}`, "
             f"pipeline {', '.join(metrics.get('pipeline', []))}. "
             f"Command: `{metrics.get('command')}`. All figures are spaCy's NER scorer's "
             "(`get_ner_prf`), recomputed per cable; see `metrics.json`.", ""]  # fmt: skip
    if metrics.get("notes"):
        lines += [f"> {n}" for n in metrics["notes"]] + [""]
    for name, img in images.items():
        lines.append(f"![{name}]({img})")
    lines.append("")
    for split, s in metrics["splits"].items():
        lines += _split_md(split, s)
    lines += _gold_md(metrics.get("gold") or {})
    if metrics.get("training"):
        t = metrics["training"]
        lines += ["## Training", "", f"`{t['log']}`: {t['n_evaluations']} evaluations, last step "
                  f"{t['last_step']}, best score {t['best_score']:.3f} at step {t['best_step']}."
                  + _throughput_md(t), ""]  # fmt: skip
        command = (metrics.get("provenance") or {}).get("command")
        if command:
            lines += [f"Trained with `{command}`.", ""]
    if compare:
        lines += ["## Configs side by side", ""] + _compare_md(compare) + [""]
    return "\n".join(lines) + "\n"


def _throughput_md(t: dict) -> str:
    if not t.get("train_words_per_second"):
        return ""
    return (f" {t['train_words']:,} words in {t['train_seconds'] / 60:.1f} min of training "
            f"(spaCy's clock): {t['train_words_per_second']:,.0f} words/s after the first "
            f"evaluation (later evaluations included); peak RSS {t['train_peak_rss_mb']:,} "
            f"MB.")  # fmt: skip


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:sans-serif;margin:1.5em 3em;color:#222;max-width:1200px}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
tr:nth-child(even) td{background:#f7f7f7}
img{max-width:100%;display:block;margin:.5em 0}
code{background:#f0f0f0;padding:0 3px}
.note{background:#fff6d6;border-left:4px solid #f2b134;padding:.4em .8em}
.error{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;margin:1em 0}
.which{font-size:12px;color:#777;text-transform:uppercase;margin-top:.4em}
.cable-metadata th,.cable-metadata td{text-align:left}
details summary{cursor:pointer;color:#444}
"""


def _md_table_to_html(lines: list[str]) -> str:
    rows = [line.strip().strip("|").split(" | ") for line in lines if not line.startswith("|---")]
    out = ["<table>"]
    for i, cells in enumerate(rows):
        tag = "th" if i == 0 else "td"
        out.append("<tr>" + "".join(f"<{tag}>{_inline(c)}</{tag}>" for c in cells) + "</tr>")
    return "".join(out) + "</table>"


def _inline(text: str) -> str:
    t = html.escape(text.strip())
    t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", t)


def _md_to_html(md: str) -> str:
    """The report's own markdown subset (headings, tables, lists, quotes, paragraphs) to HTML."""
    out, table = [], []
    for line in md.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        if table:
            out.append(_md_table_to_html(table))
            table = []
        if line.startswith("!["):
            continue  # images are embedded separately
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{_inline(line[level:])}</h{level}>")
        elif line.startswith("> "):
            out.append(f"<p class='note'>{_inline(line[2:])}</p>")
        elif line.startswith("- "):
            out.append(f"<li>{_inline(line[2:])}</li>")
        elif line.strip():
            out.append(f"<p>{_inline(line)}</p>")
    if table:
        out.append(_md_table_to_html(table))
    return "\n".join(out)


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def html_report(metrics: dict, images: dict[str, Path], errors: dict[str, list[str]],
                compare: Sequence[dict] = ()) -> str:  # fmt: skip
    """One self-contained page: inline CSS, PNGs as data URIs, displaCy error samples."""
    title = html.escape(f"Evaluation of {metrics['model']}")
    parts = [f"<h1>{title}</h1>"]
    parts.append(_md_to_html("\n".join(markdown_report(metrics, {}, compare).splitlines()[2:])))
    figures = "".join(
        f"<figure><img alt='{html.escape(name)}' src='{_data_uri(path)}'>"
        f"<figcaption>{html.escape(name)}</figcaption></figure>"
        for name, path in images.items()
    )
    parts.insert(1, f"<h2>Plots</h2>{figures}")
    for split, blocks in errors.items():
        if blocks:
            parts.append(f"<h2>Error samples, {html.escape(split)}</h2>" + "".join(blocks))
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head><meta charset='utf-8'>"
        f"<title>{title}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(parts)
        + "\n</body>\n</html>\n"
    )


# --------------------------------------------------------------------------- writing it all


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
    written: dict[str, Path] = {}
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
            best = max(rows, key=lambda r: r["score"])
            metrics["training"] = {
                "log": str(training_log), "n_evaluations": len(rows),
                "last_step": rows[-1]["step"], "best_score": best["score"],
                "best_step": best["step"], "best_scores": best["scores"],
            }  # fmt: skip
            metrics["training"].update(read_throughput(training_log))
            images["training curve"] = plot_training(rows, out / "training.png")
    compare: list[dict] = []
    if others:
        compare = compare_rows({metrics.get("config") or "this": metrics, **others})
        images["configs side by side"] = plot_compare(compare, out / "compare.png")
    errors = {
        split: render_errors(examples[split], metrics["splits"][split]["error_samples"])
        for split in metrics["splits"]
        if examples and split in examples
    }
    written.update({p.name: p for p in images.values()})
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    written["metrics.json"] = out / "metrics.json"
    md = markdown_report(metrics, {name: p.name for name, p in images.items()}, compare)
    (out / "report.md").write_text(md, encoding="utf-8")
    written["report.md"] = out / "report.md"
    page = html_report(metrics, images, errors, compare)
    (out / "report.html").write_text(page, encoding="utf-8")
    written["report.html"] = out / "report.html"
    return written
