"""The pipeline side: the cable reader (tokenizer slot), `cable_metadata`, serialisation, loading
by entry points and packaging.

Most tests use a blank English pipeline with the cable reader and an `entity_ruler` (predictions
we control). Header blocking needs a statistical NER (a ruler ignores blocked tokens): a tiny one
is trained in a second on synthetic sentences where "Muscat" is always LOC. The slow packaging
test trains a CNN NER on the sample for a few epochs, builds both wheels with scripts/package.py
and loads the installed pipeline in a fresh virtual environment.
"""

import html
import json
import os
import random
import subprocess
import sys
import venv
from dataclasses import replace
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.util import fix_random_seed

from cable_ner.reader import iter_sources, parse_cable, read_cable
from cable_ner.record_doc import record_to_doc
from cable_ner.render import render
from cable_ner.tokenizer import CableReader, CableReaderError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "assets" / "sample"
REF = "07MUSCAT412"
TAGGED = (SAMPLE / "tagged" / f"{REF}.txt").read_text(encoding="utf-8")
RAW = (SAMPLE / "raw" / f"{REF}.txt").read_text(encoding="utf-8")
PAGE = (SAMPLE / "pages" / f"{REF}.html").read_text(encoding="utf-8")
SUBJECT = "OMANI MINISTRY WEIGHS SOHAR PORT EXPANSION AND GAS PIPELINE OFFER"
TAGS = ("PREL", "ENRG", "ECON", "IR", "MU")
PATTERNS = [
    {"label": "PER", "pattern": "Harthy"},
    {"label": "LOC", "pattern": "Sohar"},
    {"label": "ORG", "pattern": [{"LOWER": w} for w in "oman gas transmission company".split()]},
    {"label": "ORG", "pattern": "MOG"},
]
PROSE = "Ambassador Smith met Harthy in Sohar on Tuesday. Secret talks continue."


def reader_config(**cfg) -> dict:
    return {"nlp": {"tokenizer": {"@tokenizers": "cable_ner.cable_reader.v1", **cfg}}}


def ruler_nlp(**cfg):
    nlp = spacy.blank("en", config=reader_config(**cfg))
    nlp.add_pipe("entity_ruler").add_patterns(PATTERNS)
    nlp.add_pipe("cable_metadata")
    return nlp


@pytest.fixture(scope="module")
def nlp():
    return ruler_nlp()


def summary(doc: Doc) -> dict:
    """Everything a user reads off a Doc, JSON-ready (for comparisons across processes)."""
    return {
        "text": doc.text,
        "cable": doc._.cable.to_dict(),
        "ents": [
            (e.start_char, e.end_char, e.label_, e._.paragraph, e._.portion, list(e._.source_span))
            for e in doc.ents
        ],
        "paragraphs": [(s.start, s.end, s.label_) for s in doc.spans["paragraphs"]],
        "header": [(s.start, s.end, s.label_) for s in doc.spans["header"]],
        "counts": doc.user_data["cable_counts"],
    }


def squash(s: str) -> str:
    return "".join(s.split())


# --------------------------------------------------------------------------- metadata


@pytest.mark.parametrize("text,form", [(TAGGED, "tagged"), (RAW, "raw"), (PAGE, "page")])
def test_metadata_of_each_form(nlp, text, form):
    doc = nlp(text)
    cable = doc._.cable
    assert cable.form == form
    assert cable.classification == "CONFIDENTIAL"
    assert cable.post == "MUSCAT" and cable.serial == "000412"
    assert cable.tags == TAGS
    assert cable.subject == SUBJECT
    assert cable.classified_by_name == "Gerald Whitcombe"
    assert cable.reasons == ("1.4(B)", "1.4(D)")
    assert cable.skipped is None
    # one parser: the same header as the converter's reader sees
    record = parse_cable(text)
    assert doc.text == record.text
    assert cable.header == record.header
    assert [p.number for p in cable.paragraphs] == list(range(1, len(record.paragraphs) + 1))
    assert cable.paragraphs[0].portion == "C"
    if form == "page":  # the reference id comes from the page's metadata table
        assert cable.reference_id == REF
        assert cable.page_classification == "CONFIDENTIAL"
        assert cable.created
    else:
        assert cable.reference_id is None
    d = cable.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["tags"] == list(TAGS) and d["subject"] == SUBJECT
    assert d["label_counts"] == doc.user_data["cable_counts"]
    assert sum(d["label_counts"].values()) == len(doc.ents) > 0
    assert {e["text"] for e in d["entities"]["LOC"]} == {"Sohar"}


