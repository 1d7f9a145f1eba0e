"""Scoring a NER pipeline on cables: spaCy's figures, per cable, with CIs, errors and slices.

Everything here is a pure function of spaCy `Example`s (predicted, reference):

- `reference_examples` / `tagged_examples` / `predict` build them as `spacy evaluate` does:
  reference Docs from DocBin shards (spaCy's `Corpus`) or from a folder in the tagged format
  (`cable_ner.reader` + `record_doc.record_to_doc`), predicted Docs from
  `nlp.make_doc(reference.text)` run through the pipeline (user_data exists on the reference only);
- `score_cables` turns each Example into a `CableScore`: the gold and the *scored* predicted
  entities as token spans of the reference, and true/false positives and false negatives per
  label, counted exactly as `spacy.scorer.get_ner_prf` counts them (the `ner` and
  `entity_ruler` scorers): a prediction is mapped onto the reference tokens through the
  Example's alignment and **ignored** when any of those tokens has missing NER annotation. The
  converter gives header tokens missing annotation, so entities in the header count on neither
  side (as in `cable_ner.gold`, which drops entities starting before `body_start` on both sides);
- `prf`, `bootstrap` and `evaluate` (with `cable_ner.errors`: the taxonomy, confusions, slices
  and worst cables) sum those counts. Summed over all cables they give the same P/R/F as spaCy's
  scorer (`tests/test_scoring.py` checks it), so the report's figures are spaCy's.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy
from spacy.scorer import PRFScore, get_ner_prf

from .cable import USER_DATA_KEY
from .errors import UNKNOWN, confusions, error_samples, slices, taxonomy, worst_cables
from .header import Paragraph, paragraph_lookup

__all__ = [
    "CableScore",
    "Ent",
    "bootstrap",
    "cable_year",
    "evaluate",
    "is_upper_case",
    "predict",
    "prf",
    "reference_examples",
    "score_cables",
    "tagged_examples",
]

_YEAR = re.compile(r"^(\d\d)")


# --------------------------------------------------------------------------- building Examples


def reference_examples(nlp, path: str | Path, limit: int = 0) -> list:
    """Examples from DocBin shards (a `.spacy` file or a folder of them), as `spacy evaluate`
    reads them: spaCy's `Corpus`, predicted Doc = `nlp.make_doc(reference.text)`, not yet run."""
    from spacy.training import Corpus

    examples = []
    for eg in Corpus(str(path))(nlp):
        examples.append(eg)
        if limit and len(examples) >= limit:
            break
    return examples


def tagged_examples(nlp, inputs: Iterable[str | Path], filters: str | None = "none",
                    limit: int = 0) -> tuple[list, list[dict]]:  # fmt: skip
    """Examples from cables in the tagged format (files, folders, globs), converted in memory
    exactly as `scripts/convert.py` converts them (header tokens missing). `filters` is a silver
    filter file, None for the project's defaults or "none" (the default here: a hand-corrected
    reference is the truth as it stands). Returns the Examples and the reader's skips."""
    from spacy.training import Example

    from .filters import load_filters
    from .reader import Skipped, iter_sources, read_cable
    from .record_doc import record_to_doc

    rules = load_filters(filters)
    examples, skipped = [], []
    for source in iter_sources(inputs):
        record = read_cable(source, form="tagged")
        if isinstance(record, Skipped):
            skipped.append(record.to_dict())
            continue
        reference, _ = record_to_doc(record, nlp.vocab, rules)
        examples.append(Example(nlp.make_doc(reference.text), reference))
        if limit and len(examples) >= limit:
            break
    return examples, skipped


def predict(nlp, examples: Sequence, batch_size: int = 8, progress=None) -> Iterator:
    """Run the pipeline's components over each Example's predicted Doc (as `nlp.evaluate` does)
    and yield `Example(predicted, reference)` in order. `progress(n)` is called per Doc."""
    from spacy.training import Example

    docs = nlp.pipe((eg.predicted for eg in examples), batch_size=batch_size)
    for eg, doc in zip(examples, docs, strict=True):
        if progress is not None:
            progress(1)
        yield Example(doc, eg.reference)


# --------------------------------------------------------------------------- per cable


@dataclass(frozen=True)
class Ent:
    """An entity as a token span [start, end) of the reference Doc, with where it lies."""

    start: int
    end: int
    label: str
    start_char: int
    end_char: int
    text: str
    paragraph: int | None
    portion: str | None

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.label, self.start, self.end)

    def overlaps(self, other: Ent) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass
