"""Making the gold layer: the seeded draw, scratch copies, fixes, records and agreement."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from cable_ner.gold import record_split
from cable_ner.gold_build import (
    GoldWorkError,
    agreement,
    apply_fixes,
    body_lines,
    bracket,
    build_record,
    check_scratch,
    strip_brackets,
)
from cable_ner.gold_sample import CatalogueEntry, catalogue, draw_sample
from cable_ner.markup import parse_markup

ROOT = Path(__file__).resolve().parents[1]
CABLE = (
    "<code><pre>UNCLAS SECTION 01 OF 02 ROME 000123 SIPDIS E.O. 12958: N/A TAGS: PREL SUBJECT: "
    "[MISC ITALIAN  ] VISIT <a id='par1' href='#par1'>¶</a>1 . \n"
    "( [ORG SBU  ] ) Ambassador [PER Spogli  ] met [ORG Minister Frattini  ] in [LOC Rome  ] . \n"
    "A stray ] bracket and [LOC U.S.  ] officials . \n"
    "[PER SPOGLI  ]</pre></code>"
)


def entry(i: int, year: int, cls: str, tokens: int, upper: bool = False) -> CatalogueEntry:
    split = ("train", "train", "dev", "test")[(i // 40) % 4]
    return CatalogueEntry(f"{year % 100:02d}POST{i}", year, "POST", cls, tokens, 10, upper, f"{i}",
                          split)  # fmt: skip


def catalogue_of(n: int) -> list[CatalogueEntry]:
    years = (1989, 2003, 2006, 2007, 2008, 2009, 2010)
    classes = ("UNCLASSIFIED", "CONFIDENTIAL", "SECRET")
    return [entry(i, years[i % 7], classes[i % 3], 100 + (i * 37) % 3000, upper=i % 40 == 0)
            for i in range(n)]  # fmt: skip


def test_draw_is_seeded_stratified_and_split():
    cat = catalogue_of(2000)
    a = draw_sample(cat, 146, seed=17, exclude=["03POST1"], split_sizes={"test": 15, "dev": 14})
    b = draw_sample(cat, 146, seed=17, exclude=["03POST1"], split_sizes={"test": 15, "dev": 14})
    assert a == b and len(a) == 146 == len({c["reference_id"] for c in a})
    assert "03POST1" not in {c["reference_id"] for c in a}
    assert a != draw_sample(cat, 146, seed=18)
    assert sum(c["upper_case"] for c in a) == round(0.05 * 146)
    splits = Counter(c["split"] for c in a)
    assert splits["test"] in (14, 15, 16) and splits["dev"] in (13, 14, 15)
    assert splits["train"] == 146 - splits["test"] - splits["dev"]
    # proportional: each period gets its corpus share (largest remainder in its 9 strata)
    mixed = [e for e in cat if not e.upper_case]
    for year in (2006, 2009):
        share = sum(e.year == year for e in mixed) / len(mixed)
        drawn = sum(c["year"] == year and not c["upper_case"] for c in a)
        assert abs(drawn - share * (146 - 7)) < 3.5


def test_held_out_draw_takes_only_the_converters_test_split():
    """Cables drawn for gold dev with `held_out_only` are ones the silver split already holds
    out, so no silver training or dev cable moves; all of them go to dev when test is 0."""
    cat = catalogue_of(2000)
    drawn = draw_sample(cat, 14, seed=18, upper_share=0.36, split_sizes={"test": 0, "dev": 14},
                        held_out_only=True)  # fmt: skip
    assert len(drawn) == 14 and {c["silver_split"] for c in drawn} == {"test"}
    assert {c["split"] for c in drawn} == {"dev"} and sum(c["upper_case"] for c in drawn) == 5
    anywhere = draw_sample(cat, 14, seed=18, upper_share=0.36, split_sizes={"test": 0, "dev": 14})
    assert {c["silver_split"] for c in anywhere} != {"test"}
    with pytest.raises(GoldWorkError, match="only 12 cables"):  # 12 of the 50 upper case
        draw_sample(cat, 40, seed=1, upper_share=1.0, held_out_only=True)


def test_draw_refuses_more_than_the_pool():
    with pytest.raises(GoldWorkError, match="only"):
        draw_sample(catalogue_of(30), 40, seed=1, upper_share=0.5)


def test_strip_and_bracket_round_trip():
    parsed = parse_markup(CABLE)
    bare = strip_brackets(CABLE)
    assert "[PER" not in bare and "A stray ] bracket" in bare
    assert parse_markup(bare).text == parsed.text and parse_markup(bare).entities == []
    body_start = parsed.text.index("1 .")
    new = [(s, e, lab) for s, e, lab in parsed.entities if s >= body_start and lab != "ORG"]
    spogli = parsed.text.index("Frattini")
    new.append((spogli, spogli + len("Frattini"), "PER"))
    out = bracket(CABLE, new, keep_before=body_start)
    again = parse_markup(out)
    assert again.text == parsed.text
    assert [e for e in again.entities if e[0] >= body_start] == sorted(new)
    assert [e for e in again.entities if e[0] < body_start] == [
        e for e in parsed.entities if e[0] < body_start
    ]  # the header's brackets stay as they were
    assert "Minister [PER Frattini  ]" in out


def test_apply_fixes_changes_brackets_only(tmp_path):
    scratch = tmp_path / "05ROME123.txt"
    scratch.write_text(CABLE, encoding="utf-8")
    lines, first = body_lines(CABLE)
    assert first == 0 and lines[1].startswith("( [ORG SBU")
    fixes = tmp_path / "05ROME123.fix"
    fixes.write_text(
        "1:  ( SBU ) Ambassador [PER Spogli  ] met Minister [PER Frattini  ] in [LOC Rome  ] .\n",
        encoding="utf-8",
    )
    assert apply_fixes(scratch, fixes) == 1
    text = scratch.read_text(encoding="utf-8")
    assert text.split("\n")[1] == (
        "( SBU ) Ambassador [PER Spogli  ] met Minister [PER Frattini  ] in [LOC Rome  ] . "
    )  # the line's own trailing space is kept
    assert apply_fixes(scratch, fixes) == 0  # idempotent
    fixes.write_text("2: A stray ] bracket and [LOC U.S.  ] official .\n", encoding="utf-8")
    with pytest.raises(GoldWorkError, match=r"05ROME123.fix, line 1: the text of line 2 changed"):
        apply_fixes(scratch, fixes)
    fixes.write_text("2: A stray ] bracket and [LOC U.S. ] officials .\n", encoding="utf-8")
    with pytest.raises(GoldWorkError, match="bad brackets"):
        apply_fixes(scratch, fixes)
    fixes.write_text("9: nothing\n", encoding="utf-8")
    with pytest.raises(GoldWorkError, match="has no line 9"):
        apply_fixes(scratch, fixes)
    assert scratch.read_text(encoding="utf-8") == text  # a refused fix writes nothing


def test_build_record_refuses_changed_text_and_wants_doubts(tmp_path):
    original = tmp_path / "corpus" / "05ROME123.txt"
    original.parent.mkdir()
    original.write_text(CABLE, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    scratch = work / "05ROME123.txt"
    scratch.write_text(CABLE.replace("[ORG SBU  ]", "SBU"), encoding="utf-8")
    rec = build_record(scratch, original, "dev")
    assert rec["split"] == "dev" and rec["text_sha256"]
    texts = [parse_markup(CABLE).text[s:e] for s, e, _ in rec["entities"]]
    assert texts == ["Spogli", "Minister Frattini", "Rome", "U.S.", "SPOGLI"]
    with pytest.raises(GoldWorkError, match="no doubts file"):
        check_scratch(scratch, original)
    scratch.with_suffix(".notes").write_text("1: Frattini's title left inside\n", "utf-8")
    assert check_scratch(scratch, original)["doubts"][0]["note"] == "Frattini's title left inside"
    scratch.write_text(CABLE.replace("met", "saw"), encoding="utf-8")
    with pytest.raises(GoldWorkError, match="differs from .* at offset"):
        build_record(scratch, original, "train")
    with pytest.raises(GoldWorkError, match="split"):
        build_record(original, original, "holdout")


def test_agreement_figures():
    first = {"A": [[0, 5, "PER"], [10, 15, "LOC"], [20, 25, "ORG"], [30, 35, "MISC"]]}
    second = {"A": [[0, 5, "PER"], [10, 15, "LOC"], [20, 25, "MISC"]]}
    silver = {"A": [[0, 5, "PER"], [20, 25, "ORG"]]}
    r = agreement(first, second, silver)
    assert r["all"]["both"] == 2 and r["all"]["f"] == pytest.approx(2 * 2 / 7)
    assert r["per_label"]["PER"]["f"] == 1.0 and r["per_label"]["ORG"]["f"] == 0.0
    assert r["per_label"]["MISC"] == {"p": 0.0, "r": 0.0, "f": 0.0, "first": 1, "second": 1,
                                      "both": 0}  # fmt: skip
    kept, new = r["anchoring"]["kept_silver"], r["anchoring"]["not_silver"]
    assert (kept["first_pass_entities"], kept["second_pass_lacks"]) == (2, 1)
    assert (new["first_pass_entities"], new["second_pass_lacks"]) == (2, 1)


def test_catalogue_and_commands_on_the_shared_corpus(shared_data, tmp_path):
    cables = shared_data / "cables" / "annotated"
    entries, left_out = catalogue(cables)
    assert len(entries) > 2700 and left_out["scraper stub (no cable text)"] > 100
    assert len({e.text_sha256 for e in entries}) == len(entries)
    share = sum(e.upper_case for e in entries) / len(entries)
    assert 0.005 < share < 0.05
    # the drawn cables of the committed draws are in the catalogue, as drawn, and the second
    # draw's are in the converter's test split
    by_id = {e.reference_id: e for e in entries}
    for name in ("sample.json", "sample_dev.json"):
        drawn = json.loads((ROOT / "gold" / name).read_text(encoding="utf-8"))["cables"]
        assert all(by_id[c["reference_id"]].text_sha256 == c["text_sha256"] for c in drawn)
    assert {by_id[c["reference_id"]].silver_split for c in drawn} == {"test"}
    # export writes the layer back into bracketed copies; build on them gives the same records
    tool = [sys.executable, str(ROOT / "scripts" / "build_gold.py")]
    work = tmp_path / "work"
    run = subprocess.run([*tool, "export", str(work), "--cables-dir", str(cables)],
                         capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = tmp_path / "gold.jsonl"
    run = subprocess.run([*tool, "build", str(work), "--cables-dir", str(cables), "--output",
                          str(out)], capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert run.returncode == 0, run.stderr
    before = [json.loads(x) for x in (ROOT / "gold" / "gold.jsonl").read_text("utf-8").split("\n")
              if x]  # fmt: skip
    after = [json.loads(x) for x in out.read_text("utf-8").split("\n") if x]
    assert [(r["reference_id"], r["split"], r["entities"]) for r in after] == [
        (r["reference_id"], record_split(r), r["entities"]) for r in before
    ]
    inside = subprocess.run([*tool, "export", str(ROOT / "scratch")], capture_output=True,
                            text=True, cwd=ROOT)  # fmt: skip
    assert inside.returncode == 1 and "outside the repository" in inside.stderr