def test_context_source_names_the_cable(nlp):
    ((doc, ctx),) = nlp.pipe([(RAW, {"source": f"cables/raw/{REF}.txt"})], as_tuples=True)
    assert ctx == {"source": f"cables/raw/{REF}.txt"}
    assert doc._.cable.reference_id == REF
    assert doc._.cable.source == f"cables/raw/{REF}.txt"


def test_context_encoding_is_recorded(nlp):
    context = {"source": f"{REF}.txt", "encoding": "cp1252", "encoding_fallback": True}
    ((doc, _),) = nlp.pipe([(RAW, context)], as_tuples=True)
    cable = doc._.cable
    assert (cable.encoding, cable.encoding_fallback, cable.reference_id) == ("cp1252", True, REF)
    assert {k: cable.to_dict()[k] for k in ("encoding", "encoding_fallback")} == {
        "encoding": "cp1252", "encoding_fallback": True
    }  # fmt: skip
    plain = nlp(RAW)._.cable  # a string given to the pipeline: no file, no encoding
    assert (plain.encoding, plain.encoding_fallback) == (None, False)


def test_paragraph_and_portion_per_entity(nlp):
    doc = nlp(RAW)
    paragraphs = {int(s.label_): s for s in doc.spans["paragraphs"]}
    assert set(paragraphs) == {p.number for p in doc._.cable.paragraphs}
    portion = {p.number: p.portion for p in doc._.cable.paragraphs}
    assert portion[1] == "C" and portion[3] == "SBU"
    seen = set()
    for ent in doc.ents:
        n = ent._.paragraph
        assert paragraphs[n].start <= ent.start < paragraphs[n].end
        assert ent._.portion == portion[n]
        seen.add((ent.text, n))
    assert ("Sohar", 1) in seen and ("Harthy", 3) in seen
    header = doc.spans["header"]
    assert len(header) == 1 and header[0].label_ == "HEADER"
    assert header[0].end_char <= doc._.cable.header_end + 1
    assert header[0].end == paragraphs[1].start


@pytest.mark.parametrize("text", [TAGGED, RAW, PAGE], ids=["tagged", "raw", "page"])
def test_source_span_points_into_the_input(nlp, text):
    doc = nlp(text)
    assert len(doc.ents) >= 10
    for ent in doc.ents:
        a, b = ent._.source_span
        assert 0 <= a < b <= len(text)
        assert squash(html.unescape(text[a:b])) == squash(ent.text)
    if text is TAGGED:  # the spans sit inside the tagger's brackets
        before = {(e.text, text[e._.source_span[0] - 5 : e._.source_span[0]]) for e in doc.ents}
        assert ("Harthy", "[PER ") in before and ("Sohar", "[LOC ") in before


def test_source_span_of_header_spans_in_a_page(nlp):
    doc = nlp(PAGE)
    a, b = doc.spans["header"][0]._.source_span
    assert PAGE[a:].startswith("C O N F I D E N T I A L MUSCAT 000412")
    assert "SUBJECT: OMANI MINISTRY" in PAGE[a:b]
    assert PAGE[a - len("<code><pre>") : a] == "<code><pre>"


# --------------------------------------------------------------------------- plain and odd inputs


def test_plain_text_without_header(nlp):
    doc = nlp(PROSE)
    assert doc.text == PROSE
    cable = doc._.cable
    assert cable.form == "text"
    assert cable.classification is None and cable.tags == () and cable.subject is None
    assert cable.header_end == 0 and cable.paragraphs == ()
    assert [(e.text, e.label_) for e in doc.ents] == [("Harthy", "PER"), ("Sohar", "LOC")]
    assert [e._.source_span for e in doc.ents] == [(e.start_char, e.end_char) for e in doc.ents]
    assert all(e._.paragraph is None and e._.portion is None for e in doc.ents)
    assert len(doc.spans["header"]) == 0 and len(doc.spans["paragraphs"]) == 0
    assert not any(t.ent_iob_ == "B" and not t.ent_type_ for t in doc)  # nothing blocked


