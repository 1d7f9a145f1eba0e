"""Where a pipeline goes wrong: the error taxonomy, confusions, error samples, slices and worst
cables of scored cables (`cable_ner.scoring.CableScore`s).

Every figure here is a sum of the per-cable counts `cable_ner.scoring.score_cables` makes, so the
per-label `correct` count is spaCy's true positives and each slice's P/R/F is spaCy's on that slice.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from spacy.scorer import PRFScore

if TYPE_CHECKING:
    from .scoring import CableScore, Ent

__all__ = [
    "CATEGORIES",
    "classify",
    "confusions",
    "error_samples",
    "slices",
    "taxonomy",
    "worst_cables",
]

CATEGORIES = (
    "correct", "wrong_label", "wrong_boundary", "wrong_label_boundary", "missed", "spurious",
)  # fmt: skip
NO_PARAGRAPH = "(no paragraph)"
NO_PORTION = "(none)"
UNKNOWN = "(unknown)"


# --------------------------------------------------------------------------- errors


def classify(cable: CableScore) -> list[dict]:
    """The error taxonomy of one cable: one outcome per gold entity, one per spurious prediction.

    Entities are token spans of the reference (predictions mapped through the alignment, the
    ignored ones left out, as for P/R/F). Two entities *overlap* when they share a token. Each
    gold entity takes the most favourable outcome any prediction gives it, in this order:

    - correct: a prediction with the same start, end and label (a true positive);
    - wrong_label: a prediction with the same start and end but another label;
    - wrong_boundary: an overlapping prediction with the same label, other start or end;
    - wrong_label_boundary: an overlapping prediction with another label and other boundaries
      (the one sharing most tokens is reported);
    - missed: no prediction overlaps it.

    A prediction that overlaps no gold entity is *spurious*. Gold outcomes count under the gold
    label, spurious ones under the predicted label. So per label, `correct` = spaCy's tp, the
    gold outcomes sum to the gold count, and a prediction that overlaps a gold entity it does
    not match is an error of that gold entity's, not a spurious one (a false positive for
    spaCy's P all the same).
    """
    outcomes = []
    for g in cable.gold:
        over = [p for p in cable.pred if p.overlaps(g)]
        same = [p for p in over if (p.start, p.end) == (g.start, g.end)]
        if any(p.label == g.label for p in same):
            kind, p = "correct", next(p for p in same if p.label == g.label)
        elif same:
            kind, p = "wrong_label", same[0]
        elif any(p.label == g.label for p in over):
            kind, p = "wrong_boundary", next(p for p in over if p.label == g.label)
        elif over:
            kind = "wrong_label_boundary"
            p = max(over, key=lambda p: min(p.end, g.end) - max(p.start, g.start))
        else:
            kind, p = "missed", None
        outcomes.append({"kind": kind, "label": g.label, "gold": g, "pred": p})
    for p in cable.pred:
        if not any(p.overlaps(g) for g in cable.gold):
            outcomes.append({"kind": "spurious", "label": p.label, "gold": None, "pred": p})
    return outcomes


def taxonomy(cables: Sequence[CableScore]) -> dict[str, dict[str, int]]:
    """Counts of `classify` outcomes per label ({label: {category: n}}), with an "ALL" row."""
    table: dict[str, Counter] = defaultdict(Counter)
    for c in cables:
        for o in classify(c):
            table[o["label"]][o["kind"]] += 1
            table["ALL"][o["kind"]] += 1
    return {
        lab: {k: table[lab][k] for k in CATEGORIES}
        for lab in [*sorted(k for k in table if k != "ALL"), "ALL"]
    }


def confusions(cables: Sequence[CableScore], top: int = 10, examples: int = 3) -> list[dict]:
    """The most frequent label confusions (gold label → predicted label, from wrong_label and
    wrong_label_boundary outcomes) with counts and the commonest gold texts. Missed entities are
    `LABEL → O`, spurious ones `O → LABEL`."""
    pairs: Counter = Counter()
    texts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for c in cables:
        for o in classify(c):
            if o["kind"] in ("correct", "wrong_boundary"):
                continue
            gold = o["gold"].label if o["gold"] else "O"
            pred = o["pred"].label if o["pred"] and o["kind"] != "missed" else "O"
            pairs[gold, pred] += 1
            texts[gold, pred][(o["gold"] or o["pred"]).text] += 1
    return [
        {"gold": g, "pred": p, "count": n,
         "examples": [t for t, _ in texts[g, p].most_common(examples)]}
        for (g, p), n in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    ]  # fmt: skip


def error_samples(cables: Sequence[CableScore], n: int = 12, seed: int = 0) -> list[dict]:
    """A seeded random sample of errors (every outcome but `correct`), JSON-ready, in cable
    order: cable index and id, category, the gold and predicted entity (text, label, chars)."""
    errors = [(c, o) for c in cables for o in classify(c) if o["kind"] != "correct"]
    rng = random.Random(seed)
    # stratified: the categories take turns, so rare kinds are shown next to the common ones
    by_kind: dict[str, list[int]] = defaultdict(list)
    for i, (_, o) in enumerate(errors):
        by_kind[o["kind"]].append(i)
    pools = [rng.sample(ids, len(ids)) for _, ids in sorted(by_kind.items())]
    picked_ids: list[int] = []
    while len(picked_ids) < min(n, len(errors)):
        for pool in pools:
            if pool and len(picked_ids) < n:
                picked_ids.append(pool.pop())
    picked = sorted(picked_ids)

    def ent(e: Ent | None):
        return None if e is None else {
            "text": e.text, "label": e.label, "start_char": e.start_char, "end_char": e.end_char,
            "paragraph": e.paragraph, "portion": e.portion,
        }  # fmt: skip

    out = []
    for i in picked:
        c, o = errors[i]
        pred = None if o["kind"] == "missed" else o["pred"]
        out.append({"cable": c.index, "reference_id": c.reference_id, "kind": o["kind"],
                    "gold": ent(o["gold"]), "pred": ent(pred)})  # fmt: skip
    return out


# --------------------------------------------------------------------------- slices


def _summary(tp: int, fp: int, fn: int) -> dict:
    s = PRFScore(tp=tp, fp=fp, fn=fn)
    return {"p": s.precision, "r": s.recall, "f": s.fscore, "tp": tp, "fp": fp, "fn": fn,
            "n_gold": tp + fn, "n_pred": tp + fp}  # fmt: skip


def _cable_slice(cables: Sequence[CableScore], key) -> dict[str, dict]:
    groups: dict[str, list[CableScore]] = defaultdict(list)
    for c in cables:
        if c.annotated:
            groups[key(c)].append(c)
    out = {}
    for value, group in groups.items():
        s = _summary(*(sum(sum(getattr(c, k).values()) for c in group) for k in ("tp", "fp", "fn")))
        s["n_cables"] = len(group)
        out[value] = s
    return dict(sorted(out.items(), key=lambda kv: (-kv[1]["n_gold"], kv[0])))


def _portion_slice(cables: Sequence[CableScore]) -> dict[str, dict]:
    """Per portion marking of the paragraph an entity lies in: true positives and misses by the
    gold entity's paragraph, false positives by the predicted entity's."""
    counts: dict[str, Counter] = defaultdict(Counter)

    def portion(e: Ent) -> str:
        if e.paragraph is None:
            return NO_PARAGRAPH
        return e.portion or NO_PORTION

    for c in cables:
        golds = {g.key: g for g in c.gold}
        for p in c.pred:
            if p.key in golds:
                counts[portion(golds.pop(p.key))]["tp"] += 1
            else:
                counts[portion(p)]["fp"] += 1
        for g in golds.values():
            counts[portion(g)]["fn"] += 1
    out = {k: _summary(v["tp"], v["fp"], v["fn"]) for k, v in counts.items()}
    return dict(sorted(out.items(), key=lambda kv: (-kv[1]["n_gold"], kv[0])))


def slices(cables: Sequence[CableScore]) -> dict[str, dict[str, dict]]:
    """P/R/F (and counts) per classification, post, year, portion marking and case.

    Classification, post and year are the cable's (the converter's header fields; the year from
    the reference id), case is upper-case-only vs mixed (`is_upper_case`), portion is the
    marking of the paragraph each entity lies in. Values are sorted by gold count (years by
    year)."""
    return {
        "classification": _cable_slice(cables, lambda c: c.classification or UNKNOWN),
        "post": _cable_slice(cables, lambda c: c.post or UNKNOWN),
        "year": dict(sorted(_cable_slice(cables, lambda c: c.year).items())),
        "portion": _portion_slice(cables),
        "case": _cable_slice(cables, lambda c: "upper case only" if c.upper_case else "mixed case"),
    }


def worst_cables(cables: Sequence[CableScore], n: int = 10, min_gold: int = 5) -> list[dict]:
    """The `n` cables with the lowest F among those with at least `min_gold` gold entities."""
    rows = []
    for c in cables:
        if not c.annotated or len(c.gold) < min_gold:
            continue
        s = c.prf()
        rows.append({
            "cable": c.index, "reference_id": c.reference_id, "classification": c.classification,
            "post": c.post, "year": c.year, "upper_case": c.upper_case, "n_gold": len(c.gold),
            "n_pred": len(c.pred), "p": s.precision, "r": s.recall, "f": s.fscore,
        })  # fmt: skip
    rows.sort(key=lambda r: (r["f"], -r["n_gold"], r["reference_id"] or ""))
    return rows[:n]
