import codecs
import json
import re
import shutil
from collections import Counter

import pytest
import spacy
from spacy.tokens import DocBin

from cable_ner.cable import USER_DATA_KEY
from cable_ner.convert import ConvertOptions, assign_split, convert
from cable_ner.markup import parse_markup
from cable_ner.reader import iter_sources
from cable_ner.record_doc import record_to_doc, whitespace_words

OPENER = re.compile(r"\[(PER|LOC|ORG|MISC) ")
nlp = spacy.blank("en")


def load(folder):
    docs = []
    for shard in sorted(folder.glob("*.spacy")):
        docs.extend(DocBin().from_disk(shard).get_docs(nlp.vocab))
    return docs


def expected_entities(files, report) -> dict:
    """An independent count: the brackets in the files, minus what the report says it removed."""
    brackets = Counter()
    for path in files:
        brackets.update(OPENER.findall(path.read_text(encoding="utf-8")))
    removed = Counter(report["header_masked"])
    for key, n in report["filtered"].items():
        removed[key.split("/")[1]] += n
    return {label: brackets[label] - removed[label] for label in brackets}


def test_whitespace_words():
    assert whitespace_words("a b. \nc  d") == (["a", "b.", "\n", "c", " ", "d"],
                                                [True, True, False, True, False, False])
    assert whitespace_words(" x ") == ([" ", "x"], [False, True])


