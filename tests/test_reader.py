import gzip
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cable_ner.reader import CableRecord, Skipped, Source, iter_sources, parse_cable, read_cable


def read(path, form="auto"):
    return read_cable(Source(str(path), path), form)


@pytest.mark.parametrize(
    "name,reason",
    [
        ("bad_binary.txt", "binary file (contains NUL bytes)"),
        ("bad_empty.txt", "empty file"),
        ("bad_invalid_utf8.txt", "invalid UTF-8 at byte"),
        ("bad_nested.txt", "markup error: nested entity bracket inside [ORG"),
        ("bad_unbalanced.txt", "markup error: [PER entity is not closed"),
        ("bad_stub.txt", "scraper stub (no cable text)"),
        ("bad_no_pre.txt", "no <pre> block"),
    ],
)
def test_bad_inputs_are_reported_skips(sample, name, reason):
    result = read(sample / "bad" / name, "tagged")
    assert isinstance(result, Skipped)
    assert result.reason.startswith(reason) and result.name.endswith(name)


def test_markup_error_names_its_line(sample):
    result = read(sample / "bad" / "bad_nested.txt", "tagged")
    text = (sample / "bad" / "bad_nested.txt").read_text()
    assert result.line is not None
    assert "[ORG Ministry of [LOC" in text.splitlines()[result.line - 1].replace("  ", " ")


def test_unknown_label_is_text(sample):
    record = read(sample / "bad" / "bad_unknown_label.txt", "tagged")
    assert isinstance(record, CableRecord)
    assert "[FOO " in record.text and all(label != "FOO" for *_, label in record.entities)


def test_tagged_raw_and_page_forms_agree(sample):
    tagged = read(sample / "tagged" / "07MUSCAT412.txt")
    raw = read(sample / "raw" / "07MUSCAT412.txt")
    page = read(sample / "pages" / "07MUSCAT412.html")
    assert (tagged.form, raw.form, page.form) == ("tagged", "raw", "page")
    assert tagged.text_hash() == raw.text_hash() == page.text_hash()
    for rec in (tagged, raw, page):
        assert rec.reference_id == "07MUSCAT412"
        assert rec.header.classification == tagged.header.classification
        assert rec.header.tags == tagged.header.tags
    assert tagged.sentences and raw.sentences is None
    assert page.header.created and page.header.origin and page.header.page_classification


def test_page_offsets_point_into_the_file(sample):
    path = sample / "pages" / "07MUSCAT412.html"
    page = read(path)
    source = path.read_text(encoding="utf-8")
    tagged = read(sample / "tagged" / "07MUSCAT412.txt")
    name = next(tagged.text[s:e] for s, e, label in tagged.entities if label == "PER")
    start = page.text.index(name.split()[0])
    a, b = page.to_source(start, start + len(name.split()[0]))
    assert source[a:b] == name.split()[0] and a > source.index("<table class='cable'>")


def test_reference_id_only_from_an_id_shaped_name(tmp_path, sample):
    text = (sample / "tagged" / "07MUSCAT412.txt").read_bytes()
    for name, expected in [("07MUSCAT412.txt", "07MUSCAT412"), ("..%2Fetc.txt", None),
                           ("test.txt", None), ("07MUSCAT412.txt.gz", "07MUSCAT412")]:
        path = tmp_path / name
        path.write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
        assert read(path).reference_id == expected


def test_sources_from_folder_glob_and_gz(tmp_path, sample):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt.gz").write_bytes(gzip.compress(b"<pre>UNCLAS</pre>"))
    (tmp_path / "a" / "notes.md").write_text("not a cable")
    (tmp_path / "a" / "y.txt").write_text("<pre>UNCLAS</pre>")
    assert [s.path.name for s in iter_sources([tmp_path / "a"])] == ["x.txt.gz", "y.txt"]
    zeros = sorted(p.name for p in (sample / "tagged").iterdir() if p.name.startswith("0"))
    assert [s.path.name for s in iter_sources([str(sample / "tagged" / "0*.txt")])] == zeros
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        list(iter_sources([tmp_path / "missing"]))
    with pytest.raises(FileNotFoundError, match="no files match"):
        list(iter_sources([str(tmp_path / "*.nothing")]))


def test_plain_text_has_no_header():
    record = parse_cable("Ambassador Smith met the Foreign Minister in Muscat on Monday.")
    assert record.form == "text" and record.header.header_end == 0
    assert record.header.classification is None and record.paragraphs == []


def _check(result):
    assert isinstance(result, (CableRecord, Skipped))
    if isinstance(result, CableRecord):
        n = len(result.text)
        assert all(0 <= s < e <= n for s, e, _ in result.entities)
        assert 0 <= result.header.header_end <= n


@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_fuzz_random_bytes(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "99FUZZ1.txt"
    path.write_bytes(data)
    _check(read(path))


@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.integers(1, 40))
def test_fuzz_mutated_cables(sample, seed, n_mutations):
    rng = random.Random(seed)
    files = sorted((sample / "tagged").glob("*.txt")) + sorted((sample / "pages").glob("*.html"))
    text = rng.choice(files).read_text(encoding="utf-8")
    pieces = ["[PER ", "  ]", "<a ", ">", "&#x000A;", "&", "\n", "<pre>", "¶", "[", "SUBJECT:"]
    for _ in range(n_mutations):
        i = rng.randrange(len(text) + 1)
        if rng.random() < 0.5:
            text = text[:i] + rng.choice(pieces) + text[i:]
        else:
            text = text[:i] + text[i + rng.randint(1, 50):]
    for form in ("auto", "tagged", "raw", "page", "text"):
        _check(parse_cable(text, form=form))


def test_oversize_file_is_a_reported_skip(tmp_path, sample, monkeypatch):
    import cable_ner.reader as reader

    path = tmp_path / "07MUSCAT412.txt"
    path.write_bytes((sample / "tagged" / "07MUSCAT412.txt").read_bytes())
    monkeypatch.setattr(reader, "MAX_BYTES", 1000)
    result = read(path)
    assert isinstance(result, Skipped) and result.reason == "file larger than 1,000 bytes"
