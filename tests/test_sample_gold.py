"""The sample's gold file: 10 invented cables corrected to the guidelines, in the layer's format."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from cable_ner.gold import GOLD_LABELS, load_gold, read_gold_records, record_split
from cable_ner.gold_build import on_token_boundaries
from cable_ner.gold_score import score_against_gold, tagger_predict

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_GOLD = ROOT / "assets" / "sample" / "gold.jsonl"
TAGGED = ROOT / "assets" / "sample" / "tagged"
LAYER_FIELDS = {
    "reference_id", "split", "text_sha256", "body_start", "entities", "doubts",
    "annotator_note", "classification", "sbu", "post", "year", "upper_case",
}  # fmt: skip


@pytest.fixture(scope="module")
def cables():
    return load_gold(SAMPLE_GOLD, TAGGED)


def test_all_ten_load_with_matching_hashes(cables):
    # load_gold refuses a cable whose clean text does not hash to the record's text_sha256
    assert len(cables) == 10
    assert len({c.reference_id for c in cables}) == 10


def test_splits_are_six_two_two():
    counts = {s: len(load_gold(SAMPLE_GOLD, TAGGED, split=s)) for s in ("train", "dev", "test")}
    assert counts == {"train": 6, "dev": 2, "test": 2}


def test_records_follow_the_documented_draw():
    ids = sorted(p.stem for p in TAGGED.glob("*.txt"))
    drawn = random.Random(17).sample(ids, 10)
    expected = dict(zip(drawn, ["train"] * 6 + ["dev"] * 2 + ["test"] * 2, strict=True))
    assert {r["reference_id"]: record_split(r) for r in read_gold_records(SAMPLE_GOLD)} == expected


def test_records_have_the_layers_fields_and_doubts():
    for rec in read_gold_records(SAMPLE_GOLD):
        assert set(rec) == LAYER_FIELDS, rec["reference_id"]
        assert rec["doubts"], f"{rec['reference_id']}: no doubts"
        for d in rec["doubts"]:
            assert rec["body_start"] <= d["start"] <= d["end"] and d["note"].strip()


def test_entities_are_whole_tokens_of_the_body_with_known_labels(cables):
    labels = Counter()
    for c in cables:
        previous_end = c.body_start
        for start, end, label in c.entities:
            assert label in GOLD_LABELS, (c.reference_id, start, label)
            assert on_token_boundaries(c.text, start, end), (c.reference_id, c.text[start:end])
            assert start >= previous_end, f"{c.reference_id}: overlapping entities at {start}"
            previous_end = end
            labels[label] += 1
    assert set(labels) == set(GOLD_LABELS)


def test_the_tagger_scores_below_gold_but_not_zero(cables):
    scores = score_against_gold(cables, tagger_predict(cables))
    print(f"tagger vs sample gold: P {scores['ents_p']:.3f} R {scores['ents_r']:.3f} "
          f"F {scores['ents_f']:.3f}")  # fmt: skip
    assert 0.0 < scores["ents_f"] < 1.0
    assert scores["n_docs"] == 10
