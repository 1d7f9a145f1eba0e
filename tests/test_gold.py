"""The gold evaluation layer: it loads against the shared corpus and its scores are spaCy's own."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.scorer import Scorer
from spacy.tokens import DocBin
from spacy.training import Example

from cable_ner.gold import (
    GOLD_SPLITS,
    GoldCable,
    GoldError,
    gold_labels,
    gold_pins,
    gold_splits,
    load_gold,
    read_gold_records,
    record_split,
    text_sha256,
)
from cable_ner.gold_score import (
    SILVER_GOLD_KINDS,
    filtered_tagger_predict,
    gold_predict,
    gold_report,
    min_copied_share,
    score_against_gold,
    score_gold_layer,
    score_systems,
    silver_against_gold,
    silver_vs_gold,
    tagger_predict,
)
from cable_ner.report import silver_vs_gold_md

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


@pytest.fixture(scope="module")
def gold_test(gold_cables):
    """The gold test split: what the scoring tests score (the whole layer takes 5x longer)."""
    return [c for c in gold_cables if c.meta.get("split", "test") == "test"]


def test_gold_file_has_no_cable_text():
    records = read_gold_records(GOLD)
    assert len(records) >= 15
    for rec in records:
        assert set(rec) >= {"reference_id", "text_sha256", "body_start", "entities", "doubts"}
        assert len(rec["text_sha256"]) == 64
        assert all(len(e) == 3 and isinstance(e[0], int) for e in rec["entities"])
    assert "text" not in json.dumps(records[0]).replace("text_sha256", "")


def test_gold_splits_are_disjoint_and_large_enough():
    records = read_gold_records(GOLD)
    splits = gold_splits(GOLD)
    ids = [set(splits[s]) for s in GOLD_SPLITS]
    assert sum(map(len, ids)) == len(records) == len(set.union(*ids)) >= 160
    assert sum(len(r["entities"]) for r in records) >= 10_000
    assert len(splits["test"]) >= 30 and len(splits["dev"]) >= 12 and len(splits["train"]) >= 110
    train_entities = sum(len(r["entities"]) for r in records if record_split(r) == "train")
    assert train_entities >= 7_000
    # the layer's first 17 cables (made before the splits) are all test
    first = {"89PANAMA8545", "90CAPETOWN97", "04MADRID2303", "10MUSCAT71", "09CAIRO37"}
    assert first <= set(splits["test"])
    pins = gold_pins(GOLD)  # what the converter keeps out of silver train and dev
    assert set(pins) == set(splits["test"]) | set(splits["dev"])
    assert set(gold_labels(GOLD)) == set(splits["train"].values())
    assert all(len(h) == 64 for h in pins.values())


def test_layer_spread_follows_the_draws():
    """The drawn cables are the layer's new ones, with their draw's split, and upper-case cables
    are in at least their corpus share. The second draw enlarged gold dev only, with cables the
    converter already holds out of silver train and dev."""
    records = {r["reference_id"]: r for r in read_gold_records(GOLD)}
    draws = [json.loads((ROOT / "gold" / name).read_text(encoding="utf-8"))
             for name in ("sample.json", "sample_dev.json")]  # fmt: skip
    upper = sum(bool(r.get("upper_case")) for r in records.values()) / len(records)
    first, second = ({c["reference_id"]: c for c in d["cables"]} for d in draws)
    for draw, drawn, at_least in zip(draws, (first, second), (143, 14), strict=True):
        corrected = set(drawn) & set(records)
        assert len(corrected) >= at_least
        assert all(records[rid]["split"] == drawn[rid]["split"] for rid in corrected)
        assert all(records[rid]["text_sha256"] == drawn[rid]["text_sha256"] for rid in corrected)
        assert all(records[rid]["doubts"] for rid in corrected), "every corrected cable has doubts"
        assert upper >= draw["corpus"]["upper_case_share"]
    assert {c["split"] for c in second.values()} == {"dev"}
    assert {c["silver_split"] for c in second.values()} == {"test"}
    assert not set(first) & set(second)
    assert sum(c["upper_case"] for c in second.values()) == 5


@needs_data
def test_gold_loads_against_corpus(gold_cables):
    assert len(gold_cables) >= 160
    assert sum(len(c.entities) for c in gold_cables) >= 10_000
    hashes = {r["reference_id"]: r["text_sha256"] for r in read_gold_records(GOLD)}
    for c in gold_cables:
        assert text_sha256(c.text) == hashes[c.reference_id]
    test = load_gold(GOLD, CABLES, "test")
    assert {c.reference_id for c in test} == set(gold_splits(GOLD)["test"])
    with pytest.raises(GoldError, match="unknown gold split"):
        load_gold(GOLD, CABLES, "holdout")


@needs_data
def test_tagger_f_per_gold_split_is_computed_and_printed(capsys):
    """The tagger's F against gold on test, dev and the whole layer, from spaCy's scorer."""
    figures = {}
    for split in ("test", "dev", "all"):
        cables = load_gold(GOLD, CABLES, split)
        result = score_systems(cables, {"tagger": tagger_predict(cables)}, split, n_bootstrap=200)
        tagger = result["systems"]["tagger"]
        if split == "test":  # score_systems is spaCy's scorer (checked on every split elsewhere)
            assert tagger["ents_f"] == pytest.approx(
                score_against_gold(cables, tagger_predict(cables))["ents_f"]
            )
        lo, hi = tagger["ci"]["ents_f"]
        assert lo <= tagger["ents_f"] <= hi
        mixed = tagger["by_case"]["mixed case"]
        assert mixed["n_cables"] + tagger["by_case"].get("upper case", {"n_cables": 0})[
            "n_cables"
        ] == len(cables)
        figures[split] = (tagger["ents_f"], lo, hi, mixed["ents_f"], len(cables))
        assert 0.4 < tagger["ents_f"] < 0.9  # the tagger is far from the truth
    with capsys.disabled():
        for split, (f, lo, hi, mixed, n) in figures.items():
            print(f"\ntagger against gold {split}: F {100 * f:.1f} ({100 * lo:.1f}-{100 * hi:.1f}),"
                  f" mixed case {100 * mixed:.1f}, {n} cables")  # fmt: skip


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
def test_tagger_score_is_computed_and_equals_spacy(gold_test):
    gold_cables = gold_test
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
def test_gold_cables_reach_silver_training_only_with_gold_labels(tmp_path):
    """Converted by the gold layer's pins, no gold test or dev cable reaches the silver train or
    dev split, and a gold train cable lands in train with exactly its gold entities.

    This also proves that the converter's clean text is the text the gold offsets refer to.
    """
    convert_mod = pytest.importorskip("cable_ner.convert")
    pins = gold_pins(GOLD)
    train = gold_labels(GOLD)
    records = read_gold_records(GOLD)
    some_train = [r for r in records if record_split(r) == "train"][:6]
    options = convert_mod.ConvertOptions(pins=frozenset(pins.values()), gold=train)
    files = [CABLES / f"{rid}.txt" for rid in pins] + [
        CABLES / f"{r['reference_id']}.txt" for r in some_train
    ]
    out = tmp_path / "corpus"
    report = convert_mod.convert(files, out, options)
    assert not report["skipped"], f"the converter skipped gold cables: {report['skipped_files']}"
    assert sorted(report["pinned_to_test"]) == sorted(pins)
    assert report["splits"]["test"]["cables"] == len(pins)
    assert not report["splits"]["dev"].get("cables")
    assert report["splits"]["train"]["cables"] == len(some_train)
    assert sorted(report["gold_labels"]) == sorted(r["reference_id"] for r in some_train)
    nlp = spacy.blank("en")
    docs = []
    for shard in sorted((out / "train.spacy").glob("*.spacy")):
        docs += list(DocBin().from_disk(shard).get_docs(nlp.vocab))
    by_id = {d.user_data["cable"]["header"]["reference_id"]: d for d in docs}
    for rec in some_train:
        doc = by_id[rec["reference_id"]]
        assert [[e.start_char, e.end_char, e.label_] for e in doc.ents] == rec["entities"]


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


# ----------------------------------------------------------------- silver judged by the gold layer

SG_TEXT = "Ambassador Smith met the MFA , the S/NF office and Omani and Iraqi officials in Muscat ."


def _span(word: str, label: str, text: str = SG_TEXT) -> tuple[int, int, str]:
    start = text.index(word)
    return (start, start + len(word), label)


SG_GOLD = [_span("Smith", "PER"), _span("MFA", "ORG"), _span("Omani", "MISC"),
           _span("Iraqi", "MISC"), _span("Muscat", "LOC")]  # fmt: skip
SG_SILVER = [_span("Smith", "PER"), _span("MFA", "ORG"), _span("S/NF", "ORG"),
             _span("Omani", "LOC"), _span("Muscat", "LOC")]  # fmt: skip
SG_CANDIDATES = sorted(set(SG_GOLD) | set(SG_SILVER) | {_span("officials", "PER")})


def _sg_cable(entities=SG_GOLD) -> GoldCable:
    body_start = len("Ambassador ")
    return GoldCable("00TEST2", Path("00TEST2.txt"), SG_TEXT, body_start, list(entities))


def test_score_gold_layer_reads_the_layer_and_scores_each_cable_once(tmp_path):
    """The one gold scoring of evaluate.py and score_gold.py: the layer read against the cables
    (tagged, so the tagger's labels are there), `gold_report` on them with the pipeline run once
    per cable, the layer's path beside; a clear GoldError when anything is missing."""
    cables = tmp_path / "cables"
    cables.mkdir()
    tagged = ("Ambassador [PER Smith  ] met the [ORG MFA  ] , the [ORG S/NF  ] office and "
              "[LOC Omani  ] and Iraqi officials in [LOC Muscat  ] .")  # fmt: skip
    (cables / "00TEST2.txt").write_text(tagged, encoding="utf-8")
    rec = {"reference_id": "00TEST2", "split": "test", "text_sha256": text_sha256(SG_TEXT),
           "body_start": len("Ambassador "), "entities": [list(e) for e in SG_GOLD]}  # fmt: skip
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps(rec) + "\n", encoding="utf-8")
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns(
        [{"label": "PER", "pattern": "Smith"}, {"label": "LOC", "pattern": "Iraqi"}]
    )
    texts = []

    def counting_nlp(text):
        texts.append(text)
        return nlp(text)

    result = score_gold_layer(gold, cables, "test", counting_nlp, n_bootstrap=20)
    assert texts == [SG_TEXT]  # scored for gold and judged against silver from one run
    expected = gold_report(load_gold(gold, cables, "test"), lambda t: [
        (e.start_char, e.end_char, e.label_) for e in nlp(t).ents], "test", n_bootstrap=20)
    assert result == {"gold": str(gold), **expected}
    assert list(result["systems"]) == ["model", "tagger", "tagger + filters"]
    model = result["systems"]["model"]
    assert (model["ents_p"], model["ents_r"]) == (0.5, 0.2)  # Smith right, Iraqi a wrong LOC
    # silver: the tagger's labels less the portion mark S/NF the silver filters drop
    assert result["silver_vs_gold"]["silver"] == "tagger + filters"
    assert result["silver_vs_gold"]["gold"]["all"]["n_silver"] == len(SG_SILVER) - 1
    tagger_only = score_gold_layer(gold, cables, "all", n_bootstrap=20)
    assert list(tagger_only["systems"]) == ["tagger", "tagger + filters"]
    assert tagger_only["systems"]["tagger"] == result["systems"]["tagger"]
    with pytest.raises(GoldError, match="has no dev cables"):
        score_gold_layer(gold, cables, "dev", n_bootstrap=20)
    with pytest.raises(GoldError, match=r"00TEST2: .*elsewhere.00TEST2\.txt not found"):
        score_gold_layer(gold, tmp_path / "elsewhere", "test", n_bootstrap=20)
    with pytest.raises(GoldError, match="cannot read the gold layer: .*missing.jsonl"):
        score_gold_layer(tmp_path / "missing.jsonl", cables, "test", n_bootstrap=20)
    with pytest.raises(GoldError, match="unknown gold split 'tset'"):
        score_gold_layer(gold, cables, "tset", n_bootstrap=20)


