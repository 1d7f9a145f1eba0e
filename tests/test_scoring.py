"""cable_ner.scoring and cable_ner.errors on hand-made Examples: spaCy's figures, errors, CIs."""

from collections import Counter

import pytest
import spacy
from spacy.scorer import Scorer, get_ner_prf
from spacy.tokens import Doc, Span
from spacy.training import Example

from cable_ner.errors import classify, confusions, slices, taxonomy, worst_cables
from cable_ner.scoring import (
    CableScore,
    bootstrap,
    cable_year,
    evaluate,
    is_upper_case,
    prf,
    score_cables,
)

NLP = spacy.blank("en")
#        0    1     2   3    4     5  6    7    8  9     10  11     12        13
WORDS = "John Smith met Mary Jones of Acme Corp in Paris and London yesterday .".split()
GOLD = [(0, 2, "PER"), (3, 5, "PER"), (6, 8, "ORG"), (9, 10, "LOC"), (11, 12, "LOC")]
PRED = [
    (0, 2, "PER"),  # correct
    (3, 5, "ORG"),  # wrong label (PER)
    (7, 8, "ORG"),  # wrong boundary (ORG 6-8)
    (8, 10, "MISC"),  # wrong label and boundary (LOC 9-10)
    (12, 13, "MISC"),  # spurious; LOC 11-12 is missed
]


def doc(words, ents, missing=0, cable=None) -> Doc:
    d = Doc(NLP.vocab, words=words)
    spans = [Span(d, s, e, label=lab) for s, e, lab in ents]
    d.set_ents(spans, missing=[Span(d, 0, missing)] if missing else [], default="outside")
    if cable is not None:
        d.user_data["cable"] = cable
    return d


def cable(rid="07MUSCAT412", classification="SECRET", post="MUSCAT", paragraphs=()) -> dict:
    header = {"reference_id": rid, "classification": classification, "post": post}
    return {"header": {**header, "header_end": 0}, "paragraphs": list(paragraphs)}


def hand_example(**kw) -> Example:
    return Example(doc(WORDS, PRED), doc(WORDS, GOLD, cable=cable(**kw)))


def header_example() -> Example:
    """Reference tokenized on spaces (the tagger's tokens), header tokens missing; predicted
    with spaCy's English tokenizer, as `Corpus` makes it; one prediction in the header."""
    text = "SECRET MUSCAT 000412 TAGS : PREL Officials in Muscat,Oman met Harthy ( MFA ) today ."
    ref = Doc(NLP.vocab, words=text.split(" "))
    ents = [Span(ref, 8, 9, "LOC"), Span(ref, 10, 11, "PER"), Span(ref, 12, 13, "ORG")]
    ref.set_ents(ents, missing=[Span(ref, 0, 6)], default="outside")
    para = {"number": 1, "portion": "C", "start": text.index("Officials"), "end": len(text)}
    ref.user_data["cable"] = cable(paragraphs=[para])
    pred = NLP.make_doc(ref.text)
    index = {t.text: t.i for t in pred}
    pred.ents = [Span(pred, index[w], index[w] + 1, label)
                 for w, label in (("MUSCAT", "LOC"), ("Muscat", "LOC"), ("Harthy", "PER"),
                                  ("MFA", "ORG"))]  # fmt: skip
    return Example(pred, ref)


def test_scores_equal_spacy_scorer_on_hand_made_docs():
    examples = [hand_example(), header_example()]
    cables = score_cables(examples)
    ours = prf(cables)
    spacy_scores = get_ner_prf(examples)
    for key in ("ents_p", "ents_r", "ents_f", "ents_per_type"):
        assert ours[key] == spacy_scores[key]
    # the header prediction (MUSCAT on missing tokens) is ignored, as spaCy ignores it
    assert cables[1].ignored == 1
    # Muscat (spaCy token) aligns to the reference token "Muscat,Oman": spaCy counts a tp
    assert cables[1].tp == Counter({"LOC": 1, "PER": 1, "ORG": 1})
    assert ours["counts"]["ALL"] == {"tp": 4, "fp": 4, "fn": 4}
    # without missing annotation and with the same tokens, score_spans says the same
    plain = [hand_example()]
    spans = Scorer.score_spans(plain, "ents")
    assert prf(score_cables(plain))["ents_f"] == spans["ents_f"] == pytest.approx(0.2)
    assert evaluate(examples, n_bootstrap=50)[0]["ents_f"] == spacy_scores["ents_f"]


