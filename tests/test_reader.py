import codecs
import gzip
import random
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cable_ner.reader import (
    CableRecord,
    Decoded,
    Skipped,
    Source,
    decode,
    iter_sources,
    parse_cable,
    read_cable,
)


def read(path, form="auto"):
    return read_cable(Source(str(path), path), form)


@pytest.mark.parametrize(
    "name,reason",
    [
        ("bad_binary.txt", "binary file (contains NUL bytes)"),
        ("bad_empty.txt", "empty file"),
        ("bad_invalid_utf8.txt", "undecodable at byte 211: neither UTF-8 nor cp1252 (byte 0x81)"),
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


# --------------------------------------------------------------------------- decoding

LATIN = "C O N F I D E N T I A L MUSCAT 000412 \n\n¶1. (C) The café owner’s son met Harthy.\n"
BOMS = {"utf-8-sig": codecs.BOM_UTF8, "utf-16-le": codecs.BOM_UTF16_LE,
        "utf-16-be": codecs.BOM_UTF16_BE, "utf-32-le": codecs.BOM_UTF32_LE}  # fmt: skip


def encode(text: str, encoding: str) -> bytes:
    """`text` as a file in `encoding` (the name the reader records), with its byte-order mark."""
    return BOMS.get(encoding, b"") + text.encode(encoding.removesuffix("-sig"))


ENCODED = {e: encode(LATIN, e) for e in ("utf-8", *BOMS, "cp1252")}  # cp1252: é 0xE9, ’ 0x92


@pytest.mark.parametrize("encoding", list(ENCODED))
def test_decode_by_byte_order_mark_or_cp1252_fallback(encoding):
    data = ENCODED[encoding]
    got = decode("x.txt", data)
    assert got == Decoded(LATIN, encoding, fallback=encoding == "cp1252")


def test_cp1252_fallback_keeps_the_valid_utf8_in_a_mixed_file():
    data = "¶1. naïve ".encode() + "café’s".encode("cp1252")
    assert decode("x.txt", data) == Decoded("¶1. naïve café’s", "cp1252", fallback=True)


@pytest.mark.parametrize(
    "data,reason,line",
    [
        (b"\x00\x01\x02" * 100, "binary file (contains NUL bytes)", None),
        (b"UNCLAS\nTEXT\ncaf\xe9 \x81 bar", "undecodable at byte 17: neither UTF-8 nor cp1252 "
         "(byte 0x81)", 3),
        (codecs.BOM_UTF16_LE + "ab\ncd".encode("utf-16-le") + b"\x00",
         "invalid UTF-16-LE at byte 12", 2),  # an odd number of bytes
        (codecs.BOM_UTF16_BE + "a\x00b".encode("utf-16-be"),
         "binary file (contains NUL characters)", None),
        (codecs.BOM_UTF8 + b" \n", "empty file", None),
        (codecs.BOM_UTF16_LE, "empty file", None),
        (b" \n\t", "empty file", None),
    ],
)
def test_undecodable_files_keep_a_clear_reason(data, reason, line):
    got = decode("x.txt", data)
    assert got == Skipped("x.txt", reason, line)


@pytest.mark.parametrize("encoding", list(ENCODED))
def test_read_cable_records_the_encoding(tmp_path, sample, encoding):
    text = (sample / "raw" / "07MUSCAT412.txt").read_text(encoding="utf-8")
    text = text.replace("Embassy Muscat;", "Embassy Muscat; the café’s", 1)
    reference = parse_cable(text)
    path = tmp_path / "07MUSCAT412.txt"
    path.write_bytes(encode(text, encoding))
    record = read(path)
    assert (record.encoding, record.encoding_fallback) == (encoding, encoding == "cp1252")
    assert record.text == reference.text and "the café’s" in record.text
    assert record.header == replace(reference.header, reference_id="07MUSCAT412")
    assert record.entities == reference.entities and record.paragraphs == reference.paragraphs
    # offsets are character offsets into the decoded file
    decoded = decode(str(path), path.read_bytes())
    assert decoded.text == text
    start = record.text.index("the café’s")
    a, b = record.to_source(start, start + len("the café’s"))
    assert decoded.text[a:b] == "the café’s"