def test_silver_against_gold_counts_every_kind_on_a_hand_made_case():
    predicted = [
        _span("Smith", "PER"),  # silver and gold: agreed_right
        _span("S/NF", "ORG"),  # silver only: a copied tagger error
        _span("Iraqi", "MISC"),  # gold only: right, a silver false positive
        _span("officials", "PER"),  # neither
        _span("Omani", "MISC"),  # gold only; its silver LOC is then a tagger error avoided
    ]  # MFA (silver and gold) not predicted: a real miss
    result = silver_against_gold([_sg_cable()], lambda t: predicted, lambda t: SG_SILVER)
    assert result["counts"] == {"agreed_right": 1, "agreed_wrong": 1, "extra_right": 2,
                                "extra_wrong": 1, "missed_wrong": 1, "missed_right": 2}  # fmt: skip
    assert set(result["counts"]) == set(SILVER_GOLD_KINDS)
    assert (result["n_silver"], result["n_gold"]) == (5, 5)
    # silver: 2 of 5 predictions, 2 of 5 silver entities; 3 of its 6 silver errors are right
    assert result["silver_p"] == pytest.approx(2 / 5) and result["silver_r"] == pytest.approx(2 / 5)
    assert result["silver_errors_right"] == pytest.approx(3 / 6)
    # Smith, MFA, Muscat of the 5 silver entities are right: a gold-equal system's silver F
    assert result["silver_precision"] == pytest.approx(3 / 5)
    assert result["gold_silver_f"] == pytest.approx(2 * 3 / (5 + 5))
    # the silver F is spaCy's F of the predictions against the silver labels as reference
    spacy_f = score_against_gold([_sg_cable(SG_SILVER)], lambda t: predicted)["ents_f"]
    assert result["silver_f"] == pytest.approx(spacy_f)


