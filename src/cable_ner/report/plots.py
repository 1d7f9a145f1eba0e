"""The report's PNG plots (matplotlib, Agg backend): per label, error taxonomy, slices, the
training curve and configs side by side."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .format import CATEGORY_COLORS, MAX_SLICE_BARS, SLICE_TITLES, split_labels


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


def _label_bars(split: dict, labels: list[str], key: str) -> tuple[list, list, list]:
    """Values (%) of score `key` per label ("ALL": overall) and their error-bar lengths."""
    ci = split.get("ci") or {}
    values, lows, highs = [], [], []
    for lab in labels:
        if lab == "ALL":
            v, bounds = split.get(f"ents_{key}"), ci.get(f"ents_{key}")
        else:
            v = split["ents_per_type"][lab][key]
            bounds = (ci.get("per_type") or {}).get(lab, {}).get(key)
        v = v or 0.0
        values.append(100 * v)
        lo, hi = bounds if bounds else (v, v)
        lows.append(100 * max(v - lo, 0))
        highs.append(100 * max(hi - v, 0))
    return values, lows, highs


def plot_per_label(split: dict, path: Path, title: str = "") -> Path:
    """Grouped bars of P, R and F per label and overall, with the bootstrap intervals."""
    plt = _plt()
    labels = [*split_labels(split), "ALL"]
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    width = 0.26
    for k, (key, name, color) in enumerate(
        (("p", "precision", "#6fa8dc"), ("r", "recall", "#f2b134"), ("f", "F", "#4c9a2a"))
    ):
        values, lows, highs = _label_bars(split, labels, key)
        xs = [i + (k - 1) * width for i in range(len(labels))]
        ax.bar(xs, values, width, label=name, color=color, yerr=[lows, highs], capsize=3)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylim(0, 105)
    ax.set_ylabel("%")
    level = int(round(100 * (split.get("ci") or {}).get("level", 0.95)))
    ax.set_title(title or f"P/R/F per label, {level}% bootstrap intervals over cables")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(plt, fig, path)


def plot_taxonomy(split: dict, path: Path) -> Path:
    """Stacked horizontal bars of the error categories per label."""
    from ..errors import CATEGORIES

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
