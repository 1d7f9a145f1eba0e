"""Silver repairs learned from gold (cable_ner.repair); relabelling a corpus (cable_ner.relabel)."""

import json
from collections import Counter
from pathlib import Path

import spacy
from spacy.tokens import DocBin

from cable_ner.gold import GoldCable
from cable_ner.relabel import relabel
from cable_ner.repair import (
    apply_repairs,
    learn_repairs,
    outcome,
    repair_corpus,
    silver_precision,
)

TEXT = "HEADER\nDate: Monday. Embassy staff met Zuma and Date: Tuesday in Rome.\n"


def _at(word: str, nth: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(nth + 1):
        start = TEXT.index(word, start + 1)
    return start, start + len(word)


def _cable() -> GoldCable:
    gold = [(*_at("Zuma"), "PER"), (*_at("Rome"), "LOC"), (*_at("Embassy staff"), "ORG")]
    return GoldCable("99TEST1", Path("99TEST1.txt"), TEXT, 7, sorted(gold))


SILVER = sorted([
    (*_at("Date:"), "PER"), (*_at("Date:", 1), "PER"),  # spurious twice: drop
    (*_at("Zuma"), "ORG"),  # same span, other label: relabel
    (*_at("Embassy"), "ORG"),  # overlaps gold "Embassy staff": rebound
    (*_at("Rome"), "LOC"),  # right
])


def test_outcome_names_each_kind_of_silver_error():
    cable = _cable()
    gold = {(s, e): lab for s, e, lab in cable.entities}
    got = {TEXT[s:e]: outcome((s, e, lab), gold, cable.entities) for s, e, lab in SILVER}
    assert got == {"Date:": "drop", "Zuma": "relabel:PER", "Embassy": "rebound", "Rome": "right"}


def test_rules_are_learned_only_from_repeated_errors():
    cable = _cable()
    rules = learn_repairs([cable], {TEXT: SILVER}, min_count=2, min_share=0.6)
    assert [(r.text, r.label, r.action, r.to, r.n, r.wrong) for r in rules] == [
        ("Date:", "PER", "drop", None, 2, 2)
    ]
    rules = learn_repairs([cable], {TEXT: SILVER}, min_count=1, min_share=0.6)
    # "Embassy" is re-bounded (not a rule of text and label), "Rome" is right
    assert {(r.text, r.action, r.to) for r in rules} == {("Date:", "drop", None),
                                                          ("Zuma", "relabel", "PER")}
    counts = Counter()
    repaired = apply_repairs(TEXT, SILVER, rules, counts)
    assert [(TEXT[s:e], lab) for s, e, lab in repaired] == [
        ("Embassy", "ORG"), ("Zuma", "PER"), ("Rome", "LOC")]
    assert counts == Counter(dropped=2, relabelled=1)


def test_silver_precision_before_and_after():
    cable = _cable()
    rules = learn_repairs([cable], {TEXT: SILVER}, min_count=1, min_share=0.6)
    scores = silver_precision([cable], {TEXT: SILVER}, rules)
    assert scores["before"]["ents_p"] == 20.0 and scores["before"]["n_pred"] == 5  # Rome only
    assert scores["after"]["ents_p"] == round(100 * 2 / 3, 2)  # Zuma, Rome of 3
    assert scores["after"]["ents_r"] == round(100 * 2 / 3, 2)
    assert scores["n_cables"] == 1


def _docbin(folder: Path, texts: list[str], ents: list[list[tuple[str, str]]]) -> Path:
    nlp = spacy.blank("en")
    db = DocBin(store_user_data=True)
    for text, spans in zip(texts, ents, strict=True):
        doc = nlp(text)
        doc.ents = [doc.char_span(*_find(text, w), label=lab) for w, lab in spans]
        doc.user_data["cable"] = {"paragraphs": [{"number": 1, "start": 0, "end": len(text)}],
                                  "source": f"{len(text)}.txt"}
        db.add(doc)
    folder.mkdir(parents=True)
    db.to_disk(folder / "00000.spacy")
    return folder


def _find(text: str, word: str) -> tuple[int, int]:
    return text.index(word), text.index(word) + len(word)


def _read(path: Path) -> list:
    nlp = spacy.blank("en")
    return list(DocBin().from_disk(path).get_docs(nlp.vocab))


def test_repair_corpus_drops_relabels_and_leaves_out_upper_case(tmp_path):
    src = _docbin(tmp_path / "train.spacy",
                  ["Date: Monday. Zuma met staff in Rome.", "DATE: ZUMA MET STAFF IN ROME."],
                  [[("Date:", "PER"), ("Zuma", "ORG"), ("Rome", "LOC")], [("ROME", "LOC")]])
    rules = learn_repairs([_cable()], {TEXT: SILVER}, min_count=1, min_share=0.6)
    counts = repair_corpus(src, tmp_path / "out" / "train.spacy", rules, drop_upper_case=True)
    assert counts == {"docs": 2, "entities": 4, "upper_case_left_out": 1, "dropped": 1,
                      "relabelled": 1}
    (doc,) = _read(tmp_path / "out" / "train.spacy" / "00000.spacy")
    assert [(e.text, e.label_) for e in doc.ents] == [("Zuma", "PER"), ("Rome", "LOC")]
    assert doc.user_data["cable"]["source"] == "37.txt"


def test_relabel_replaces_entities_and_keeps_tokens_sentences_and_metadata(tmp_path):
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "PER", "pattern": "Zuma"}, {"label": "LOC", "pattern": "Rome"}])
    nlp.add_pipe("sentencizer")  # must not run: the converter's sentences stay
    nlp.to_disk(tmp_path / "model")
    src = _docbin(tmp_path / "corpus" / "train.spacy", ["Zuma met staff in Rome. Then left"],
                  [[("Zuma", "ORG"), ("staff", "MISC")]])
    before = _read(src / "00000.spacy")[0]
    summary = relabel(tmp_path / "model", src, tmp_path / "new" / "train.spacy")
    (doc,) = _read(tmp_path / "new" / "train.spacy" / "00000.spacy")
    assert [(e.text, e.label_) for e in doc.ents] == [("Zuma", "PER"), ("Rome", "LOC")]
    assert [t.text for t in doc] == [t.text for t in before]
    assert [t.is_sent_start for t in doc] == [t.is_sent_start for t in before]
    assert doc.user_data["cable"] == before.user_data["cable"]
    assert summary["docs"] == 1
    assert summary["entities_before"] == {"MISC": 1, "ORG": 1}
    assert summary["entities_after"] == {"LOC": 1, "PER": 1}
    assert summary["f_against_input"] == 0.0
    json.dumps(summary)


