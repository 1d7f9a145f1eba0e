"""Tests of cable_ner.header: inline fixtures for each header variant, plus corpus tests
that skip when the shared data folder is missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cable_ner.header import (
    CableHeader,
    Paragraph,
    find_paragraphs,
    paragraph_lookup,
    parse_header,
)

# --------------------------------------------------------------------------- fixtures

MUSCAT_TAGGED = (
    "C O N F I D E N T I A L MUSCAT 000071 SIPDIS E.O. 12958: DECL: 2020/02/02 TAGS: PREL MARR "
    "MOPS IR MU SUBJECT: OMANI GOVERNMENT REACTS STRONGLY TO SUGGESTION OF PATRIOT OFFER "
    "CLASSIFIED BY: Richard Schmierer , Ambassador , Department of State , Embassy Muscat ; "
    "REASON: 1.4 ( A ) , ( B ) , ( D ) ¶1 . \n"
    "( C ) Summary: A recent New York Time 's ( NYT ) article has been disquieting . \n"
    "End Summary . \n"
    "Press Articles ---------- ¶2 . \n"
    "( U ) A NYT article appeared on January 30 . \n"
    "SCHMIERER"
)
MUSCAT_RAW = (
    "C O N F I D E N T I A L MUSCAT 000071 \n \nSIPDIS \n \nE.O. 12958: DECL: 2020/02/02 \n"
    "TAGS: PREL MARR MOPS IR MU\n"
    "SUBJECT: OMANI GOVERNMENT REACTS STRONGLY TO SUGGESTION OF PATRIOT \nOFFER \n \n"
    "CLASSIFIED BY: Richard Schmierer, Ambassador, Department of State, \n"
    "Embassy Muscat; REASON: 1.4(A), (B), (D) \n \n"
    "¶1. (C) Summary:  A recent New York Time's (NYT) article has been \n"
    "disquieting.  End \nSummary. \n \n"
    "¶2. (U) A NYT article appeared on January 30. \n \nSCHMIERER\n"
)
HARARE_RAW = (
    "C O N F I D E N T I A L SECTION 01 OF 02 HARARE 005461 \n\nSIPDIS \n\n"
    "NSC FOR SENIOR AFRICA DIRECTOR GAYLE SMITH \nLONDON FOR CHARLES GURNEY \n\n"
    "EO 12958 DECL: 09/21/10 \nTAGS PGOV, PINS, ZI, MDC, ZANU-PF \n\n"
    "SUBJECT:  ZANU-PF REPORTEDLY INTERESTED IN DEAL WITH MDC \n"
    "THAT INVOLVES MUGABE'S DEPARTURE\n\n"
    "REF: HARARE 5346  CONFIDENTIAL\nPAGE 02 HARARE 05461 01 OF 02 271458Z\n\n"
    "CLASSIFIED BY DCM EARL IRVING. REASONS: 1.5 (B) AND (D).\n\nSUMMARY\n------- \n\n"
    "¶1. (C) ACCORDING TO A SENIOR MDC ADVISOR, THE PARTY HAS RECEIVED FEELERS. END SUMMARY.\n\n"
    "¶2. (C) IN A SEPTEMBER 26 CALL ON DCM.\n\nMCDONALD\n"
)
HARARE_TAGGED = (
    "Thursday , 07 March 2002 , 10:13 C O N F I D E N T I A L SECTION 01 OF 02 HARARE 005461 "
    "SIPDIS NSC FOR SENIOR AFRICA DIRECTOR GAYLE SMITH LONDON FOR CHARLES GURNEY EO 12958 DECL: "
    "09/21/10 TAGS PGOV , PINS , ZI , MDC , ZANU-PF SUBJECT: ZANU-PF REPORTEDLY INTERESTED IN "
    "DEAL WITH MDC THAT INVOLVES MUGABE’S DEPARTURE REF: HARARE 5346 CONFIDENTIAL PAGE 02 HARARE "
    "05461 01 OF 02 271458Z CLASSIFIED BY DCM EARL IRVING . \n"
    "REASONS: 1.5 ( B ) AND ( D ) . \nSUMMARY ------- ¶1 . \n"
    "( C ) ACCORDING TO A SENIOR MDC ADVISOR , THE PARTY HAS RECEIVED FEELERS . \n"
)
STATE_CORRECTED = (
    "C O N F I D E N T I A L STATE 176819 \n\n"
    "C O R R E C T E D C O P Y (ADDED INFO ADDEES) \n\n"
    "E.O. 12958: DECL: 10/10/11 \nTAGS: PREL AF PK\n"
    "SUBJECT: AFGHANISTAN'S POLITICAL FUTURE (CORRECTED COPY) \n\n"
    "REF: ( A ) STATE 175414 ( NOTAL ) , ( B ) ISLAMABAD 5601 \n\n"
    "(U) CLASSIFIED BY: CHRISTINA B. ROCCA, ASSISTANT SECRETARY \n"
    "FOR SOUTH ASIAN AFFAIRS; REASON: 1.5 (B AND D). \n\n"
    "¶1. (S//NF) ACTION ADDRESSEES SHOULD DRAW FROM POINTS BELOW. \n\n"
    "¶2. (C/NF) BACKGROUND: \n\nPOWELL\n"
)
UNCLAS_SBU = (
    "UNCLAS SECTION 01 OF 02 BRASILIA 001066 \n\nSIPDIS \n\nSENSITIVE \n\n"
    "USTR FOR RSMITH, SCRONIN \n\nE.O. 12958: N/A \nTAGS: ETRD BR FTAA\n"
    "SUBJ: BRAZILIAN FTAA COORDINATOR ON A SOCIAL AGENDA \n\n"
    "1. (SBU) SUMMARY: THE COORDINATOR SPOKE. END SUMMARY. \n\n"
    "2. (U) MORE TEXT FOLLOWS HERE. \n\nHRINAK\n"
)
SECRET_NOFORN_NOPARA = (
    "S E C R E T TEL AVIV 004462 \n\nNOFORN \nSIPDIS \n\nDEPT FOR NEA/IPA \n\n"
    "E.O. 12958: DECL: OADR \nTAGE PREL, KWBG, IS \n"
    "SUBJECT: ISRAEL: SOMETHING HAPPENED \n\n"
    "Classified By: DCM Luis G. Moreno, reasons 1.4 (b) and (d) \n\n"
    "(S) The body of the message starts here without a number. \n\nJONES\n"
)


# --------------------------------------------------------------------------- known values


@pytest.mark.parametrize("text", [MUSCAT_TAGGED, MUSCAT_RAW], ids=["tagged", "raw"])
def test_muscat(text):
    h = parse_header(text).header
    assert h.classification == "CONFIDENTIAL"
    assert h.post == "MUSCAT"
    assert h.serial == "000071"
    assert h.section is None
    assert h.captions == ("SIPDIS",)
    assert h.eo == "12958"
    assert h.decl == "2020/02/02"
    assert h.tags == ("PREL", "MARR", "MOPS", "IR", "MU")
    assert h.subject == "OMANI GOVERNMENT REACTS STRONGLY TO SUGGESTION OF PATRIOT OFFER"
    assert h.classified_by == (
        "Richard Schmierer, Ambassador, Department of State, Embassy Muscat"
    )
    assert h.classified_by_name == "Richard Schmierer"
    assert h.classified_by_title == "Ambassador"
    assert h.reasons == ("1.4(A)", "1.4(B)", "1.4(D)")
    assert h.header_end == text.index("¶1")
    assert h.signer == "SCHMIERER"
    assert h.wikileaks_classification == "CONFIDENTIAL"
    a, b = h.summary
    assert text[a:b].startswith("A recent New York Time")
    assert text[a:b].endswith("disquieting")
    paras = find_paragraphs(text)
    assert parse_header(text).paragraphs == paras
    assert [p.number for p in paras] == [1, 2]
    assert [p.portion for p in paras] == ["C", "U"]
    assert paras[0].start == h.header_end
    assert paras[0].end == paras[1].start
    assert paras[1].end == len(text)


@pytest.mark.parametrize("text", [HARARE_RAW, HARARE_TAGGED], ids=["raw", "tagged-dated"])
def test_harare_old_style(text):
    h = parse_header(text).header
    assert h.classification == "CONFIDENTIAL"
    assert h.section == (1, 2)
    assert h.post == "HARARE"
    assert h.serial == "005461"
    assert h.eo == "12958"
    assert h.decl == "09/21/10"
    assert h.tags == ("PGOV", "PINS", "ZI", "MDC", "ZANU-PF")
    assert h.subject.startswith("ZANU-PF REPORTEDLY INTERESTED IN DEAL WITH MDC THAT INVOLVES")
    assert "PAGE" not in h.subject
    assert h.refs == ("HARARE 5346",)
    assert h.classified_by == "DCM EARL IRVING"
    assert h.classified_by_name == "EARL IRVING"
    assert h.classified_by_title == "DCM"
    assert h.reasons == ("1.5(B)", "1.5(D)")
    assert h.header_end == text.index("¶1")
    assert "NSC FOR SENIOR AFRICA DIRECTOR GAYLE SMITH" in h.action
    assert "LONDON FOR CHARLES GURNEY" in h.action


def test_corrected_copy_lettered_refs_and_portions():
    h = parse_header(STATE_CORRECTED).header
    assert h.classification == "CONFIDENTIAL"
    assert (h.post, h.serial) == ("STATE", "176819")
    assert h.subject == "AFGHANISTAN'S POLITICAL FUTURE (CORRECTED COPY)"
    assert h.refs == ("A. STATE 175414 (NOTAL)", "B. ISLAMABAD 5601")
    assert "NOTAL" not in h.captions
    assert h.classified_by_name == "CHRISTINA B. ROCCA"
    assert h.classified_by_title == "ASSISTANT SECRETARY FOR SOUTH ASIAN AFFAIRS"
    assert h.reasons == ("1.5(B)", "1.5(D)")
    assert h.signer == "POWELL"
    assert [p.portion for p in find_paragraphs(STATE_CORRECTED)] == ["S//NF", "C/NF"]


def test_unclas_sensitive_unanchored_paragraphs():
    h = parse_header(UNCLAS_SBU).header
    assert h.classification == "UNCLASSIFIED"
    assert h.captions == ("SIPDIS", "SENSITIVE")
    assert h.wikileaks_classification == "UNCLASSIFIED//FOR OFFICIAL USE ONLY"
    assert h.decl == "N/A"
    assert h.subject == "BRAZILIAN FTAA COORDINATOR ON A SOCIAL AGENDA"
    assert h.classified_by is None and h.reasons == ()
    assert h.action == ("USTR FOR RSMITH, SCRONIN",)
    paras = find_paragraphs(UNCLAS_SBU)
    assert [(p.number, p.portion) for p in paras] == [(1, "SBU"), (2, "U")]
    assert h.header_end == paras[0].start
    a, b = h.summary
    assert UNCLAS_SBU[a:b] == "THE COORDINATOR SPOKE"


def test_secret_noforn_without_paragraphs():
    h = parse_header(SECRET_NOFORN_NOPARA).header
    assert h.classification == "SECRET"
    assert h.post == "TEL AVIV"
    assert h.captions == ("NOFORN", "SIPDIS")
    assert h.wikileaks_classification == "SECRET//NOFORN"
    assert h.decl == "OADR"
    assert h.tags == ("PREL", "KWBG", "IS")
    assert h.classified_by_name == "Luis G. Moreno"
    assert h.classified_by_title == "DCM"
    assert h.reasons == ("1.4(B)", "1.4(D)")
    assert find_paragraphs(SECRET_NOFORN_NOPARA) == []
    # header ends with the classified-by line, the body is not swallowed
    end = h.header_end
    assert SECRET_NOFORN_NOPARA[:end].rstrip().endswith("(d)")
    assert "body" not in SECRET_NOFORN_NOPARA[:end]


@pytest.mark.parametrize(
    "banner, expected",
    [
        ("S E C R E T", "SECRET"),
        ("SS E C R E T", "SECRET"),
        ("E C R E T", "SECRET"),
        ("C O N F I D E N T I A L", "CONFIDENTIAL"),
        ("CC O N F I D E N T I A L", "CONFIDENTIAL"),
        ("C o n f i d e n t i a l", "CONFIDENTIAL"),
        ("UNCLAS", "UNCLASSIFIED"),
        ("UNCLASSIFIED", "UNCLASSIFIED"),
        ("LIMITED OFFICIAL USE", "LIMITED OFFICIAL USE"),
        ("SENSITIVE BUT UNCLASSIFIED", "SENSITIVE BUT UNCLASSIFIED"),
        ("TOP SECRET", "TOP SECRET"),
        ("T O P S E C R E T", "TOP SECRET"),
    ],
)
def test_banners(banner, expected):
    h = parse_header(f"{banner} ROME 001196 \n\nSIPDIS \n\nE.O. 12958: DECL: 03/05/2017 \n"
                     "TAGS: PHUM IT\nSUBJECT: A TEST \n\n¶1. (U) Text.\n").header
    assert h.classification == expected
    assert (h.post, h.serial) == ("ROME", "001196")


def test_tagger_split_banner():
    # the tagger bracketed part of the banner; after markup removal the spacing is odd
    t = "C O N  F I D E N T I A L MUSCAT 000071 SIPDIS TAGS: PREL SUBJECT: X ¶1 . \n"
    h = parse_header(t).header
    assert h.classification == "CONFIDENTIAL"


def test_eo_variants():
    h = parse_header("UNCLAS STATE 000001 \nE.O. 13526: N/A \nTAGS: PREL\nSUBJECT: X\n").header
    assert (h.eo, h.decl) == ("13526", "N/A")
    h = parse_header("S E C R E T MADRID 05480 E.O. 12356: DECL: OADR TAGS: PTER SP SUBJECT: Q "
                     "REF: A ) MADRID 5426 , B ) MADRID 5425 ¶1 . \n( C ) LIBYA . \n").header
    assert (h.eo, h.decl) == ("12356", "OADR")
    assert h.refs == ("A. MADRID 5426", "B. MADRID 5425")


def test_glued_dated_header():
    t = ("Cable dated:2002-11-15T12:40:00S E C R E T SECTION 01 OF 05 ANKARA 008305S/CT FOR "
         "REAPE.O. 12958: DECL: 11/14/2012 TAGS: PTER TU\n\n"
         "¶1. (U) CLASSIFIED BY DCM ROBERT S. DEUTSCH; REASONS 1.5 (B) AND (D).  \n\n"
         "¶2. (U) COMBATING TERRORISM.\n")
    h = parse_header(t).header
    assert h.classification == "SECRET"
    assert h.section == (1, 5)
    assert (h.post, h.serial) == ("ANKARA", "008305")
    assert h.eo == "12958" and h.decl == "11/14/2012"
    assert h.tags == ("PTER", "TU")
    assert h.classified_by_name == "ROBERT S. DEUTSCH"
    assert h.reasons == ("1.5(B)", "1.5(D)")
    assert h.header_end == t.index("¶1")


def test_lettered_refs_dotted():
    t = ("C O N F I D E N T I A L RIYADH 000123 \n\nE.O. 12958: DECL: 01/01/2019 \n"
         "TAGS: PREL SA\nSUBJECT: TEST \n\nREF: A. RIYADH 1579 B. STATE 12345 \n"
         "C. 08 RIYADH 99 \n\nClassified By: Ambassador James B. Smith for reasons 1.4 (b,d)\n\n"
         "¶1. (C) Text.\n")
    h = parse_header(t).header
    assert h.refs == ("A. RIYADH 1579", "B. STATE 12345", "C. 08 RIYADH 99")
    assert h.classified_by_title == "Ambassador"
    assert h.classified_by_name == "James B. Smith"
    assert h.reasons == ("1.4(B)", "1.4(D)")


def test_tagged_unanchored_paragraph():
    t = ("C O N F I D E N T I A L DUBAI 000059 SIPDIS E.O. 12958: DECL: 1/28/2017 TAGS: PGOV AE "
         "SUBJECT: A MEETING REF: DUBAI 00018 DUBAI 00000059 001.2 OF 002 CLASSIFIED BY: Paul R "
         "Sutphin , Consul General , Dubai , UAE . \nREASON: 1.4 ( b ) , ( d ) 1 . \n"
         "( C ) Summary: In a meeting . \nEnd Summary . \n2 . \n( C ) More . \n")
    h = parse_header(t).header
    assert h.refs == ("DUBAI 00018",)
    assert h.classified_by_name == "Paul R Sutphin"
    assert h.classified_by_title == "Consul General"
    assert h.reasons == ("1.4(B)", "1.4(D)")
    paras = find_paragraphs(t)
    assert [(p.number, p.portion) for p in paras] == [(1, "C"), (2, "C")]
    assert h.header_end == paras[0].start


def test_roundtrip_dict():
    h = parse_header(MUSCAT_RAW).header
    d = h.to_dict()
    assert isinstance(d["tags"], list) and isinstance(d["summary"], list)
    assert d["reference_id"] is None
    assert CableHeader.from_dict(d) == h
    import json

    assert CableHeader.from_dict(json.loads(json.dumps(d))) == h
    p = find_paragraphs(MUSCAT_RAW)[0]
    assert Paragraph(**p.to_dict()) == p


def test_wikileaks_names():
    base = parse_header(UNCLAS_SBU).header
    assert base.wikileaks_classification == "UNCLASSIFIED//FOR OFFICIAL USE ONLY"
    d = base.to_dict()
    d["captions"] = ["SIPDIS"]
    assert CableHeader.from_dict(d).wikileaks_classification == "UNCLASSIFIED"
    d["classification"], d["captions"] = "CONFIDENTIAL", ["NOFORN"]
    assert CableHeader.from_dict(d).wikileaks_classification == "CONFIDENTIAL//NOFORN"
    d["classification"] = None
    assert CableHeader.from_dict(d).wikileaks_classification is None


@pytest.mark.parametrize("text", ["", " ", "\n\n", "¶", "¶1", "SUBJECT:", "TAGS:",
                                  "CLASSIFIED BY", "REASON 1.4", "1.", "(((((", "]" * 50])
def test_degenerate(text):
    h = parse_header(text).header
    assert 0 <= h.header_end <= len(text)
    for p in find_paragraphs(text):
        assert 0 <= p.start <= p.end <= len(text)


_ALPHABET = st.sampled_from(
    list("CONFIDENTIALSECRTUBJ ¶().,:;/\n0123456789abc-") + ["SUBJECT: ", "TAGS: ", "REF: ",
    "CLASSIFIED BY: ", "REASON: 1.4 (B) ", "E.O. 12958: DECL: ", "¶1. (C) ", "\n1. ",
    "END SUMMARY", "Summary: ", "C O N F I D E N T I A L ", "PAGE 02 X 12345 271458Z"]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=400), st.lists(_ALPHABET, max_size=120).map("".join)))
def test_fuzz_never_raises(text):
    h, found = parse_header(text)
    assert 0 <= h.header_end <= len(text)
    if h.summary is not None:
        assert 0 <= h.summary[0] <= h.summary[1] <= len(text)
    paras = find_paragraphs(text)
    for p in paras:
        assert 0 <= p.start <= p.end <= len(text)
    assert [p.start for p in paras] == sorted(p.start for p in paras)
    assert found == paras  # parse_header returns the paragraphs it found on the way


def test_paragraph_lookup():
    paras = [Paragraph(2, "U", 30, 50), Paragraph(1, "C", 10, 30), Paragraph(3, None, 60, 90)]
    find = paragraph_lookup(paras)
    assert [find(i) for i in (0, 9, 55, 90, 200)] == [None] * 5  # before, between, after
    assert find(10).number == 1 and find(29).number == 1 and find(30).number == 2
    assert find(89) == paras[2] and find(49).portion == "U"
    assert paragraph_lookup([])(0) is None
    d = {"number": 4, "start": 0, "end": 5}  # stored paragraphs may lack a portion
    assert Paragraph.from_dict(d) == Paragraph(4, None, 0, 5)
    assert Paragraph.from_dict(paras[0].to_dict()) == paras[0]


def test_long_garbage_does_not_backtrack():
    """A guard against catastrophic backtracking only: the parse takes ~0.02 s, so a bound 1,000
    times that cannot trip on a busy machine. Its speed is benchmarks/benchmark_header.py's."""
    import time

    text = ("1.4 ( ( ( , , and and " * 3000) + ("S E C R E T " * 2000) + ("\n1 . " * 2000)
    t0 = time.perf_counter()
    h = parse_header(text).header
    paras = find_paragraphs(text)
    assert time.perf_counter() - t0 < 20.0
    assert 0 <= h.header_end <= len(text)
    assert [p.start for p in paras] == sorted(p.start for p in paras)


