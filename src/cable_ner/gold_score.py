"""Scoring against the gold layer: any system's entities on the gold cables' bodies, with spaCy's
scorer, by split and case, with bootstrap intervals, and the silver labels judged by gold.

A system is a `Predict`: `text -> [(start, end, label), ...]` (a pipeline, the tagger's labels as
they stand or filtered, the gold itself). `gold_examples` builds spaCy Docs (blank English
tokenizer) from each cable's clean text, puts the gold entities on the reference and the predicted
ones on the predicted Doc (both restricted to the body), and the Examples are scored with spaCy's
own NER scorer (`spacy.scorer.get_ner_prf`, what the `ner` component reports), so the numbers are
spaCy's. `score_gold_layer` is the one entry point of `scripts/evaluate.py` and
`scripts/score_gold.py`.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from .gold import GoldCable, GoldError, Predict, Span, default_gold_path, load_gold

# ----------------------------------------------------------------------------------- predictors


def tagger_predict(gold_cables: Sequence[GoldCable]) -> Predict:
    """The old tagger's labels as they stand in the corpus (looked up by the cable's clean text)."""
    by_text = {c.text: list(c.silver) for c in gold_cables}
    return lambda text: by_text[text]


def gold_predict(gold_cables: Sequence[GoldCable]) -> Predict:
    """The gold entities themselves: a system that is always right."""
    by_text = {c.text: list(c.entities) for c in gold_cables}
    return lambda text: by_text[text]


def filtered_tagger_predict(gold_cables: Sequence[GoldCable], filters=None) -> Predict:
    """The tagger's labels after the project's documented silver filters (what the converter
    trains on). `filters` is a list of `cable_ner.filters.FilterRule` (default: the shipped rules).
    """
    from .filters import load_filters, match_filter

    rules = load_filters() if filters is None else filters
    by_text = {
        c.text: [(s, e, lab) for s, e, lab in c.silver
                 if match_filter(rules, c.text[s:e], lab) is None]
        for c in gold_cables
    }  # fmt: skip
    return lambda text: by_text[text]


def pipeline_predict(nlp) -> Predict:
    """A spaCy pipeline's entities as character offsets into the text it was given."""

    def predict(text: str) -> list[Span]:
        doc = nlp(text)
        return [(e.start_char, e.end_char, e.label_) for e in doc.ents]

    return predict


# ------------------------------------------------------------------------------------- scoring

@functools.cache
def blank_nlp():
    """A blank English pipeline, made once per process: the tokenizer gold and predicted docs
    share."""
    import spacy

    return spacy.blank("en")


def _spans(doc, ents: Iterable[Sequence], body_start: int, strict: bool, rid: str):
    from spacy.util import filter_spans

    spans = []
    for item in ents:
        start, end, label = int(item[0]), int(item[1]), str(item[2])
        if start < body_start:
            continue
        span = doc.char_span(
            start, end, label=label, alignment_mode="strict" if strict else "expand"
        )
        if span is None:
            if strict:
                raise GoldError(
                    f"gold cable {rid}: entity {(start, end, label)} "
                    f"{doc.text[start:end]!r} is not on token boundaries"
                )
            continue
        spans.append(span)
    return filter_spans(spans)


def gold_examples(gold_cables: Sequence[GoldCable], predict: Predict, nlp=None) -> list:
    """spaCy Examples (predicted, reference) for the gold cables, entities only in the body."""
    from spacy.training import Example

    nlp = nlp or blank_nlp()
    examples = []
    for cable in gold_cables:
        reference = nlp.make_doc(cable.text)
        reference.ents = _spans(
            reference, cable.entities, cable.body_start, True, cable.reference_id
        )
        predicted = nlp.make_doc(cable.text)
        predicted.ents = _spans(
            predicted, predict(cable.text), cable.body_start, False, cable.reference_id
        )
        examples.append(Example(predicted, reference))
    return examples


def score_examples(examples: Sequence) -> dict:
    """spaCy's NER scores (ents_p/r/f, ents_per_type) plus gold and predicted counts per label."""
    from spacy.scorer import get_ner_prf

    scores = dict(get_ner_prf(examples))
    n_gold: Counter = Counter()
    n_pred: Counter = Counter()
    for eg in examples:
        n_gold.update(e.label_ for e in eg.reference.ents)
        n_pred.update(e.label_ for e in eg.predicted.ents)
    scores["n_gold"] = dict(sorted(n_gold.items()))
    scores["n_pred"] = dict(sorted(n_pred.items()))
    scores["n_docs"] = len(examples)
    return scores


