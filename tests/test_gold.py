"""The gold evaluation layer: it loads against the shared corpus and its scores are spaCy's own."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import spacy
from spacy.scorer import Scorer
from spacy.training import Example

from cable_ner.gold import (
    GoldCable,
    GoldError,
    gold_pins,
    load_gold,
    read_gold_records,
    score_against_gold,
    tagger_predict,
    text_sha256,
)

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "gold" / "gold.jsonl"
DATA = Path(
    os.environ.get("CABLE_NER_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data")
)
CABLES = DATA / "cables" / "annotated"

needs_data = pytest.mark.skipif(
    not CABLES.is_dir(), reason=f"shared cable data not found at {CABLES}"
)


@pytest.fixture(scope="module")
def gold_cables():
    if not CABLES.is_dir():
        pytest.skip(f"shared cable data not found at {CABLES}")
    return load_gold(GOLD, CABLES)


def test_gold_file_has_no_cable_text():
    records = read_gold_records(GOLD)
    assert len(records) >= 15
    for rec in records:
        assert set(rec) >= {"reference_id", "text_sha256", "body_start", "entities", "doubts"}
        assert len(rec["text_sha256"]) == 64
        assert all(len(e) == 3 and isinstance(e[0], int) for e in rec["entities"])
    assert "text" not in json.dumps(records[0]).replace("text_sha256", "")


def test_gold_pins_match_records():
    pins = gold_pins(GOLD)
    assert len(pins) == len(read_gold_records(GOLD)) >= 15
    assert all(len(h) == 64 for h in pins.values())


@needs_data
def test_gold_loads_against_corpus(gold_cables):
    assert len(gold_cables) >= 15
    assert sum(len(c.entities) for c in gold_cables) >= 900
    pins = gold_pins(GOLD)
    for c in gold_cables:
        assert text_sha256(c.text) == pins[c.reference_id]


@needs_data
def test_gold_spread(gold_cables):
    meta = [c.meta for c in gold_cables]
    assert sum(m.get("upper_case", False) for m in meta) >= 3
    assert {m["classification"] for m in meta} >= {"UNCLASSIFIED", "CONFIDENTIAL", "SECRET"}
    assert any(m.get("sbu") for m in meta)
    assert len({m["year"] for m in meta}) >= 6
    assert len({m["post"] for m in meta}) >= 12


@needs_data
def test_entities_in_body_and_on_token_boundaries(gold_cables):
    nlp = spacy.blank("en")
    labels = set()
    for c in gold_cables:
        doc = nlp.make_doc(c.text)
        prev_end = -1
        for start, end, label in c.entities:
            labels.add(label)
            assert c.body_start <= start < end <= len(c.text)
            assert start >= prev_end, f"{c.reference_id}: overlapping gold entities"
            prev_end = end
            # whole source tokens (the bracket format wraps whitespace-separated tokens) ...
            assert start == 0 or c.text[start - 1].isspace()
            assert end == len(c.text) or c.text[end].isspace()
            assert c.text[start:end].strip() == c.text[start:end]
            # ... and spaCy token boundaries
            assert doc.char_span(start, end, label=label) is not None, (
                c.reference_id,
                c.text[start:end],
            )
        for d in c.doubts:
            assert c.body_start <= d["start"] <= d["end"] <= len(c.text) and d["note"]
    assert labels == {"PER", "LOC", "ORG", "MISC"}


@needs_data
def test_hash_mismatch_names_cable_and_file(tmp_path, gold_cables):
    rec = read_gold_records(GOLD)[0]
    rec["text_sha256"] = "0" * 64
    bad = tmp_path / "gold.jsonl"
    bad.write_text(json.dumps(rec) + "\n", encoding="utf-8")
    with pytest.raises(GoldError, match=rec["reference_id"]) as err:
        load_gold(bad, CABLES)
    assert f"{rec['reference_id']}.txt" in str(err.value)


def _independent_examples(cables):
    """The same Examples built without cable_ner.gold: gold vs silver, bodies only."""
    nlp = spacy.blank("en")
    examples = []
    for c in cables:
        ref, pred = nlp.make_doc(c.text), nlp.make_doc(c.text)
        ref.ents = [ref.char_span(s, e, label=lab) for s, e, lab in c.entities]
        spans = [
            pred.char_span(s, e, label=lab, alignment_mode="expand")
            for s, e, lab in c.silver
            if s >= c.body_start
        ]
        pred.ents = spacy.util.filter_spans([s for s in spans if s is not None])
        examples.append(Example(pred, ref))
    return examples


@needs_data
def test_tagger_score_is_computed_and_equals_spacy(gold_cables):
    scores = score_against_gold(gold_cables, tagger_predict(gold_cables))
    assert 0.3 < scores["ents_f"] < 0.95
    assert set(scores["ents_per_type"]) >= {"PER", "LOC", "ORG", "MISC"}
    theirs = Scorer.score_spans(_independent_examples(gold_cables), "ents")
    assert scores["ents_p"] == pytest.approx(theirs["ents_p"])
    assert scores["ents_r"] == pytest.approx(theirs["ents_r"])
    assert scores["ents_f"] == pytest.approx(theirs["ents_f"])
    for label, prf in theirs["ents_per_type"].items():
        assert scores["ents_per_type"][label] == pytest.approx(prf)
    # the tagger is far from the gold: silver agreement would have said 1.0
    assert scores["ents_f"] < 0.9


@needs_data
def test_gold_cables_are_pinned_to_test_split(tmp_path):
    """Pinned by their text hashes alone, every gold cable lands in the converter's test split.

    This also proves that the converter's clean text is the text the gold offsets refer to.
    """
    convert_mod = pytest.importorskip("cable_ner.convert")
    pins = gold_pins(GOLD)
    options = convert_mod.ConvertOptions(pins=frozenset(pins.values()))
    files = [CABLES / f"{rid}.txt" for rid in pins]
    report = convert_mod.convert(files, tmp_path / "corpus", options)
    assert not report["skipped"], f"the converter skipped gold cables: {report['skipped_files']}"
    assert sorted(report["pinned_to_test"]) == sorted(pins)
    assert report["splits"]["test"]["cables"] == len(pins)
    assert not report["splits"]["train"].get("cables") and not report["splits"]["dev"].get("cables")


def test_scorer_arithmetic_on_a_hand_made_case():
    text = "Ambassador Smith met the MFA in Muscat and Omani officials ."
    body_start = len("Ambassador ")  # "Ambassador" plays the header
    smith = (text.index("Smith"), text.index("Smith") + 5, "PER")
    mfa = (text.index("MFA"), text.index("MFA") + 3, "ORG")
    muscat = (text.index("Muscat"), text.index("Muscat") + 6, "LOC")
    omani = (text.index("Omani"), text.index("Omani") + 5, "MISC")
    cable = GoldCable("00TEST1", Path("00TEST1.txt"), text, body_start, [smith, mfa, muscat])

    def predict(t):
        assert t == text
        return [
            (0, 10, "PER"),  # in the header: ignored
            smith,  # right
            (mfa[0], mfa[1], "LOC"),  # wrong label
            muscat,  # right
            omani,
        ]  # not in gold

    scores = score_against_gold([cable], predict)
    # 2 of 4 predictions right, 2 of 3 gold found
    assert scores["ents_p"] == pytest.approx(2 / 4)
    assert scores["ents_r"] == pytest.approx(2 / 3)
    assert scores["ents_f"] == pytest.approx(2 * (1 / 2) * (2 / 3) / (1 / 2 + 2 / 3))
    per_type = scores["ents_per_type"]
    assert per_type["PER"] == pytest.approx({"p": 1.0, "r": 1.0, "f": 1.0})
    assert per_type["ORG"] == pytest.approx({"p": 0.0, "r": 0.0, "f": 0.0})
    assert per_type["LOC"]["p"] == pytest.approx(1 / 2) and per_type["LOC"]["r"] == pytest.approx(
        1.0
    )
    assert per_type["MISC"]["p"] == 0.0
    assert scores["n_gold"] == {"LOC": 1, "ORG": 1, "PER": 1}
    assert scores["n_pred"] == {"LOC": 2, "MISC": 1, "PER": 1}

    # all right -> 1.0; nothing predicted -> recall 0
    assert score_against_gold([cable], lambda t: [smith, mfa, muscat])["ents_f"] == 1.0
    assert score_against_gold([cable], lambda t: [])["ents_r"] == 0.0
