"""Configs side by side: the comparison rows and table of the evaluation report, and the
reference report (`reports/reference.json` and `reference.md`, `scripts/reference_report.py`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .format import interval, pct
from .training_log import throughput_md

SPLIT_KEYS = ("ents_p", "ents_r", "ents_f", "ents_per_type", "n_docs", "n_gold",
              "words_per_second", "wall_time_s")  # fmt: skip
GOLD_KEYS = ("ents_p", "ents_r", "ents_f", "ents_per_type", "ci", "n_cables", "n_gold")
CASE_KEYS = ("ents_f", "ci", "n_cables", "n_gold")


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


def _compare_row(name: str, m: dict) -> dict:
    test = m["splits"].get("test") or {}
    dev = m["splits"].get("dev") or {}
    gold = m.get("gold") or {}
    model = (gold.get("systems") or {}).get("model") or {}
    by_case = model.get("by_case") or {}
    training = m.get("training") or {}
    return {
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
        "train_wps": training.get("train_words_per_second"),
        "train_peak_mb": training.get("train_peak_rss_mb"),
    }  # fmt: skip


def compare_rows(metrics_by_name: dict[str, dict]) -> list[dict]:
    """One row per config: gold test P/R/F with its interval, per label and by case (what the
    project is judged by), then silver test and dev F (a diagnostic), words/s."""
    return [_compare_row(name, m) for name, m in metrics_by_name.items()]


def compare_md(rows: Sequence[dict]) -> list[str]:
    """The configs side by side as a markdown table, one row per config."""
    labels = sorted({lab for r in rows for lab in r["gold_per_type_f"]})
    head = ["config", "gold P", "gold R", "gold F (95% CI)", *(f"gold {x} F" for x in labels),
            "gold mixed-case F", "gold upper-case F", "silver test F (95% CI)", "silver dev F",
            "words/s", "train words/s", "train peak MB"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for r in rows:
        cells = [
            r["config"], pct(r["gold_p"]), pct(r["gold_r"]),
            f"**{pct(r['gold_f'])}** ({interval(r['gold_f_ci'])})",
            *(pct(r["gold_per_type_f"].get(x)) for x in labels),
            pct(r["gold_case_f"].get("mixed case")), pct(r["gold_case_f"].get("upper case")),
            f"{pct(r['f'])} ({interval(r['f_ci'])})", pct(r["dev_f"]),
            f"{r['words_per_second']:,.0f}" if r["words_per_second"] else "–",
            f"{r['train_wps']:,.0f}" if r.get("train_wps") else "–",
            f"{r['train_peak_mb']:,}" if r.get("train_wps") else "–",
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _gold_entry(gold: dict) -> dict:
    """The gold-layer part of a reference entry: the split's sizes, then per system its scores
    and by-case figures."""
    entry = {k: gold.get(k) for k in ("split", "n_cables", "n_entities", "n_upper_case")}
    for name, v in gold["systems"].items():
        by_case = {case: {k: c.get(k) for k in CASE_KEYS}
                   for case, c in (v.get("by_case") or {}).items()}  # fmt: skip
        entry[name] = {k: v.get(k) for k in GOLD_KEYS} | {"by_case": by_case}
    return entry


def build_reference(metrics_files: Iterable[str | Path], default: str | None = None) -> dict:
    """`reports/reference.json`: per config, what its metrics.json says (never typed by hand):
    dev and test ents_p/ents_r/ents_f and ents_per_type with their intervals, words/s and wall
    time of the evaluation, the gold-layer scores when they were computed, and the command.
    `default` names the project's default pipeline, one of the configs."""
    out: dict[str, Any] = {"default": default, "configs": {}}
    for file in metrics_files:
        m = json.loads(Path(file).read_text(encoding="utf-8"))
        entry: dict[str, Any] = {"metrics": str(file), "model": m.get("model")}
        entry.update(command=m.get("command"), created=m.get("created"))
        for split, s in (m.get("splits") or {}).items():
            entry[split] = {k: s.get(k) for k in SPLIT_KEYS}
            entry[split]["ci"] = s.get("ci")
            entry[split]["reference"] = s.get("reference")
        gold = m.get("gold") or {}
        if gold.get("systems"):
            entry["gold"] = _gold_entry(gold)
        if m.get("training"):
            entry["training"] = {k: v for k, v in m["training"].items() if k != "rows"}
        entry["training_provenance"] = m.get("provenance")
        name = config_name(m, file)
        if name in out["configs"]:  # two runs of one config: keep both, named by their file
            name = f"{name} ({file})"
        out["configs"][name] = entry
    if default is not None and default not in out["configs"]:
        raise ValueError(f"default pipeline {default!r} is none of the configs: "
                         f"{', '.join(out['configs'])}")  # fmt: skip
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
    if reference.get("default"):
        lines += [f"The default pipeline (`spacy project run evaluate`, `package`, `annotate`): "
                  f"**{reference['default']}**.", ""]  # fmt: skip
    lines += compare_md(compare_rows(by_name))
    lines.append("")
    for name, e in reference["configs"].items():
        lines.append(f"- **{name}**: evaluated with `{e.get('command') or ''}` "
                     f"({e.get('created') or ''})")  # fmt: skip
        train_command = (e.get("training_provenance") or {}).get("command")
        if train_command:
            t = e.get("training") or {}
            lines.append(f"  trained with `{train_command}`" + throughput_md(t))
    return "\n".join(lines) + "\n"