class CableScore:
    """One cable: its gold and scored predicted entities, and spaCy's counts per label."""

    index: int
    reference_id: str | None
    classification: str | None
    post: str | None
    year: str
    upper_case: bool
    n_tokens: int
    gold: list[Ent]
    pred: list[Ent]  # scored predictions (on annotated reference tokens), mapped to the reference
    ignored: int  # predictions on tokens with missing annotation (the header): not scored
    tp: Counter = field(default_factory=Counter)
    fp: Counter = field(default_factory=Counter)
    fn: Counter = field(default_factory=Counter)
    labels: set[str] = field(default_factory=set)  # labels get_ner_prf creates an entry for
    annotated: bool = True  # False: the reference has no NER annotation; spaCy skips the Doc

    @property
    def name(self) -> str:
        return self.reference_id or f"doc {self.index}"

    def prf(self) -> PRFScore:
        score = PRFScore()
        score.tp, score.fp, score.fn = (sum(c.values()) for c in (self.tp, self.fp, self.fn))
        return score


def cable_year(reference_id: str | None) -> str:
    """The year of a cable from its reference id's two leading digits (`07MUSCAT412` → 2007).
    Cables start in 1966: 66-99 are 19xx, 00-65 are 20xx."""
    m = _YEAR.match(reference_id or "")
    if not m:
        return UNKNOWN
    yy = int(m.group(1))
    return str(1900 + yy if yy >= 66 else 2000 + yy)


def is_upper_case(text: str, body_start: int = 0) -> bool:
    """True for a cable written in capitals only: over 97% of the body's letters are upper case
    (the gold layer's `upper_case`, set by `cable_ner.gold_build`)."""
    letters = [c for c in text[body_start:] if c.isalpha()]
    return sum(c.isupper() for c in letters) > 0.97 * max(len(letters), 1)


def score_cables(examples: Iterable) -> list[CableScore]:
    """Per-cable gold and scored entities and counts, as `spacy.scorer.get_ner_prf` counts them.

    Metadata (classification, post, reference id, paragraphs) is read from the reference's
    `user_data` (`cable.USER_DATA_KEY`, the converter's; the predicted Doc has none under
    `Corpus`).
    """
    out = []
    for index, eg in enumerate(examples):
        y = eg.reference
        data = y.user_data.get(USER_DATA_KEY) or {}
        header = data.get("header") or {}
        find = paragraph_lookup(Paragraph.from_dict(p) for p in data.get("paragraphs") or [])
        rid = header.get("reference_id")

        def ent(start: int, end: int, label: str, y=y, find=find) -> Ent:
            span = y[start:end]
            para = find(span.start_char)
            number, portion = (para.number, para.portion) if para else (None, None)
            return Ent(start, end, label, span.start_char, span.end_char, span.text, number,
                       portion)  # fmt: skip

        score = CableScore(
            index=index, reference_id=rid, classification=header.get("classification"),
            post=header.get("post"), year=cable_year(rid),
            upper_case=is_upper_case(y.text, header.get("header_end") or 0),
            n_tokens=len(eg.predicted), gold=[], pred=[], ignored=0,
            annotated=y.has_annotation("ENT_IOB"),
        )  # fmt: skip
        out.append(score)
        if not score.annotated:  # get_ner_prf skips the Example
            continue
        golds = {(e.label_, e.start, e.end) for e in y.ents}
        score.gold = [ent(e.start, e.end, e.label_) for e in y.ents]
        align_x2y = eg.alignment.x2y
        for pred_ent in eg.predicted.ents:
            label = pred_ent.label_
            score.labels.add(label)
            indices = align_x2y[pred_ent.start : pred_ent.end]
            if not len(indices):
                score.ignored += 1
                continue
            start, end = int(indices[0]), int(indices[-1]) + 1
            if not all(token.ent_iob != 0 for token in y[start:end]):
                score.ignored += 1
                continue
            score.pred.append(ent(start, end, label))
            key = (label, start, end)
            if key in golds:
                score.tp[label] += 1
                golds.remove(key)
            else:
                score.fp[label] += 1
        for label, _, _ in golds:
            score.fn[label] += 1
            score.labels.add(label)
    return out


# --------------------------------------------------------------------------- P/R/F


def _scores(score: PRFScore) -> dict:
    return {"p": score.precision, "r": score.recall, "f": score.fscore}