def test_a_body_sentence_with_header_words_is_not_a_header(nlp):
    # training's make_doc sees single sentences of long cables: only a cable's opening is a header
    doc = nlp("SUBJECT: THE BANKING SECTOR , TAGS: ECON , REF: MINSK 0638 , met Harthy in Sohar .")
    assert doc._.cable.subject is None and doc._.cable.header_end == 0
    assert not any(t.ent_iob_ == "B" and not t.ent_type_ for t in doc)  # nothing blocked


def test_plain_text_with_character_references_passes_unchanged(nlp):
    text = "AT&amp;T and <b>Harthy</b> met in Sohar."  # no cable markup: taken literally
    doc = nlp(text)
    assert doc.text == text and doc._.cable.form == "text"


def test_plain_text_with_a_cable_header():
    """A raw cable pasted without its <pre> wrapper: header parsed, header tokens blocked."""
    nlp = ruler_nlp()
    text = RAW.split("<code><pre>", 1)[1].split("</pre>", 1)[0]
    text = text.replace("<a href", "").replace("</a>", "")
    text = "\n".join(line for line in text.splitlines() if "TAGS:" not in line)
    doc = nlp.make_doc(text)
    assert doc.text == text
    assert doc._.cable.subject == SUBJECT and doc._.cable.header_end > 0
    blocked = [t.i for t in doc if t.ent_iob_ == "B" and not t.ent_type_]
    assert (
        blocked
        and max(blocked) < doc.char_span(0, doc._.cable.header_end, alignment_mode="expand").end
    )


def test_converted_text_passes_through_unchanged():
    """Training builds predicted docs with make_doc(reference.text): same text, header blocked
    only where the reference's header is missing (else spaCy raises E024 in update)."""
    nlp = spacy.blank("en", config=reader_config())
    nlp.add_pipe("ner")
    examples = []
    for source in list(iter_sources([SAMPLE / "tagged"]))[:6]:
        reference, _ = record_to_doc(read_cable(source, "tagged"), nlp.vocab, [])
        predicted = nlp.make_doc(reference.text)
        assert predicted.text == reference.text
        # the same header; the reference id came from the file name, which make_doc cannot see
        assert predicted._.cable.header == replace(reference._.cable.header, reference_id=None)
        assert any(t.ent_iob_ == "B" and not t.ent_type_ for t in predicted)
        examples.append(Example(predicted, reference))
    optimizer = nlp.initialize(lambda: examples)
    losses = nlp.update(examples, sgd=optimizer)
    assert losses["ner"] > 0


@pytest.mark.parametrize(
    "name,reason", [("bad_stub.txt", "scraper stub"), ("bad_unbalanced.txt", "markup error")]
)
def test_rejected_input_is_read_as_text_or_raises_when_strict(nlp, name, reason):
    text = (SAMPLE / "bad" / name).read_text(encoding="utf-8")
    doc = nlp(text)
    assert doc.text == text
    assert doc._.cable.skipped.startswith(reason)
    assert doc._.cable.classification is None
    assert reason in render(doc)
    strict = ruler_nlp(strict=True)
    with pytest.raises(CableReaderError, match=reason):
        strict(text)


def test_wrong_input_types(nlp):
    for bad in (b"bytes", None, 3, ["a list"]):
        with pytest.raises(ValueError):  # spaCy's E1041, before any component runs
            nlp(bad)
    with pytest.raises(CableReaderError, match="expected str"):
        nlp.tokenizer(b"bytes")
    with pytest.raises(ValueError, match="unknown form"):
        ruler_nlp(form="pdf")


def test_empty_and_whitespace_text(nlp):
    for text in ("", " \n "):
        doc = nlp(text)
        assert doc.text == text and not doc.ents
        assert doc._.cable.to_dict()["entities"] == {}