def test_min_copied_share():
    assert min_copied_share(0.85, 0.675) == pytest.approx(0.175 / 0.325)
    assert min_copied_share(0.6, 0.675) == 0.0
    assert min_copied_share(0.85, 1.0) == 0.0


@settings(max_examples=60, deadline=None)
@given(st.sets(st.sampled_from(SG_CANDIDATES)))
def test_no_system_reaches_a_silver_recall_without_copying_the_bound(predicted):
    """Whatever a system predicts, the tagger errors it copies are at least min_copied_share of
    the wrong silver entities for the silver recall it gets."""
    cable = _sg_cable()
    result = silver_against_gold([cable], lambda t: sorted(predicted), lambda t: SG_SILVER)
    perfect = silver_against_gold([cable], gold_predict([cable]), lambda t: SG_SILVER)
    wrong = perfect["counts"]["missed_wrong"]
    bound = min_copied_share(result["silver_r"], perfect["silver_precision"])
    assert result["counts"]["agreed_wrong"] >= bound * wrong - 1e-9
    assert result["silver_f"] is None or result["silver_f"] <= 1.0
    # the gold-equal system copies nothing and misses no right silver entity
    assert perfect["counts"]["agreed_wrong"] == perfect["counts"]["missed_right"] == 0


@needs_data
def test_gold_equal_system_scores_the_tagger_f_on_silver(gold_test):
    """F is symmetric: the silver F of gold is the silver labels' F against gold, which
    score_against_gold computes with spaCy's scorer independently of silver_against_gold."""
    gold_cables = gold_test
    silver = filtered_tagger_predict(gold_cables)
    tagger_vs_gold = score_against_gold(gold_cables, silver)
    split = silver_vs_gold(gold_cables, silver, "tagger + filters")
    everything = split["gold"]["all"]
    assert everything["gold_silver_f"] == pytest.approx(tagger_vs_gold["ents_f"])
    assert everything["silver_precision"] == pytest.approx(tagger_vs_gold["ents_p"])
    assert everything["silver_f"] == pytest.approx(tagger_vs_gold["ents_f"])
    assert everything["n_silver"] == sum(tagger_vs_gold["n_pred"].values())
    assert everything["n_cables"] == len(gold_cables)
    mixed = [c for c in gold_cables if not c.meta.get("upper_case")]
    assert split["gold"]["mixed case"]["n_cables"] == len(mixed) < len(gold_cables)
    assert split["gold"]["mixed case"]["gold_silver_f"] == pytest.approx(
        score_against_gold(mixed, silver)["ents_f"]
    )
    # the tagger is right more often on mixed-case cables, and far from 0.85 on both
    assert everything["gold_silver_f"] < split["gold"]["mixed case"]["gold_silver_f"] < 0.85
    md = "\n".join(silver_vs_gold_md(split))
    assert f"| all ({len(gold_cables)}) | {everything['n_silver']:,} |" in md
    assert f"{100 * everything['gold_silver_f']:.1f}" in md