def prf(cables: Sequence[CableScore]) -> dict:
    """spaCy's NER scores summed over `cables`: the keys and values of `get_ner_prf`
    (`ents_p`, `ents_r`, `ents_f`, `ents_per_type`), plus tp/fp/fn and gold/pred counts."""
    per_type: dict[str, PRFScore] = defaultdict(PRFScore)
    for c in cables:
        for label in c.labels:
            s = per_type[label]
            s.tp += c.tp[label]
            s.fp += c.fp[label]
            s.fn += c.fn[label]
    totals = PRFScore()
    for s in per_type.values():
        totals += s
    labels = sorted(per_type)
    out: dict[str, Any] = {
        "ents_p": None, "ents_r": None, "ents_f": None, "ents_per_type": None,
    }  # fmt: skip
    if len(totals) > 0:
        out.update(
            ents_p=totals.precision, ents_r=totals.recall, ents_f=totals.fscore,
            ents_per_type={k: _scores(per_type[k]) for k in labels},
        )  # fmt: skip
    out["counts"] = {
        k: {"tp": per_type[k].tp, "fp": per_type[k].fp, "fn": per_type[k].fn} for k in labels
    }
    out["counts"]["ALL"] = {"tp": totals.tp, "fp": totals.fp, "fn": totals.fn}
    out["n_docs"] = sum(c.annotated for c in cables)
    out["n_gold"] = sum(len(c.gold) for c in cables)
    out["n_pred"] = sum(len(c.pred) for c in cables)
    out["n_ignored"] = sum(c.ignored for c in cables)
    return out


def _ratio(a, b):
    # PRFScore's arithmetic, vectorised: x / (y + 1e-100)
    return a / (b + 1e-100)


def _prf_arrays(tp, fp, fn):
    p = _ratio(tp, tp + fp)
    r = _ratio(tp, tp + fn)
    return p, r, _ratio(2 * p * r, p + r)


def bootstrap(cables: Sequence[CableScore], n: int = 1000, seed: int = 0,
              alpha: float = 0.05) -> dict:  # fmt: skip
    """Percentile bootstrap confidence intervals for P/R/F, overall and per label, resampling
    *cables* (entities within a cable are not independent). Deterministic for a given seed.

    Returns {"n": n, "seed": seed, "level": 0.95, "ents_p": [lo, hi], "ents_r": ..., "ents_f":
    ..., "per_type": {label: {"p": [lo, hi], "r": ..., "f": ...}}}; empty intervals (None) when
    there is nothing to resample.
    """
    cables = [c for c in cables if c.annotated]
    labels = sorted({lab for c in cables for lab in c.labels})
    out: dict[str, Any] = {"n": n, "seed": seed, "level": 1 - alpha}
    if not cables or not labels or n <= 0:
        out.update(ents_p=None, ents_r=None, ents_f=None, per_type={})
        return out
    counts = numpy.array(
        [[[c.tp[lab], c.fp[lab], c.fn[lab]] for lab in labels] for c in cables], dtype="float64"
    )  # (cables, labels, 3)
    rng = numpy.random.default_rng(seed)
    k = len(cables)
    weights = rng.multinomial(k, numpy.full(k, 1.0 / k), size=n).astype("float64")  # (n, cables)
    sums = numpy.einsum("bc,clk->blk", weights, counts)  # (n, labels, 3)
    q = [100 * alpha / 2, 100 * (1 - alpha / 2)]

    def interval(values) -> list[float]:
        lo, hi = numpy.percentile(values, q)
        return [float(lo), float(hi)]

    total = sums.sum(axis=1)
    p, r, f = _prf_arrays(total[:, 0], total[:, 1], total[:, 2])
    out.update(ents_p=interval(p), ents_r=interval(r), ents_f=interval(f))
    out["per_type"] = {}
    for i, lab in enumerate(labels):
        p, r, f = _prf_arrays(sums[:, i, 0], sums[:, i, 1], sums[:, i, 2])
        out["per_type"][lab] = {"p": interval(p), "r": interval(r), "f": interval(f)}
    return out


# --------------------------------------------------------------------------- all of it


def evaluate(examples: Sequence, n_bootstrap: int = 1000, seed: int = 0, min_gold: int = 5,
             n_worst: int = 10, n_samples: int = 12) -> tuple[dict, list[CableScore]]:  # fmt: skip
    """Every figure of the report for scored Examples (JSON-ready), and the per-cable scores.

    Checks its P/R/F against spaCy's `get_ner_prf` on the same Examples and raises if they differ.
    """
    cables = score_cables(examples)
    result = prf(cables)
    spacy_scores = get_ner_prf(examples)
    for key in ("ents_p", "ents_r", "ents_f", "ents_per_type"):
        if result[key] != spacy_scores[key]:
            raise AssertionError(f"{key}: {result[key]!r} != spaCy's {spacy_scores[key]!r}")
    result["ci"] = bootstrap(cables, n_bootstrap, seed)
    result["taxonomy"] = taxonomy(cables)
    result["confusions"] = confusions(cables)
    result["slices"] = slices(cables)
    result["worst_cables"] = worst_cables(cables, n_worst, min_gold)
    result["worst_cables_min_gold"] = min_gold
    result["error_samples"] = error_samples(cables, n_samples, seed)
    result["n_tokens"] = sum(c.n_tokens for c in cables)
    return result, cables