def test_gold_cables_of_a_corpus_keep_their_labels(tmp_path):
    from cable_ner.relabel import corpus_gold_ids

    corpus = tmp_path / "corpus"
    src = _docbin(corpus / "train.spacy", ["Date: Monday. Zuma met staff in Rome."],
                  [[("Date:", "PER"), ("Zuma", "ORG")]])
    (corpus / "report.json").write_text(json.dumps({"gold_labels": ["37"]}))
    keep = corpus_gold_ids(corpus)
    assert keep == {"37"} and corpus_gold_ids(tmp_path) == frozenset()
    rules = learn_repairs([_cable()], {TEXT: SILVER}, min_count=1, min_share=0.6)
    counts = repair_corpus(src, tmp_path / "rep" / "train.spacy", rules, keep=keep)
    assert counts == {"docs": 1, "entities": 2, "kept_gold": 1}
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "LOC", "pattern": "Rome"}])
    nlp.to_disk(tmp_path / "model")
    summary = relabel(tmp_path / "model", src, tmp_path / "rel" / "train.spacy", keep=keep)
    assert summary["kept_gold"] == 1 and summary["entities_after"] == {}
    for out in ("rep", "rel"):
        (doc,) = _read(tmp_path / out / "train.spacy" / "00000.spacy")
        assert [(e.text, e.label_) for e in doc.ents] == [("Date:", "PER"), ("Zuma", "ORG")]