def test_long_text_needs_max_length_raised_and_keeps_every_entity():
    nlp = ruler_nlp()
    nlp.get_pipe("entity_ruler").add_patterns(
        [{"label": "MISC", "pattern": [{"IS_TITLE": True}, {"IS_TITLE": True}]}]
    )
    texts = [s.path.read_text(encoding="utf-8") for s in iter_sources([SAMPLE / "raw"])][:10]
    long_text = "\n".join(texts)
    nlp.max_length = 1000
    with pytest.raises(ValueError, match="E088"):
        nlp(long_text)
    nlp.max_length = len(long_text) + 1
    doc = nlp(long_text)
    assert len(doc.ents) == sum(len(nlp(t).ents) for t in texts) > 0
    for ent in doc.ents:
        a, b = ent._.source_span
        assert squash(long_text[a:b]) == squash(ent.text)
    assert doc._.cable.subject == nlp(texts[0])._.cable.subject


# --------------------------------------------------------------------------- header blocking


@pytest.fixture(scope="module")
def muscat_nlp():
    """A NER that has learnt one thing: "Muscat" is a LOC."""
    nlp = spacy.blank("en", config=reader_config())
    nlp.add_pipe("ner")
    nlp.add_pipe("cable_metadata")
    fix_random_seed(0)
    examples = []
    for who in ("The delegation", "Our officer", "The minister", "A journalist", "He"):
        for verb in ("travelled to", "arrived in", "stayed in", "left"):
            text = f"{who} {verb} Muscat on Monday ."
            doc = nlp.make_doc(text)
            start = text.index("Muscat")
            examples.append(Example.from_dict(doc, {"entities": [(start, start + 6, "LOC")]}))
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(20):
        random.shuffle(examples)
        nlp.update(examples, sgd=optimizer)
    return nlp


def test_header_tokens_are_blocked_from_the_ner(muscat_nlp):
    nlp = muscat_nlp
    doc = nlp(RAW)  # the header has "Embassy Muscat" (CLASSIFIED BY)
    header_end = doc._.cable.header_end
    assert doc.text.index("Embassy Muscat") < header_end
    assert not [e for e in doc.ents if e.start_char < header_end]
    # the same tokens without the block: the NER tags Muscat in the header
    plain = nlp.get_pipe("ner")(nlp.tokenizer.tokenizer(doc.text))
    assert "Muscat" in [e.text for e in plain.ents if e.end_char <= header_end]
    # and the body is not blocked
    body = doc.text[:header_end] + "1. (C) The delegation arrived in Muscat on Monday."
    doc = nlp(body)
    assert [(e.text, e.label_, e._.paragraph, e._.portion) for e in doc.ents] == [
        ("Muscat", "LOC", 1, "C")
    ]


# ----------------------------------------------------------------- serialisation, processes


def test_doc_bytes_and_docbin_round_trip(nlp, tmp_path):
    docs = [nlp(t) for t in (TAGGED, RAW, PAGE, PROSE)]
    for doc in docs:
        assert summary(Doc(nlp.vocab).from_bytes(doc.to_bytes())) == summary(doc)
    DocBin(docs=docs, store_user_data=True).to_disk(tmp_path / "docs.spacy")
    back = list(DocBin().from_disk(tmp_path / "docs.spacy").get_docs(nlp.vocab))
    assert [summary(d) for d in back] == [summary(d) for d in docs]


def test_pipe_in_two_processes_keeps_metadata(nlp):
    texts = [TAGGED, RAW, PAGE, PROSE]
    expected = [summary(nlp(t)) for t in texts]
    assert [summary(d) for d in nlp.pipe(texts, n_process=2, batch_size=1)] == expected
    contexts = [{"source": f"in/{REF}.txt", "i": i} for i in range(len(texts))]
    pairs = list(nlp.pipe(zip(texts, contexts, strict=True), as_tuples=True, n_process=2))
    assert [c for _, c in pairs] == contexts
    assert [d._.cable.reference_id for d, _ in pairs] == [REF] * 4
    assert [d._.cable.subject for d, _ in pairs] == [e["cable"]["subject"] for e in expected]