# --------------------------------------------------------------------------- corpus

def _text(path: Path, form: str) -> str | None:
    """The clean text the project's reader makes of a file (None for stubs and bad files)."""
    from cable_ner.reader import CableRecord, Source, read_cable

    record = read_cable(Source(str(path), path), form)
    return record.text if isinstance(record, CableRecord) else None


@pytest.fixture(scope="module")
def data_dir() -> Path:
    d = Path(os.environ.get("CABLE_NER_DATA",
                            Path(__file__).parents[1].parent / "shared" / "data"))
    if not (d / "cables" / "annotated").is_dir():
        pytest.skip(f"no cable data at {d}")
    return d


@pytest.mark.corpus
@pytest.mark.parametrize("kind", ["annotated", "raw"])
def test_corpus_muscat(data_dir, kind):
    text = _text(data_dir / "cables" / kind / "10MUSCAT71.txt", kind if kind == "raw" else "tagged")
    h = parse_header(text).header
    assert h.classification == "CONFIDENTIAL"
    assert (h.post, h.serial) == ("MUSCAT", "000071")
    assert h.tags == ("PREL", "MARR", "MOPS", "IR", "MU")
    assert h.subject == "OMANI GOVERNMENT REACTS STRONGLY TO SUGGESTION OF PATRIOT OFFER"
    assert h.reasons == ("1.4(A)", "1.4(B)", "1.4(D)")
    assert h.classified_by_name == "Richard Schmierer"
    paras = find_paragraphs(text)
    assert paras[0].number == 1 and paras[0].portion == "C"
    assert h.header_end == paras[0].start


