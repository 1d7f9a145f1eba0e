"""report.md: the evaluation report as markdown tables (per split, the gold layer, training,
configs side by side). report.html renders the same text (`cable_ner.report.page`)."""

from __future__ import annotations

from collections.abc import Sequence

from .format import SLICE_TITLES, interval, pct, split_labels
from .reference import compare_md
from .training_log import throughput_md


def _scores_md(s: dict) -> list[str]:
    """P/R/F per label with the intervals and counts, then the overall row."""
    ci = s.get("ci") or {}
    lines = [
        f"95% intervals: percentile bootstrap over cables, {ci.get('n', 0)} resamples, "
        f"seed {ci.get('seed', 0)}. Predictions on header tokens (missing annotation) are not "
        f"scored: {s.get('n_ignored', 0)} of them.",
        "",
        "| label | P | R | F | F 95% CI | tp | fp | fn |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for lab in split_labels(s):
        t, c = s["ents_per_type"][lab], s["counts"][lab]
        lines.append(
            f"| {lab} | {pct(t['p'])} | {pct(t['r'])} | {pct(t['f'])} | "
            f"{interval((ci.get('per_type') or {}).get(lab, {}).get('f'))} | "
            f"{c['tp']} | {c['fp']} | {c['fn']} |"
        )
    c = s["counts"]["ALL"]
    lines.append(
        f"| **all** | **{pct(s['ents_p'])}** | **{pct(s['ents_r'])}** | **{pct(s['ents_f'])}** "
        f"| {interval(ci.get('ents_f'))} | {c['tp']} | {c['fp']} | {c['fn']} |"
    )
    return lines


def _taxonomy_md(s: dict) -> list[str]:
    """The error categories per label, then the commonest confusions."""
    from ..errors import CATEGORIES

    lines = ["", "### Error taxonomy", "",
             "| label | " + " | ".join(x.replace("_", " ") for x in CATEGORIES) + " |",
             "|---" * (len(CATEGORIES) + 1) + "|"]  # fmt: skip
    for lab, row in s["taxonomy"].items():
        lines.append(f"| {lab} | " + " | ".join(str(row[x]) for x in CATEGORIES) + " |")
    lines += ["", "Top confusions (reference → model; O: no entity):", "",
              "| reference | model | count | commonest texts |", "|---|---|---|---|"]  # fmt: skip
    for cf in s["confusions"]:
        texts = ", ".join(f"`{t}`" for t in cf["examples"])
        lines.append(f"| {cf['gold']} | {cf['pred']} | {cf['count']} | {texts} |")
    return lines


def _slices_md(s: dict) -> list[str]:
    """One table per slice (classification, post, year, portion, case)."""
    lines = ["", "### Slices", ""]
    for slice_name, values in s["slices"].items():
        lines += [f"**{SLICE_TITLES.get(slice_name, slice_name)}**", "",
                  "| value | cables | gold | pred | P | R | F |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        for value, v in values.items():
            lines.append(
                f"| {value} | {v.get('n_cables', '')} | {v['n_gold']} | {v['n_pred']} | "
                f"{pct(v['p'])} | {pct(v['r'])} | {pct(v['f'])} |"
            )
        lines.append("")
    return lines


def _cables_md(s: dict) -> list[str]:
    """The worst cables, then the error samples (rendered in full in report.html)."""
    lines = [f"### Worst cables (lowest F, at least {s.get('worst_cables_min_gold')} "
             "reference entities)", "",
             "| cable | classification | post | year | gold | pred | P | R | F |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for w in s["worst_cables"]:
        lines.append(
            f"| {w['reference_id'] or w['cable']} | {w['classification'] or ''} | "
            f"{w['post'] or ''} | {w['year']} | {w['n_gold']} | {w['n_pred']} | "
            f"{pct(w['p'])} | {pct(w['r'])} | {pct(w['f'])} |"
        )
    lines += ["", "### Error samples (rendered in report.html)", ""]
    for e in s["error_samples"]:
        g = f"{e['gold']['label']} “{e['gold']['text']}”" if e["gold"] else "none"
        p = f"{e['pred']['label']} “{e['pred']['text']}”" if e["pred"] else "none"
        lines.append(f"- {e['kind'].replace('_', ' ')} in {e['reference_id']}: "
                     f"reference {g}, model {p}")  # fmt: skip
    return lines + [""]


def split_md(name: str, s: dict) -> list[str]:
    """The section of one split: scores, error taxonomy, slices, worst cables, error samples."""
    lines = [f"## {name}: {s['n_docs']} cables, {s['n_gold']} reference entities", ""]
    if s.get("reference"):
        lines += [f"Reference: `{s['reference']}`. " + (
            f"{s['words_per_second']:,.0f} words/s, {s['wall_time_s']:.1f} s wall time."
            if s.get("words_per_second") else ""), ""]  # fmt: skip
    return lines + _scores_md(s) + _taxonomy_md(s) + _slices_md(s) + _cables_md(s)


def _case_cell(system: dict, case: str) -> str:
    c = (system.get("by_case") or {}).get(case)
    if not c:
        return "–"
    return f"{pct(c['ents_f'])} ({interval((c.get('ci') or {}).get('ents_f'))}; {c['n_cables']})"


def gold_md(gold: dict) -> list[str]:
    """The section against the hand-corrected gold layer: each system's scores, overall, per
    label and by case, then the silver labels judged by gold."""
    lines = ["## Against the hand-corrected gold layer", ""]
    if not gold or not gold.get("systems"):
        return lines + [f"Not scored: {(gold or {}).get('skipped', 'no gold layer given')}", ""]
    systems = gold["systems"]
    labels = sorted({lab for v in systems.values() for lab in (v.get("ents_per_type") or {})})
    lines += [
        f"Gold {gold.get('split', 'test')} split: {gold['n_cables']} cables "
        f"({gold.get('n_upper_case', 0)} upper case), {gold['n_entities']} gold entities "
        f"(`{gold['gold']}`), bodies only, spaCy's scorer (`cable_ner.gold_score.gold_report`); "
        "95% bootstrap intervals over cables. The tagger's labels are the silver training data.",
        "",
        "| system | P | R | F (95% CI) | "
        + " | ".join(f"{lab} F" for lab in labels)
        + " | mixed-case F (cables) | upper-case F (cables) |",
        "|---" * (6 + len(labels)) + "|",
    ]
    for n, v in systems.items():
        per = v.get("ents_per_type") or {}
        lines.append(
            f"| {n} | {pct(v['ents_p'])} | {pct(v['ents_r'])} | {pct(v['ents_f'])} "
            f"({interval((v.get('ci') or {}).get('ents_f'))}) | "
            + " | ".join(pct((per.get(lab) or {}).get("f")) for lab in labels)
            + f" | {_case_cell(v, 'mixed case')} | {_case_cell(v, 'upper case')} |"
        )
    return lines + [""] + silver_vs_gold_md(gold.get("silver_vs_gold"))


def silver_vs_gold_md(split: dict | None, silver_recall: float = 0.85) -> list[str]:
    """What the silver labels are worth on the gold cables and, with a "model" entry, the model's
    silver agreement and errors judged by gold (`cable_ner.gold_score.silver_vs_gold`)."""
    if not split:
        return []
    from ..gold_score import SILVER_GOLD_KINDS, min_copied_share

    r = pct(silver_recall)
    lines = [
        f"### Silver labels judged by gold ({split['silver']} as silver)", "",
        "A system equal to the gold layer is scored against the silver labels: its silver F is "
        "what right entities alone earn there, and any system with silver recall "
        f"{r} must also predict at least the given share of the wrong silver entities "
        "(`cable_ner.gold_score.min_copied_share`).", "",
        "| cables | silver entities | right (gold agrees) | gold's silver F "
        f"| copied for silver R {r} |", "|---|---|---|---|---|",
    ]  # fmt: skip
    for name, g in split["gold"].items():
        wrong = g["counts"]["missed_wrong"]
        precision = g["silver_precision"]  # None: no silver entity on these cables
        copy = None if precision is None else min_copied_share(silver_recall, precision)
        lines.append(f"| {name} ({g['n_cables']}) | {g['n_silver']:,} | "
                     f"{pct(precision)} | {pct(g['gold_silver_f'])} | "
                     f"{pct(copy)}% of {wrong:,} |")  # fmt: skip
    model = split.get("model")
    if not model:
        return lines + [""]
    groups = "; ".join(f"{pct(m['silver_f'])} and {pct(m['silver_errors_right'])}% on {name}"
                       for name, m in model.items())  # fmt: skip
    lines += [
        "", "The model's silver F here, and the share of its silver errors where gold says it is "
        f"right: {groups}.", "",
        "| model entities and silver entities, all cables | count |", "|---|---|",
    ]  # fmt: skip
    counts = model["all"]["counts"]
    lines += [f"| {why} | {counts[kind]:,} |" for kind, why in SILVER_GOLD_KINDS.items()]
    return lines + [""]


def _training_md(metrics: dict) -> list[str]:
    t = metrics["training"]
    lines = ["## Training", "", f"`{t['log']}`: {t['n_evaluations']} evaluations, last step "
             f"{t['last_step']}, best score {t['best_score']:.3f} at step {t['best_step']}."
             + throughput_md(t), ""]  # fmt: skip
    command = (metrics.get("provenance") or {}).get("command")
    if command:
        lines += [f"Trained with `{command}`.", ""]
    return lines


def markdown_report(metrics: dict, images: dict[str, str], compare: Sequence[dict] = ()) -> str:
    """report.md: the title and provenance, notes, plots (`images`: {caption: file name}), each
    split, the gold layer, training and, with `compare` rows, the configs side by side."""
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
        lines += split_md(split, s)
    lines += gold_md(metrics.get("gold") or {})
    if metrics.get("training"):
        lines += _training_md(metrics)
    if compare:
        lines += ["## Configs side by side", ""] + compare_md(compare) + [""]
    return "\n".join(lines) + "\n"