def test_reader_settings_serialise_with_the_pipeline(tmp_path):
    # (a forced form applies to every make_doc, the ruler's phrase patterns included)
    nlp = ruler_nlp(form="text", strict=True)
    assert isinstance(nlp.tokenizer, CableReader) and nlp.tokenizer.form == "text"
    blank = ruler_nlp()
    blank.from_bytes(nlp.to_bytes())
    assert (blank.tokenizer.form, blank.tokenizer.strict) == ("text", True)
    nlp.to_disk(tmp_path / "p")
    assert json.loads((tmp_path / "p" / "tokenizer" / "cfg.json").read_text()) == {
        "form": "text", "strict": True
    }  # fmt: skip
    loaded = spacy.load(tmp_path / "p")
    assert loaded.tokenizer.form == "text" and loaded.tokenizer.strict
    assert summary(loaded(RAW)) == summary(nlp(RAW))
    # spaCy's tokenizer settings travel inside: a special case survives the round trip
    nlp.tokenizer.add_special_case("SIPDIS", [{"ORTH": "SIP"}, {"ORTH": "DIS"}])
    nlp.to_disk(tmp_path / "q")
    assert [t.text for t in spacy.load(tmp_path / "q").make_doc("x SIPDIS")] == ["x", "SIP", "DIS"]


def test_entry_points_name_the_registered_functions():
    """Trained pipelines name `cable_ner.cable_reader.v1` and `cable_metadata`; spaCy finds them
    through pyproject.toml's entry points, which must name the modules that define them."""
    import importlib

    from spacy.util import registry

    from cable_ner.components import make_cable_metadata
    from cable_ner.tokenizer import create_cable_reader

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    for group, entries in groups.items():
        for name, target in entries.items():
            module, attr = target.split(":")
            assert callable(getattr(importlib.import_module(module), attr)), (group, name)
    assert groups["spacy_tokenizers"] == {
        "cable_ner.cable_reader.v1": "cable_ner.tokenizer:create_cable_reader"
    }  # fmt: skip
    assert groups["spacy_factories"]["cable_metadata"] == "cable_ner.components:make_cable_metadata"
    assert registry.tokenizers.get("cable_ner.cable_reader.v1") is create_cable_reader
    assert registry.factories.get("cable_metadata") is make_cable_metadata


LOAD_SCRIPT = """
import json, sys
import spacy
assert not any(m.startswith("cable_ner") for m in sys.modules), "imported too early"
nlp = spacy.load(sys.argv[1])
out = []
for path in sys.argv[2:]:
    doc = nlp(open(path, encoding="utf-8").read())
    out.append({"cable": doc._.cable.to_dict(), "ents": [
        (e.start_char, e.end_char, e.label_, e._.paragraph, e._.portion, list(e._.source_span))
        for e in doc.ents]})
blis = sorted({node.ops.use_blis for _, pipe in nlp.components if hasattr(pipe, "model")
               for node in pipe.model.walk()})
print(json.dumps({"tokenizer": type(nlp.tokenizer).__name__, "docs": out,
                  "cable_ner": sys.modules["cable_ner"].__file__, "blis": blis}))
"""