def test_silver_vs_gold_report_names_the_model_counts():
    cable = _sg_cable()
    predicted = [_span("Smith", "PER"), _span("S/NF", "ORG")]
    split = silver_vs_gold([cable], lambda t: SG_SILVER, "tagger", lambda t: predicted)
    assert set(split["gold"]) == set(split["model"]) == {"all"}  # no upper-case cable
    md = "\n".join(silver_vs_gold_md(split))
    assert "| all (1) | 5 | 60.0 | 60.0 | 62.5% of 2 |" in md  # (0.85 - 0.6) / 0.4
    assert f"| {SILVER_GOLD_KINDS['agreed_wrong']} | 1 |" in md
    # silver F 2 * 2 / (2 * 2 + 0 + 3); its silver errors are 3 misses: MFA and Muscat are
    # real, Omani LOC a tagger error avoided
    assert "where gold says it is right: 57.1 and 33.3% on all." in md
    assert "model entities" not in "\n".join(silver_vs_gold_md(dict(split, model={})))
    assert silver_vs_gold_md(None) == []


def test_silver_against_gold_refuses_a_silver_f_that_spacy_does_not_give(monkeypatch):
    import spacy.scorer

    real = spacy.scorer.get_ner_prf
    monkeypatch.setattr(spacy.scorer, "get_ner_prf", lambda egs: dict(real(egs), ents_f=0.5))
    with pytest.raises(AssertionError, match="spaCy's 0.5"):
        silver_against_gold([_sg_cable()], lambda t: SG_SILVER[:2], lambda t: SG_SILVER)


