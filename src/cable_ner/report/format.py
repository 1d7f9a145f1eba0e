"""What the report's parts share: label colours, slice titles and how a figure is written."""

from __future__ import annotations

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


def pct(x) -> str:
    """A 0-1 score as a percentage with one decimal; "–" for none."""
    return "–" if x is None else f"{100 * x:.1f}"


def interval(ci) -> str:
    """A (low, high) 0-1 interval as "lo–hi" percentages; "" for none."""
    return "" if not ci else f"{100 * ci[0]:.1f}–{100 * ci[1]:.1f}"


def split_labels(split: dict) -> list[str]:
    """The labels a split's scores have, sorted."""
    return sorted(split.get("ents_per_type") or {})
