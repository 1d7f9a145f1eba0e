"""Silver repairs: the tagger's systematic errors, learned from gold train, applied to a corpus.

On the gold train cables each silver entity (the tagger's, after the silver filters: what the
converter trains on) is right (gold has the same span and label), relabelled (gold has the same
span with another label), re-bounded (gold has an overlapping span) or spurious (gold has nothing
there). A repair rule is a (text, label) pair seen at least `min_count` times whose silver
entities are wrong at least `min_share` of the time, and whose commonest wrong outcome is a drop
or one relabelling (re-bounding is not a rule of text and label, so it is left alone):

    {"text": "Embassy", "label": "ORG", "action": "drop", "n": 41, "wrong": 39}
    {"text": "Mission", "label": "ORG", "action": "relabel", "to": "LOC", ...}

`repair_corpus` applies the rules to a converted corpus (a shard folder or a DocBin), and can
leave out the upper-case cables, where the tagger misses most persons. `silver_precision` scores
silver entities before and after the rules against gold (train: where they were learned; dev:
held out), which is what a repair is kept for.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from spacy.tokens import Doc, Span

from .cable import USER_DATA_KEY
from .gold import GoldCable
from .gold_score import score_against_gold
from .relabel import doc_id, map_corpus
from .scoring import is_upper_case

Ent = tuple[int, int, str]


@dataclass(frozen=True)
class Repair:
    text: str
    label: str
    action: str  # "drop" or "relabel"
    to: str | None
    n: int  # silver entities with this text and label on the cables learned from
    wrong: int  # of which gold says are wrong


def _norm(text: str) -> str:
    return " ".join(text.split())


def outcome(ent: Ent, gold: dict[tuple[int, int], str], gold_spans: Sequence[Ent]) -> str:
    """'right', 'relabel:<LABEL>', 'rebound' or 'drop' for one silver entity against gold."""
    start, end, label = ent
    if (start, end) in gold:
        return "right" if gold[start, end] == label else f"relabel:{gold[start, end]}"
    if any(s < end and start < e for s, e, _ in gold_spans):
        return "rebound"
    return "drop"


def learn_repairs(cables: Iterable[GoldCable], silver: dict[str, list[Ent]],
                  min_count: int = 3, min_share: float = 0.7) -> list[Repair]:
    """Rules from the gold cables' body entities; `silver` maps a cable's text to its entities."""
    seen: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for cable in cables:
        gold = {(s, e): lab for s, e, lab in cable.entities}
        for ent in silver[cable.text]:
            if ent[0] >= cable.body_start:
                key = (_norm(cable.text[ent[0]:ent[1]]), ent[2])
                seen[key][outcome(ent, gold, cable.entities)] += 1
    rules = []
    for (text, label), counts in sorted(seen.items()):
        n = sum(counts.values())
        wrong = n - counts["right"]
        if n < min_count or wrong < min_share * n:
            continue
        fix, _ = max(((k, v) for k, v in counts.items() if k != "right"),
                     key=lambda kv: (kv[1], kv[0]))
        if fix == "drop":
            rules.append(Repair(text, label, "drop", None, n, wrong))
        elif fix.startswith("relabel:"):
            rules.append(Repair(text, label, "relabel", fix.split(":", 1)[1], n, wrong))
    return rules


def apply_repairs(text: str, ents: Iterable[Ent], rules: Sequence[Repair],
                  counts: Counter | None = None) -> list[Ent]:
    """The entities with every matching rule applied (dropped or relabelled), counted in
    `counts` (`dropped`, `relabelled`) when given."""
    index = {(r.text, r.label): r for r in rules}
    counts = Counter() if counts is None else counts
    out = []
    for start, end, label in ents:
        rule = index.get((_norm(text[start:end]), label))
        if rule is None:
            out.append((start, end, label))
        elif rule.action == "relabel":
            out.append((start, end, rule.to))
            counts["relabelled"] += 1
        else:
            counts["dropped"] += 1
    return out


def silver_precision(cables: Sequence[GoldCable], silver: dict[str, list[Ent]],
                     rules: Sequence[Repair]) -> dict:
    """P/R/F of the silver entities against gold on `cables`, before and after the rules."""
    repaired = {c.text: apply_repairs(c.text, silver[c.text], rules) for c in cables}
    out = {}
    for name, ents in (("before", silver), ("after", repaired)):
        s = score_against_gold(cables, lambda text, ents=ents: ents[text])
        out[name] = {k: round(100 * s[k], 2) for k in ("ents_p", "ents_r", "ents_f")}
        out[name]["n_pred"] = sum(s["n_pred"].values())
    out["n_cables"] = len(cables)
    return out


def _body_start(doc: Doc) -> int:
    paragraphs = (doc.user_data.get(USER_DATA_KEY) or {}).get("paragraphs") or ()
    return paragraphs[0]["start"] if paragraphs else 0


def repair_doc(doc: Doc, rules: Sequence[Repair], counts: Counter) -> Doc:
    ents = [(e.start, e.end, e.label_) for e in doc.ents]
    chars = [(doc[s:e].start_char, doc[s:e].end_char, lab) for s, e, lab in ents]
    by_char = {(c[0], c[1]): (t[0], t[1]) for c, t in zip(chars, ents, strict=True)}
    kept = apply_repairs(doc.text, chars, rules, counts)
    doc.ents = [Span(doc, *by_char[s, e], label=lab) for s, e, lab in kept]
    return doc


def repair_corpus(src: str | Path, dest: str | Path, rules: Sequence[Repair],
                  drop_upper_case: bool = False, progress=None,
                  keep: frozenset[str] = frozenset()) -> dict:
    """Apply `rules` to every doc of `src` (shard folder or DocBin) into `dest`, shard by shard,
    leaving out upper-case cables if asked; docs whose id is in `keep` (gold cables) pass
    through untouched. Returns the counts."""
    import spacy

    counts: Counter = Counter()

    def transform(docs: list[Doc]) -> list[Doc]:
        out = []
        for doc in docs:
            counts["docs"] += 1
            counts["entities"] += len(doc.ents)
            if doc_id(doc) in keep:
                counts["kept_gold"] += 1
                out.append(doc)
            elif drop_upper_case and is_upper_case(doc.text, _body_start(doc)):
                counts["upper_case_left_out"] += 1
            else:
                out.append(repair_doc(doc, rules, counts))
        return out

    map_corpus(src, dest, spacy.blank("en").vocab, transform, progress)
    return dict(counts)