def score_against_gold(gold_cables: Sequence[GoldCable], predict: Predict, nlp=None) -> dict:
    """Score `predict(text) -> [(start, end, label), ...]` against the gold cables' bodies.

    Returns spaCy's `get_ner_prf` dict: `ents_p`, `ents_r`, `ents_f` (micro, overall) and
    `ents_per_type` ({label: {"p", "r", "f"}}), plus `n_gold`/`n_pred` per label and `n_docs`.
    Entities starting before a cable's `body_start` are ignored on both sides.
    """
    return score_examples(gold_examples(gold_cables, predict, nlp))


CASES = {"mixed case": False, "upper case": True}


def gold_report(
    gold_cables: Sequence[GoldCable],
    predict: Predict | None = None,
    split: str = "test",
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> dict:
    """Every gold score the project reports, for the model (`predict`, when given), the tagger's
    labels as they stand and after the silver filters: `score_systems`, and the silver labels
    judged by gold (`silver_vs_gold`, the filtered tagger's being the silver the converter
    writes). `score_gold_layer` reads the layer and calls this."""
    filtered = filtered_tagger_predict(gold_cables)
    systems = {"model": predict} if predict is not None else {}
    systems.update({"tagger": tagger_predict(gold_cables), "tagger + filters": filtered})
    out = score_systems(gold_cables, systems, split, n_bootstrap, seed)
    out["silver_vs_gold"] = silver_vs_gold(gold_cables, filtered, "tagger + filters", predict)
    return out


def score_gold_layer(
    gold: str | Path | None,
    cables_dir: str | Path,
    split: str = "test",
    nlp=None,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> dict:
    """The gold scores of `scripts/evaluate.py` and `scripts/score_gold.py`: the gold layer's
    `split` cables read from `cables_dir` (`load_gold`), then `gold_report` for the pipeline `nlp`
    (when given; it runs once per cable) and the tagger's labels, with the layer's path as "gold"
    (None: the project's `gold/gold.jsonl`).

    Raises a GoldError naming the file when the layer or a cable cannot be read (an unknown
    split, a cable missing from `cables_dir` or changed since the layer was made), or when the
    split has no cable.
    """
    gold = Path(gold) if gold is not None else default_gold_path()
    try:
        cables = load_gold(gold, cables_dir, split)
    except OSError as err:  # the layer itself (a missing cable is already a GoldError)
        raise GoldError(f"cannot read the gold layer: {err}") from err
    if not cables:
        raise GoldError(f"{gold} has no {split} cables")
    # cached: the gold scores and the silver comparison ask for the same cables
    predict = functools.cache(pipeline_predict(nlp)) if nlp is not None else None
    return {"gold": str(gold), **gold_report(cables, predict, split, n_bootstrap, seed)}


def score_systems(
    gold_cables: Sequence[GoldCable],
    systems: dict[str, Predict],
    split: str = "test",
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> dict:
    """For each system, spaCy's P/R/F overall and per label on the gold cables' bodies, a
    percentile bootstrap interval over cables, and the same for the mixed-case and upper-case
    cables apart (`by_case`), with how many cables and entities each figure used."""
    from . import scoring

    groups = {"all": list(gold_cables)}
    for case, upper in CASES.items():
        groups[case] = [c for c in gold_cables if bool(c.meta.get("upper_case")) == upper]
    out: dict = {
        "split": split,
        "n_cables": len(gold_cables),
        "n_entities": sum(len(c.entities) for c in gold_cables),
        "n_upper_case": len(groups["upper case"]),
        "systems": {},
    }
    for name, predict in systems.items():
        entry: dict = {}
        for group, cables in groups.items():
            if not cables:
                continue
            scored = scoring.score_cables(gold_examples(cables, predict))
            result = scoring.prf(scored)
            result["ci"] = scoring.bootstrap(scored, n_bootstrap, seed)
            result["n_cables"] = len(cables)
            if group == "all":
                entry.update(result, by_case={})
            else:
                entry["by_case"][group] = result
        out["systems"][name] = entry
    return out


# Where a system's entities stand against silver and gold at once (exact spans, bodies only).
SILVER_GOLD_KINDS = {
    "agreed_right": "in silver and gold: agrees with the tagger, and right",
    "agreed_wrong": "in silver, not gold: a tagger error copied (counts as right on silver)",
    "extra_right": "in gold, not silver: right, but a false positive on silver",
    "extra_wrong": "in neither: wrong, and a false positive on silver",
    "missed_wrong": "a silver entity not predicted that gold rejects: a tagger error avoided, "
    "but a false negative on silver",
    "missed_right": "a silver entity not predicted that gold has: a real miss",
}


def silver_against_gold(
    gold_cables: Sequence[GoldCable], predict: Predict, silver: Predict, nlp=None
) -> dict:
    """Split a system's agreement and disagreement with the silver labels by the gold layer.

    On each gold cable's body, the system's, the silver and the gold entities become exact
    (token start, token end, label) spans, as spaCy's scorer compares them, and every system and
    silver entity is counted in one of `SILVER_GOLD_KINDS`. From the counts: the system's silver
    P/R/F here; `silver_errors_right`, the share of its silver errors (false positives and
    negatives) where gold says the system is right; and, for the silver labels themselves,
    `silver_precision` (the share of silver entities gold accepts) and `gold_silver_f` (the silver
    F of a system that equals gold). `min_copied_share` turns `silver_precision` into the least
    share of the wrong silver entities that any system with a given silver recall predicts.
    The silver F is checked against spaCy's `get_ner_prf` on the same spans (AssertionError).
    """
    from spacy.scorer import get_ner_prf
    from spacy.training import Example

    counts = Counter({kind: 0 for kind in SILVER_GOLD_KINDS})
    n_silver = n_gold = 0
    against_silver = []  # (predicted, silver as reference): spaCy's silver F, to check ours
    model_egs = gold_examples(gold_cables, predict, nlp)
    silver_egs = gold_examples(gold_cables, silver, nlp)
    for model_eg, silver_eg in zip(model_egs, silver_egs, strict=True):
        docs = (model_eg.reference, silver_eg.predicted, model_eg.predicted)
        gold, sil, pred = ({(e.start, e.end, e.label_) for e in doc.ents} for doc in docs)
        against_silver.append(Example(model_eg.predicted, silver_eg.predicted))
        n_silver += len(sil)
        n_gold += len(gold)
        for span in pred:
            kind = ("agreed_" if span in sil else "extra_") + ("right" if span in gold else "wrong")
            counts[kind] += 1
        for span in sil - pred:
            counts["missed_right" if span in gold else "missed_wrong"] += 1
    tp = counts["agreed_right"] + counts["agreed_wrong"]
    fp = counts["extra_right"] + counts["extra_wrong"]
    fn = counts["missed_right"] + counts["missed_wrong"]
    silver_right = counts["agreed_right"] + counts["missed_right"]
    errors, right_errors = fp + fn, counts["extra_right"] + counts["missed_wrong"]
    silver_f = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    spacy_f = get_ner_prf(against_silver)["ents_f"]
    if tp + fp + fn and abs(silver_f - spacy_f) > 1e-9:
        raise AssertionError(f"silver F {silver_f!r} != spaCy's {spacy_f!r} on the same spans")
    return {
        "counts": dict(counts),
        "n_silver": n_silver,
        "n_gold": n_gold,
        "silver_p": tp / (tp + fp) if tp + fp else None,
        "silver_r": tp / n_silver if n_silver else None,
        "silver_f": silver_f,
        "silver_errors_right": right_errors / errors if errors else None,
        "silver_precision": silver_right / n_silver if n_silver else None,
        "gold_silver_f": 2 * silver_right / (n_silver + n_gold) if n_silver + n_gold else None,
    }


def silver_vs_gold(
    gold_cables: Sequence[GoldCable],
    silver: Predict,
    silver_name: str,
    predict: Predict | None = None,
) -> dict:
    """`silver_against_gold` for a system equal to gold, on all gold cables and on the mixed-case
    ones (the tagger fails most on upper-case cables), and for `predict` when given ("model", {}
    without): what the evaluation report and `scripts/score_gold.py` show about silver labels."""
    groups = {"all": list(gold_cables),
              "mixed case": [c for c in gold_cables if not c.meta.get("upper_case")]}  # fmt: skip
    out: dict = {"silver": silver_name, "gold": {}, "model": {}}
    for name, cables in groups.items():
        if cables and (name == "all" or len(cables) < len(gold_cables)):
            out["gold"][name] = dict(silver_against_gold(cables, gold_predict(cables), silver),
                                     n_cables=len(cables))  # fmt: skip
            if predict is not None:
                out["model"][name] = silver_against_gold(cables, predict, silver)
    return out


def min_copied_share(silver_recall: float, silver_precision: float) -> float:
    """The least share of the silver labels' wrong entities that a system must predict to reach
    `silver_recall`, when only `silver_precision` of the silver entities are right (on the gold
    cables): its silver true positives are at most the right silver entities plus the wrong ones
    it copies, so it copies at least (r - p) / (1 - p) of the wrong ones (0 when r <= p)."""
    if silver_precision >= 1:
        return 0.0
    return max(0.0, (silver_recall - silver_precision) / (1 - silver_precision))
