"""Silver repairs learned from gold (cable_ner.repair); relabelling a corpus (cable_ner.relabel)."""

import json
from collections import Counter
from pathlib import Path

import pytest
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


def _header_doc(nlp, text: str, header_words: int, ents: list[tuple[str, str]]):
    """A converted-style doc: its first `header_words` tokens without NER annotation."""
    doc = nlp(text)
    spans = [doc.char_span(*_find(text, w), label=lab) for w, lab in ents]
    doc.set_ents(spans, missing=[doc[:header_words]], default="outside")
    doc.user_data["cable"] = {"source": f"{len(text)}.txt"}
    return doc


def _ruler_model(path: Path) -> Path:
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([
        {"label": "LOC", "pattern": "Rome"}, {"label": "PER", "pattern": "Zuma"},
        {"label": "ORG", "pattern": "Embassy"}])
    nlp.to_disk(path)
    return path


def test_relabel_keeps_header_tokens_unannotated_and_drops_entities_there(tmp_path):
    nlp = spacy.blank("en")
    src = tmp_path / "corpus" / "train.spacy"
    src.mkdir(parents=True)
    text = "Embassy Rome SECTION 01 . Zuma met staff in Rome ."
    DocBin(store_user_data=True, docs=[_header_doc(nlp, text, 4, [("Zuma", "ORG")])]).to_disk(
        src / "00000.spacy")
    summary = relabel(_ruler_model(tmp_path / "model"), src, tmp_path / "new" / "train.spacy")
    (doc,) = _read(tmp_path / "new" / "train.spacy" / "00000.spacy")
    # "Embassy" and the first "Rome" are header tokens: no entity, still without annotation
    assert [(e.text, e.label_, e.start) for e in doc.ents] == [("Zuma", "PER", 5),
                                                              ("Rome", "LOC", 9)]
    assert [t.i for t in doc if t.ent_iob == 0] == [0, 1, 2, 3]
    assert summary["entities_after"] == {"LOC": 1, "PER": 1}


def test_relabel_in_processes_writes_and_scores_what_one_process_does(tmp_path):
    from spacy.scorer import get_ner_prf
    from spacy.training import Example

    nlp = spacy.blank("en")
    texts = [("HEADER Rome . Zuma met Embassy staff in Rome .",
              [("Zuma", "PER"), ("staff", "MISC")]),
             ("HEADER . Rome and Zuma .", [("Rome", "LOC"), ("Zuma", "ORG")]),
             ("HEADER . Nothing here .", []),
             ("HEADER . Embassy of Rome .", [("Embassy of Rome", "ORG")])]
    src = tmp_path / "corpus" / "train.spacy"
    src.mkdir(parents=True)
    docs = [_header_doc(nlp, text, 2, ents) for text, ents in texts]
    for i in range(2):  # two shards of two cables
        DocBin(store_user_data=True, docs=docs[2 * i: 2 * i + 2]).to_disk(src / f"0000{i}.spacy")
    model = _ruler_model(tmp_path / "model")
    one = relabel(model, src, tmp_path / "one" / "train.spacy",
                  header_dest=tmp_path / "one_h" / "train.spacy")
    two = relabel(model, src, tmp_path / "two" / "train.spacy", n_process=2,
                  header_dest=tmp_path / "two_h" / "train.spacy")
    paths = ("output", "header_output")
    assert {k: v for k, v in one.items() if k not in paths} == {
        k: v for k, v in two.items() if k not in paths}

    def ents(run: str, name: str) -> list:
        return [[(e.start, e.end, e.label_) for e in d.ents] for d in _read(tmp_path / run / name)]

    for shard in ("train.spacy/00000.spacy", "train.spacy/00001.spacy"):
        assert ents("one", shard) == ents("two", shard)
        assert ents("one_h", shard) == ents("two_h", shard)
    # the variant adds the header's "Rome" of the first cable, wholly inside its header
    assert ents("two_h", "train.spacy/00000.spacy")[0][0] == (1, 2, "LOC")
    new = [d for i in range(2) for d in _read(tmp_path / "one" / f"train.spacy/0000{i}.spacy")]
    spacy_f = get_ner_prf([Example(n, o) for n, o in zip(new, docs, strict=True)])
    assert one["f_against_input"] == round(100 * spacy_f["ents_f"], 2)
    assert one["p_against_input"] == round(100 * spacy_f["ents_p"], 2) == round(100 * 2 / 7, 2)
    assert one["entities_after"] == {"LOC": 3, "ORG": 2, "PER": 2}  # right: Zuma, Rome (of 7)
    assert one["docs"] == 4


def test_relabel_names_a_shard_it_cannot_read(tmp_path):
    src = _docbin(tmp_path / "corpus" / "train.spacy", ["Zuma met staff in Rome."], [[]])
    (src / "00001.spacy").write_bytes(b"not a DocBin")
    model = _ruler_model(tmp_path / "model")
    for n_process in (1, 2):
        with pytest.raises(ValueError, match=r"00001\.spacy: not a readable DocBin"):
            relabel(model, src, tmp_path / f"new{n_process}" / "train.spacy", n_process=n_process)


def test_relabel_header_output_keeps_entities_wholly_inside_the_header(tmp_path):
    nlp = spacy.blank("en")
    src = tmp_path / "corpus" / "train.spacy"
    src.mkdir(parents=True)
    text = "Zuma Embassy Rome met us ."
    DocBin(store_user_data=True, docs=[_header_doc(nlp, text, 2, [])]).to_disk(src / "00000.spacy")
    model = spacy.blank("en")
    model.add_pipe("entity_ruler").add_patterns([
        {"label": "PER", "pattern": "Zuma"}, {"label": "ORG", "pattern": "Embassy Rome"}])
    model.to_disk(tmp_path / "model")
    summary = relabel(tmp_path / "model", src, tmp_path / "new" / "train.spacy",
                      header_dest=tmp_path / "header" / "train.spacy")
    (plain,) = _read(tmp_path / "new" / "train.spacy" / "00000.spacy")
    (header,) = _read(tmp_path / "header" / "train.spacy" / "00000.spacy")
    # the plain corpus: no entity touches the header, both header tokens unannotated
    assert list(plain.ents) == [] and [t.i for t in plain if t.ent_iob == 0] == [0, 1]
    # the variant: Zuma, wholly in the header, is an entity; "Embassy Rome" crosses the header's
    # edge and is dropped; the header's other token stays unannotated, the body's "Rome" is O
    assert [(e.text, e.label_) for e in header.ents] == [("Zuma", "PER")]
    assert [t.i for t in header if t.ent_iob == 0] == [1]
    assert header[2].ent_iob_ == "O"
    assert summary["entities_after"] == {} and summary["header_output"].endswith("train.spacy")