def test_silver_vs_gold_report_without_silver_entities():
    """A cable with no silver entity: no share to copy, no crash, the gold's silver F is 0."""
    split = silver_vs_gold([_sg_cable()], lambda t: [], "tagger", lambda t: [])
    assert split["gold"]["all"]["silver_precision"] is None
    md = "\n".join(silver_vs_gold_md(split))
    assert "| all (1) | 0 | – | 0.0 | –% of 0 |" in md
    assert "right: – and –% on all." in md


@needs_data
def test_convert_script_gold_options(tmp_path):
    """`--gold-only` writes each gold cable into its own gold split with its gold labels;
    `--no-gold-train` keeps every gold cable out of silver training."""
    import subprocess
    import sys

    records = read_gold_records(GOLD)
    chosen = {s: [r for r in records if record_split(r) == s][:2] for s in GOLD_SPLITS}
    files = [str(CABLES / f"{r['reference_id']}.txt") for rs in chosen.values() for r in rs]
    base = [sys.executable, str(ROOT / "scripts" / "convert.py"), *files, "--pin-test", str(GOLD)]
    for flag, expected in (("--gold-only", {s: 2 for s in GOLD_SPLITS}),
                           ("--no-gold-train", {"train": 0, "dev": 0, "test": 6})):  # fmt: skip
        out = tmp_path / flag.strip("-")
        run = subprocess.run([*base, "--output", str(out), flag], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr[-2000:]
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
        assert {s: report["splits"][s].get("cables", 0) for s in GOLD_SPLITS} == expected
    report = json.loads((tmp_path / "gold-only" / "report.json").read_text(encoding="utf-8"))
    n_gold = sum(len(r["entities"]) for rs in chosen.values() for r in rs)
    assert report["entities_total"] == n_gold and not report["filtered"]