def test_taxonomy_on_a_hand_made_case():
    cables = score_cables([hand_example()])
    table = taxonomy(cables)
    zero = dict.fromkeys(
        ("correct", "wrong_label", "wrong_boundary", "wrong_label_boundary", "missed", "spurious"),
        0,
    )
    assert table["PER"] == {**zero, "correct": 1, "wrong_label": 1}
    assert table["ORG"] == {**zero, "wrong_boundary": 1}
    assert table["LOC"] == {**zero, "wrong_label_boundary": 1, "missed": 1}
    assert table["MISC"] == {**zero, "spurious": 1}
    assert table["ALL"]["correct"] == prf(cables)["counts"]["ALL"]["tp"] == 1
    pairs = {(c["gold"], c["pred"]): c["count"] for c in confusions(cables)}
    assert pairs == {("PER", "ORG"): 1, ("LOC", "MISC"): 1, ("LOC", "O"): 1, ("O", "MISC"): 1}
    kinds = [o["kind"] for o in classify(cables[0])]
    assert sorted(kinds) == sorted(k for k, v in table["ALL"].items() for _ in range(v))


def _cable_score(i: int, tp: int, fp: int, fn: int) -> CableScore:
    return CableScore(
        index=i, reference_id=None, classification=None, post=None, year="(unknown)",
        upper_case=False, n_tokens=10, gold=[], pred=[], ignored=0,
        tp=Counter(PER=tp), fp=Counter(PER=fp), fn=Counter(PER=fn), labels={"PER"},
    )  # fmt: skip


def test_bootstrap_contains_the_estimate_and_is_deterministic():
    cables = [_cable_score(i, 5 + i % 4, i % 3, (i * 7) % 5) for i in range(30)]
    point = prf(cables)
    a = bootstrap(cables, n=500, seed=1)
    assert a == bootstrap(cables, n=500, seed=1)
    assert a != bootstrap(cables, n=500, seed=2)
    for key in ("ents_p", "ents_r", "ents_f"):
        lo, hi = a[key]
        assert lo <= point[key] <= hi and lo < hi
    lo, hi = a["per_type"]["PER"]["f"]
    assert lo <= point["ents_per_type"]["PER"]["f"] <= hi
    assert bootstrap([], n=10)["ents_f"] is None


def test_slices_years_case_and_worst_cables():
    upper_words = [w.upper() for w in WORDS]
    paragraphs = [{"number": 1, "portion": "C", "start": 0, "end": 20},
                  {"number": 2, "portion": "S/NF", "start": 20, "end": 80}]  # fmt: skip
    examples = [
        hand_example(rid="07MUSCAT412", classification="SECRET", post="MUSCAT"),
        Example(doc(upper_words, PRED), doc(upper_words, GOLD, cable=cable(
            rid="94RIYADH2210", classification="CONFIDENTIAL", post="RIYADH",
            paragraphs=paragraphs))),
        Example(doc(WORDS, GOLD), doc(WORDS, GOLD, cable=cable(rid="10BERLIN157", post="BERLIN"))),
    ]  # fmt: skip
    cables = score_cables(examples)
    s = slices(cables)
    assert s["classification"]["SECRET"]["n_cables"] == 2
    assert s["classification"]["SECRET"]["tp"] == 1 + 5
    assert s["classification"]["CONFIDENTIAL"]["f"] == pytest.approx(0.2)
    assert list(s["year"]) == ["1994", "2007", "2010"]
    assert s["year"]["2010"]["f"] == pytest.approx(1.0)
    assert s["case"]["upper case only"]["n_cables"] == 1
    assert s["case"]["mixed case"]["n_gold"] == 10
    # portions: chars 0-20 hold "JOHN SMITH MET MARY": PER tp, PER "MARY JONES" missed, the
    # ORG predicted on it a false positive (a span counts where it starts)
    portion = s["portion"]
    assert portion["C"]["tp"] == 1 and portion["C"]["fn"] == 1 and portion["C"]["fp"] == 1
    assert portion["S/NF"]["n_gold"] == 3
    assert portion["(no paragraph)"]["n_gold"] == 10
    assert sum(v["n_gold"] for v in portion.values()) == 15
    worst = worst_cables(cables, n=2, min_gold=5)
    assert [w["reference_id"] for w in worst] == ["07MUSCAT412", "94RIYADH2210"]
    assert worst_cables(cables, min_gold=6) == []
    assert cable_year("66STATE1") == "1966" and cable_year("65X1") == "2065"
    assert cable_year(None) == "(unknown)"
    assert is_upper_case("HEADER x\nALL CAPS BODY", 9) and not is_upper_case("Mixed Case")