@pytest.mark.corpus
def test_corpus_coverage(data_dir):
    ann = data_dir / "cables" / "annotated"
    n = cls = tags = subj = 0
    for f in sorted(ann.glob("*.txt")):
        text = _text(f, "tagged") if f.name != "test.txt" else None
        if text is None:  # stubs, the duplicate, the one nested-bracket file
            continue
        h = parse_header(text).header
        n += 1
        cls += h.classification is not None
        tags += bool(h.tags)
        subj += h.subject is not None
        assert 0 <= h.header_end <= len(text)
    assert n > 2500
    assert cls / n >= 0.98 and tags / n >= 0.98 and subj / n >= 0.95


@pytest.mark.corpus
def test_corpus_tagged_and_raw_agree(data_dir):
    ann = data_dir / "cables" / "annotated"
    same = total = 0
    for f in sorted(ann.glob("*.txt"))[:400]:
        raw_f = data_dir / "cables" / "raw" / f.name
        tagged_text = _text(f, "tagged")
        raw_text = _text(raw_f, "raw") if raw_f.exists() else None
        if tagged_text is None or raw_text is None:
            continue
        a = parse_header(tagged_text).header
        b = parse_header(raw_text).header
        total += 1
        same += (a.classification, a.tags, a.post, a.serial, a.reasons) == (
            b.classification, b.tags, b.post, b.serial, b.reasons)
    assert total and same / total >= 0.97


@pytest.mark.parametrize(
    "text,expected",
    [
        ("C O N F I D E N T I A L MUSCAT 000071 SIPDIS", True),
        ("UNCLAS MINSK 000851", True),
        ("Thursday , 07 March 2002 , 10:13 C O N F I D E N T I A L SECTION 01 OF 02", True),
        ("SECRET NOFORN SECTION 01 OF 03 STATE 000123", True),
        ("Secret talks continue in Muscat.", False),
        ("SUBJECT: THE BANKING SECTOR TAGS: ECON , EFIN", False),
        ("The UNCLAS cable was sent on Monday.", False),
    ],
)
def test_starts_like_a_cable(text, expected):
    from cable_ner.header import starts_like_a_cable

    assert starts_like_a_cable(text) is expected