def test_split_is_a_function_of_the_hash():
    hashes = [f"{i:040x}" for i in range(0, 16**6, 16**6 // 2000)]
    hashes = [__import__("hashlib").sha1(h.encode()).hexdigest() for h in hashes]
    counts = Counter(assign_split(h, (0.8, 0.1, 0.1)) for h in hashes)
    assert 0.75 < counts["train"] / len(hashes) < 0.85 and counts["dev"] > 150
    assert all(assign_split(h, (0.8, 0.1, 0.1)) == assign_split(h, (0.8, 0.1, 0.1)) for h in hashes)


@pytest.fixture(scope="module")
def sample_corpus(tmp_path_factory, sample):
    out = tmp_path_factory.mktemp("corpus")
    report = convert([sample / "tagged", sample / "bad"], out, ConvertOptions(chunk_size=7))
    return out, report


def test_every_file_is_accounted_for(sample_corpus, sample):
    out, report = sample_corpus
    n_files = len(list(iter_sources([sample / "tagged", sample / "bad"])))
    assert report["files_read"] == n_files == 48
    assert report["converted"] == 41  # 40 cables + the unknown-label file (its brackets are text)
    assert report["skipped"] == 7 and report["converted"] + report["skipped"] == n_files
    assert json.loads((out / "report.json").read_text()) == report
    assert sum(len(load(out / f"{s}.spacy")) for s in ("train", "dev", "test")) == 41


def test_encodings_are_counted_and_recorded_per_doc(tmp_path, sample):
    """A cp1252 copy (not UTF-8) and a UTF-16 one with a byte-order mark convert like the UTF-8
    original: same text and entities, their encoding in user_data and in the report."""
    text = (sample / "tagged" / "07MUSCAT412.txt").read_text(encoding="utf-8")
    text = text.replace("( C ) Summary: ", "( C ) Summary: The café’s owner said : ", 1)
    assert "café’s" in text
    src = tmp_path / "in"
    src.mkdir()
    (src / "07MUSCAT412.txt").write_text(text, encoding="utf-8")
    (src / "07MUSCAT413.txt").write_bytes(text.encode("cp1252"))
    (src / "07MUSCAT414.txt").write_bytes(codecs.BOM_UTF16_BE + text.encode("utf-16-be"))
    pins = frozenset({"07MUSCAT412", "07MUSCAT413", "07MUSCAT414"})
    report = convert([src], tmp_path / "out", ConvertOptions(pins=pins))
    assert report["converted"] == 3 and report["skipped"] == 0
    assert report["encodings"] == {"utf-8": 1, "cp1252": 1, "utf-16-be": 1}
    assert report["encoding_fallbacks"] == [str(src / "07MUSCAT413.txt")]
    docs = load(tmp_path / "out" / "test.spacy")
    data = {d.user_data[USER_DATA_KEY]["header"]["reference_id"]: d for d in docs}
    assert len(data) == 3 and len({d.text for d in docs}) == 1 and "café’s" in docs[0].text
    assert len({tuple((e.start, e.end, e.label_) for e in d.ents) for d in docs}) == 1
    got = {rid: (d.user_data[USER_DATA_KEY]["encoding"],
                 d.user_data[USER_DATA_KEY]["encoding_fallback"]) for rid, d in data.items()}
    assert got == {"07MUSCAT412": ("utf-8", False), "07MUSCAT413": ("cp1252", True),
                   "07MUSCAT414": ("utf-16-be", False)}  # fmt: skip


def test_entity_counts_equal_an_independent_bracket_count(sample_corpus, sample):
    _, report = sample_corpus
    converted = [*(sample / "tagged").glob("*.txt"), sample / "bad" / "bad_unknown_label.txt"]
    assert expected_entities(converted, report) == report["entities"]
    assert report["filtered"]["portion-marking/ORG"] >= 2 and report["filtered"]["redaction/PER"]
    # tokens are the tagger's: the clean text split on whitespace
    words = sum(len(parse_markup(p.read_text(encoding="utf-8")).text.split()) for p in converted)
    assert report["tokens"] == words


def test_docs_carry_sentences_entities_metadata_and_a_masked_header(sample_corpus):
    out, _ = sample_corpus
    docs = {d.user_data["cable"]["header"]["reference_id"]: d
            for s in ("train", "dev", "test") for d in load(out / f"{s}.spacy")}
    doc = docs["07MUSCAT412"]
    header = doc.user_data["cable"]["header"]
    assert header["classification"] == "CONFIDENTIAL" and header["post"] == "MUSCAT"
    cut = next(t.i for t in doc if t.idx >= header["header_end"])
    assert cut > 20 and all(t.ent_iob == 0 for t in doc[:cut])  # missing, neither entity nor O
    assert all(t.ent_iob != 0 for t in doc[cut:])
    assert doc.ents and all(e.start >= cut for e in doc.ents)
    assert doc.spans["paragraphs"] and doc.user_data["cable"]["paragraphs"][0]["number"] == 1
    longest = max(sum(not t.is_space for t in s) for d in docs.values() for s in d.sents)
    assert longest <= 128  # the 679-token sample line was split
    assert len(list(docs["08KHARTOUM1460"].sents)) > 25


def test_split_is_stable_under_renaming_and_order_and_duplicates_land_together(
    tmp_path, sample, sample_corpus
):
    out, report = sample_corpus
    first = {d.user_data["cable"]["text_hash"]: s for s in ("train", "dev", "test")
             for d in load(out / f"{s}.spacy")}
    src = tmp_path / "in"
    src.mkdir()
    files = sorted((sample / "tagged").glob("*.txt"))
    for i, path in enumerate(reversed(files)):
        shutil.copy(path, src / f"{i:03d}_{path.name}")
    shutil.copy(files[0], src / "zz_copy.txt")
    again = convert([src], tmp_path / "out", ConvertOptions(pins=frozenset({"zz"})), n_process=2)
    original = src / f"{len(files) - 1:03d}_{files[0].name}"
    copy = str(src / "zz_copy.txt")
    assert again["duplicates"] == [{"file": copy, "duplicate_of": str(original)}]
    second = Counter()
    for s in ("train", "dev", "test"):
        for d in load(tmp_path / "out" / f"{s}.spacy"):
            assert first[d.user_data["cable"]["text_hash"]] == s
            second[d.user_data["cable"]["text_hash"]] += 1
    assert sorted(second.values()) == [1] * (len(files) - 1) + [2]


def test_pinned_cables_go_to_test(tmp_path, sample):
    report = convert([sample / "tagged"], tmp_path, ConvertOptions(pins=frozenset(
        {"07MUSCAT412", "09DAKAR880"})))
    assert report["pinned_to_test"] == ["07MUSCAT412", "09DAKAR880"]
    ids = {d.user_data["cable"]["header"]["reference_id"] for d in load(tmp_path / "test.spacy")}
    assert {"07MUSCAT412", "09DAKAR880"} <= ids


def test_n_process_does_not_change_the_output(tmp_path, sample):
    one = convert([sample / "tagged"], tmp_path / "one", ConvertOptions(chunk_size=5))
    two = convert([sample / "tagged"], tmp_path / "two", ConvertOptions(chunk_size=5), n_process=2)
    assert one == two
    for s in ("train", "dev", "test"):
        a, b = load(tmp_path / "one" / f"{s}.spacy"), load(tmp_path / "two" / f"{s}.spacy")
        assert [d.to_json() for d in a] == [d.to_json() for d in b]


def test_projection_onto_raw_text(tmp_path, sample):
    report = convert([sample / "tagged"], tmp_path, ConvertOptions(raw_dir=str(sample / "raw")))
    proj = report["projection"]
    tagged_body = sum(report["entities"].values()) + sum(
        n for k, n in report["filtered"].items())
    assert proj["projected"] + proj["not_projected"] == tagged_body + sum(
        report["header_masked"].values())
    assert proj["not_projected"] == 0 and sum(report["misaligned"].values()) <= 5
    doc = next(d for s in ("train", "dev", "test") for d in load(tmp_path / f"{s}.spacy")
               if d.user_data["cable"]["header"]["reference_id"] == "07MUSCAT412")
    raw = (sample / "raw" / "07MUSCAT412.txt").read_text(encoding="utf-8")
    assert doc.user_data["cable"]["form"] == "raw" and "Muscat" in doc.text
    assert all(e.text in raw for e in doc.ents) and len(list(doc.sents)) > 10


def test_bad_filter_file_is_a_clear_error(tmp_path, sample):
    bad = tmp_path / "f.json"
    bad.write_text('{"rules": [{"name": "x", "pattern": "(", "why": "?"}]}')
    with pytest.raises(ValueError, match="bad pattern"):
        convert([sample / "tagged"], tmp_path / "o", ConvertOptions(filters=str(bad)))


@pytest.mark.corpus
def test_shared_corpus_counts_equal_an_independent_bracket_count(tmp_path, shared_data):
    report = convert([shared_data / "cables" / "annotated"], tmp_path, n_process=2)
    skipped = {row["file"] for row in report["skipped_files"]}
    files = (shared_data / "cables" / "annotated").glob("*.txt")
    converted = [path for path in files if str(path) not in skipped]
    assert expected_entities(converted, report) == report["entities"]
    assert report["converted"] == 2737 and report["skipped_by_reason"] == {
        "scraper stub (no cable text)": 161, "markup error": 1}
    assert len(report["duplicates"]) == 1
    cov = report["header_coverage"]
    assert cov["classification"] >= 0.98 and cov["tags"] >= 0.98 and cov["subject"] >= 0.95


@pytest.mark.corpus
def test_rewriting_each_shared_cable_reproduces_its_entities(shared_data):
    from cable_ner.filters import load_filters
    from cable_ner.markup import parse_markup, write_tagged
    from cable_ner.reader import CableRecord, read_cable

    rewritten = 0
    for source in iter_sources([shared_data / "cables" / "annotated"]):
        record = read_cable(source, "tagged")
        if not isinstance(record, CableRecord):
            continue
        doc, _ = record_to_doc(record, nlp.vocab, load_filters("none"), mask_header=False)
        again = parse_markup(write_tagged(doc))
        assert [(again.text[s:e], lab) for s, e, lab in again.entities] == [
            (record.text[s:e], lab) for s, e, lab in record.entities
        ], source.name
        assert again.text.split() == record.text.split()
        rewritten += 1
    assert rewritten == 2737