def load_in_fresh_process(python: str, model: str, files: list[Path], cwd: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["OMP_NUM_THREADS"] = "1"
    result = subprocess.run(
        [python, "-c", LOAD_SCRIPT, model, *map(str, files)],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def expected_output(nlp, files: list[Path]) -> list[dict]:
    out = []
    for path in files:
        s = summary(nlp(path.read_text(encoding="utf-8")))
        out.append({"cable": s["cable"], "ents": s["ents"]})
    return json.loads(json.dumps(out))


def test_saved_pipeline_loads_in_a_fresh_process_by_entry_points(muscat_nlp, tmp_path):
    muscat_nlp.to_disk(tmp_path / "model")
    files = [SAMPLE / "raw" / f"{REF}.txt", SAMPLE / "pages" / f"{REF}.html"]
    got = load_in_fresh_process(sys.executable, str(tmp_path / "model"), files, tmp_path)
    assert got["tokenizer"] == "CableReader" and got["blis"] == [True]  # thinc's default
    assert got["docs"] == expected_output(muscat_nlp, files)
    assert got["docs"][1]["cable"]["reference_id"] == REF


def test_render_has_an_escaped_metadata_block(nlp):
    doc = nlp(PAGE)
    page = render(doc)
    assert page.startswith("<!DOCTYPE html>") and f"<title>{REF}</title>" in page
    assert SUBJECT in page and "PREL, ENRG, ECON, IR, MU" in page and "<mark" in page
    doc.user_data["cable"]["header"]["subject"] = "<script>alert(1)</script>"
    fragment = render(doc, page=False)
    assert "<script>" not in fragment and "&lt;script&gt;alert(1)&lt;/script&gt;" in fragment
    assert fragment.startswith('<div class="cable">')


# --------------------------------------------------------------------------- packaging


def train_sample_model(path: Path, epochs: int = 8) -> spacy.Language:
    """A CNN NER trained on the sample's tagged cables, enough to predict entities."""
    nlp = spacy.blank("en", config=reader_config())
    nlp.add_pipe("ner")
    nlp.add_pipe("cable_metadata")
    examples = []
    for source in iter_sources([SAMPLE / "tagged"]):
        reference, _ = record_to_doc(read_cable(source, "tagged"), nlp.vocab, [])
        examples.append(Example(nlp.make_doc(reference.text), reference))
    fix_random_seed(0)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(epochs):
        random.shuffle(examples)
        for i in range(0, len(examples), 4):
            nlp.update(examples[i : i + 4], sgd=optimizer, drop=0.1)
    nlp.to_disk(path)
    return nlp


@pytest.mark.slow
def test_package_builds_wheels_that_install_and_load(tmp_path):
    nlp = train_sample_model(tmp_path / "model-best")
    files = [SAMPLE / "raw" / f"{REF}.txt", SAMPLE / "tagged" / "09DAKAR880.txt",
             SAMPLE / "pages" / "09DAKAR880.html"]  # fmt: skip
    expected = expected_output(nlp, files)
    assert all(len(d["ents"]) >= 10 for d in expected)
    out = tmp_path / "packages"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "package.py"), str(tmp_path / "model-best"),
         str(out), "--name", "cable_ner_test", "--version", "0.0.1"],
        check=True, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    ours = list(out.glob("cable_ner-*.whl"))
    pipeline = list(out.glob("en_cable_ner_test-0.0.1-*.whl"))
    assert len(ours) == 1 and len(pipeline) == 1
    # a fresh environment: spaCy and friends from this one (a path entry, not a site dir, so
    # the editable install's .pth is not run), cable-ner and the pipeline from the wheels only
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    ours_site = next(p for p in sys.path if p.endswith("site-packages"))
    (Path(site) / "outer_env.pth").write_text(ours_site + "\n")
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(ours[0]),
         str(pipeline[0])],
        check=True, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    requires = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.requires('en_cable_ner_test'))"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "cable-ner" in requires
    got = load_in_fresh_process(python, "en_cable_ner_test", files, tmp_path)
    assert got["cable_ner"].startswith(site), got["cable_ner"]
    assert got["blis"] == [False]  # the packaged config names cable_ner.numpy_blas.v1
    assert got["docs"] == expected
    assert got["docs"][2]["cable"]["reference_id"] == "09DAKAR880"


def test_package_names_the_build_requirement_when_the_wheel_build_fails(tmp_path):
    """The cable-ner wheel is built without isolation, with this environment's setuptools: when
    that build fails (here a setuptools that cannot be imported, as an old one cannot read the
    SPDX license), the script says so and which file holds the requirement, and stops there."""
    fake = tmp_path / "shadow" / "setuptools"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('a setuptools this build cannot use')\n")
    env = {**os.environ, "PYTHONPATH": str(fake.parent)}
    script = ROOT / "scripts" / "package.py"
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path), str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    said = " ".join(result.stdout.split())  # wasabi wraps its messages at 80 columns
    assert result.returncode == 1
    assert "could not build the cable-ner wheel" in said
    assert f"{ROOT / 'pyproject.toml'} [build-system]" in said
    assert "pip install -U setuptools" in said
    assert not list((tmp_path / "out").glob("*.whl"))
