"""Batch annotation (cable_ner.annotate, cable_ner.ray_engine) with a tiny rule-based pipeline."""

import codecs
import html
import importlib.util
import json
import shutil
from pathlib import Path

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import DocBin

from cable_ner.annotate import annotate, prepare_pipeline
from cable_ner.reader import decode, iter_sources, read_cable
from cable_ner.tokenizer import CableReader
from cable_ner.writers import REQUIRED_KEYS, TaggedWriter, inside, safe_name

PATTERNS = [
    {"label": "LOC", "pattern": "Muscat"},
    {"label": "LOC", "pattern": "Oman"},
    {"label": "LOC", "pattern": [{"LOWER": "harare"}]},
    {"label": "ORG", "pattern": [{"LOWER": "embassy"}]},
    {"label": "PER", "pattern": [{"LOWER": "ambassador"}]},
    {"label": "MISC", "pattern": [{"LOWER": "mdc"}]},
]
ENTITY_KEYS = {"start", "end", "label", "text", "paragraph", "portion"}


@Language.component("fail_on_marker")
def fail_on_marker(doc):
    if "FAIL-THIS-CABLE" in doc.text:
        raise RuntimeError("marker found")
    return doc


def _tiny(path: Path, cable_reader: bool = True, extra: tuple[str, ...] = ()) -> Path:
    config = {"nlp": {"tokenizer": {"@tokenizers": "cable_ner.cable_reader.v1"}}}
    nlp = spacy.blank("en", config=config if cable_reader else {})
    nlp.add_pipe("entity_ruler").add_patterns(PATTERNS)
    nlp.add_pipe("sentencizer")
    for name in extra:
        nlp.add_pipe(name)
    if cable_reader:
        nlp.add_pipe("cable_metadata")
    nlp.to_disk(path)
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return _tiny(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, sample) -> Path:
    """raw, pages and tagged samples, a copy with a hostile name, and corrupt files."""
    root = tmp_path_factory.mktemp("inputs")
    for form in ("raw", "pages", "tagged"):
        shutil.copytree(sample / form, root / form)
    hostile = root / "hostile"
    hostile.mkdir()
    shutil.copy(sample / "raw" / "07MUSCAT412.txt", hostile / "%2E%2E%2Fetc%2Fpasswd .txt")
    shutil.copy(sample / "raw" / "07MUSCAT412.txt", hostile / "...txt")
    bad = root / "bad"
    bad.mkdir()
    (bad / "invalid_utf8.txt").write_bytes(b"<pre>UNCLAS \x81\x8d MUSCAT</pre>")  # nor cp1252
    (bad / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    (bad / "empty.txt").write_bytes(b"")
    return root


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _squash(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def jsonl_run(model, inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("jsonl") / "out.jsonl"
    summary = annotate(model, [inputs], out, fmt="jsonl")
    return summary, out


def test_jsonl_records_and_offsets_into_the_original_file(jsonl_run, inputs):
    summary, out = jsonl_run
    rows = _lines(out)
    n_files = sum(1 for _ in iter_sources([inputs]))
    assert summary["read"] == n_files == summary["annotated"] + summary["failed"]
    assert summary["failed"] == 3 and len(rows) == summary["annotated"]
    assert len({r["source"] for r in rows}) == len(rows)
    checked = 0
    for row in rows:
        assert set(REQUIRED_KEYS) <= set(row)
        file_text = decode(row["source"], Path(row["source"]).read_bytes()).text
        for ent in row["entities"]:
            assert set(ent) >= ENTITY_KEYS
            found = file_text[ent["start"] : ent["end"]]
            assert _squash(html.unescape(found)) == _squash(ent["text"]), (row["source"], ent)
            checked += 1
    assert checked > 50
    by_source = {r["source"]: r for r in rows}
    muscat = by_source[str(inputs / "pages" / "07MUSCAT412.html")]
    assert muscat["reference_id"] == "07MUSCAT412"
    assert muscat["form"] == "page"
    assert muscat["classification"] and muscat["tags"] and muscat["subject"]
    assert {e["text"] for e in muscat["entities"]} >= {"Muscat"}
    with_para = [e for r in rows for e in r["entities"] if e["paragraph"] is not None]
    assert with_para and all(isinstance(e["paragraph"], int) for e in with_para)
    assert any(e["portion"] for e in with_para)


def test_failures_are_reported_and_the_run_continues(jsonl_run):
    summary, out = jsonl_run
    failures = _lines(out.with_name("out.failures.jsonl"))
    reasons = {Path(f["file"]).name: f["reason"] for f in failures}
    assert set(reasons) == {"invalid_utf8.txt", "binary.txt", "empty.txt"}
    assert reasons["invalid_utf8.txt"] == (
        "undecodable at byte 12: neither UTF-8 nor cp1252 (byte 0x81) (line 1)"
    )
    assert reasons["binary.txt"].startswith("binary file")
    assert summary["failures_by_reason"] == {"undecodable": 1, "binary file": 1, "empty file": 1}


def test_files_in_other_encodings_are_decoded_and_their_encoding_recorded(model, sample, tmp_path):
    """UTF-16 and UTF-8 with a byte-order mark, and cp1252 (not UTF-8), read as what they are:
    the same entities at the same character offsets into the decoded file as the UTF-8 file."""
    text = (sample / "raw" / "07MUSCAT412.txt").read_text(encoding="utf-8")
    text = text.replace("(C) Summary: ", "(C) Summary: The café’s owner in Muscat said ", 1)
    boms = {"utf-8-sig": codecs.BOM_UTF8, "utf-16-le": codecs.BOM_UTF16_LE,
            "utf-16-be": codecs.BOM_UTF16_BE}  # fmt: skip
    src = tmp_path / "in"
    src.mkdir()
    for encoding in ("utf-8", *boms, "cp1252"):
        data = boms.get(encoding, b"") + text.encode(encoding.removesuffix("-sig"))
        (src / f"{encoding}.txt").write_bytes(data)
    (src / "binary.txt").write_bytes(b"\x00" * 64)
    out = tmp_path / "out.jsonl"
    summary = annotate(model, [src], out)
    assert (summary["annotated"], summary["failed"]) == (5, 1)
    failures = _lines(out.with_name("out.failures.jsonl"))
    assert [(Path(f["file"]).name, f["reason"]) for f in failures] == [
        ("binary.txt", "binary file (contains NUL bytes)")
    ]
    rows = {Path(r["source"]).stem: r for r in _lines(out)}
    cafe = text.index("café’s owner in Muscat")
    muscat = {"start": cafe + 16, "end": cafe + 22, "label": "LOC", "text": "Muscat"}
    for encoding, row in rows.items():
        assert (row["encoding"], row["encoding_fallback"]) == (encoding, encoding == "cp1252")
        assert decode(row["source"], Path(row["source"]).read_bytes()).text == text
        assert row["entities"] == rows["utf-8"]["entities"]
        assert any(muscat.items() <= e.items() for e in row["entities"])
        for e in row["entities"]:
            assert _squash(html.unescape(text[e["start"] : e["end"]])) == _squash(e["text"])

def test_tagged_output_reparses_to_the_same_entities(model, inputs, jsonl_run, tmp_path):
    _, jsonl = jsonl_run
    expected = {r["source"]: r for r in _lines(jsonl)}
    out = tmp_path / "tagged"
    summary = annotate(model, [inputs / "raw", inputs / "pages"], out, fmt="tagged")
    assert summary["failed"] == 0 and summary["annotated"] == 45
    manifest = _lines(out / "manifest.jsonl")
    assert len(manifest) == 45
    names = [m["file"] for m in manifest]
    assert len(set(names)) == 45  # raw and page twins share an id: the second gets __2
    assert "04BOGOTA5512.txt" in names and "04BOGOTA5512__2.txt" in names
    for row in manifest:
        record = read_cable(next(iter_sources([out / row["file"]])), form="tagged")
        assert record.form == "tagged", row
        want = expected[row["source"]]["entities"]
        got = [(_squash(record.text[a:b]), label) for a, b, label in record.entities]
        assert got == [(_squash(e["text"]), e["label"]) for e in want], row["file"]
        if row["reference_id"] and "__" not in row["file"]:
            assert record.reference_id == row["reference_id"]


def test_docbin_output_loads(model, inputs, jsonl_run, tmp_path):
    _, jsonl = jsonl_run
    expected = {r["source"]: r for r in _lines(jsonl)}
    out = tmp_path / "docbin"
    summary = annotate(model, [inputs / "pages"], out, fmt="docbin", shard_size=2)
    shards = sorted(out.glob("annotated-*.spacy"))
    assert [p.name for p in shards] == [f"annotated-{i:05d}.spacy" for i in range(3)]
    nlp = spacy.blank("en")
    docs = [d for p in shards for d in DocBin().from_disk(p).get_docs(nlp.vocab)]
    assert len(docs) == summary["annotated"] == 5
    for doc in docs:
        row = expected[doc._.cable.source]
        assert doc._.cable.reference_id == row["reference_id"]
        assert [(e.text, e.label_) for e in doc.ents] == [
            (e["text"], e["label"]) for e in row["entities"]
        ]
        assert [e._.source_span for e in doc.ents] == [
            (e["start"], e["end"]) for e in row["entities"]
        ]
        assert "paragraphs" in doc.spans


def test_resume_skips_done_cables_and_redoes_a_truncated_last_line(model, inputs, tmp_path):
    out = tmp_path / "out.jsonl"
    first = annotate(model, [inputs / "raw"], out)
    complete = out.read_bytes()
    lines = complete.splitlines(keepends=True)
    out.write_bytes(b"".join(lines[:-1]) + lines[-1][:37])  # a crash mid-line
    again = annotate(model, [inputs / "raw"], out)
    assert (first["annotated"], again["resumed"], again["annotated"]) == (40, 39, 1)
    assert out.read_bytes() == complete
    third = annotate(model, [inputs / "raw", inputs / "pages"], out)
    assert (third["resumed"], third["annotated"]) == (40, 5)
    fresh = annotate(model, [inputs / "raw"], out, resume=False)
    assert fresh["annotated"] == 40 and out.read_bytes() == complete


def test_resume_tagged_from_manifest(model, inputs, tmp_path):
    out = tmp_path / "tagged"
    annotate(model, [inputs / "pages"], out, fmt="tagged")
    (out / "07MUSCAT412.txt").unlink()
    again = annotate(model, [inputs / "pages"], out, fmt="tagged")
    assert (again["resumed"], again["annotated"]) == (4, 1)
    assert (out / "07MUSCAT412.txt").is_file()


def test_hostile_names_never_escape_the_output_folder(model, inputs, tmp_path):
    for hostile in ("../etc/passwd", "..", ".", "...", "/etc/passwd", "a/../../b", "", None,
                    ".bashrc", "x\x00y", "ÉTÉ 10 PARIS"):  # fmt: skip
        name = safe_name(hostile)
        assert (
            name
            and not name.startswith(".")
            and set(name)
            <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
        ), (hostile, name)
        assert inside(tmp_path, name + ".txt").parent == tmp_path.resolve()
    with pytest.raises(ValueError):
        inside(tmp_path, "../escape.txt")
    out = tmp_path / "nested" / "tagged"
    with TaggedWriter(out) as writer:
        writer.write("x", "../../etc/passwd", "<code><pre>x </pre></code>\n")
    assert [p.name for p in out.iterdir()] and (out / "etc_passwd.txt").is_file()
    assert sorted(p.name for p in tmp_path.rglob("*passwd*")) == ["etc_passwd.txt"]
    # a folder skips dot files; a file named on the command line is read
    hostile = [inputs / "hostile", inputs / "hostile" / "...txt"]
    summary = annotate(model, hostile, tmp_path / "h", fmt="tagged")
    assert summary["annotated"] == 2
    written = sorted(p.name for p in (tmp_path / "h").iterdir())
    assert written == ["2E_2E_2Fetc_2Fpasswd.txt", "cable.txt", "failures.jsonl", "manifest.jsonl"]


def test_n_process_2_equals_n_process_1(model, inputs, jsonl_run, tmp_path):
    _, one = jsonl_run
    two = tmp_path / "two.jsonl"
    summary = annotate(model, [inputs], two, n_process=2, batch_size=4)
    assert summary["failed"] == 3
    assert two.read_bytes() == one.read_bytes()


@pytest.mark.parametrize("n_process", [1, 2])
def test_a_component_error_fails_its_batch_only(tmp_path, inputs, n_process):
    model = _tiny(tmp_path / "failing", extra=("fail_on_marker",))
    src = tmp_path / "in"
    shutil.copytree(inputs / "pages", src)
    (src / "10ZZFAIL1.txt").write_text("<pre>UNCLAS FAIL-THIS-CABLE\n1. Muscat</pre>\n")
    out = tmp_path / "out.jsonl"
    summary = annotate(model, [src], out, n_process=n_process, batch_size=1)
    assert (summary["annotated"], summary["failed"]) == (5, 1)
    failures = _lines(tmp_path / "out.failures.jsonl")
    assert [Path(f["file"]).name for f in failures] == ["10ZZFAIL1.txt"]
    assert "marker found" in failures[0]["reason"]
    assert len(_lines(out)) == 5


def test_a_plain_pipeline_gets_the_cable_reader_and_metadata(tmp_path, inputs):
    path = _tiny(tmp_path / "plain", cable_reader=False)
    nlp = prepare_pipeline(spacy.load(path))
    assert isinstance(nlp.tokenizer, CableReader)
    assert nlp.pipe_names[-2:] == ["cable_metadata", "release_memory"]
    assert prepare_pipeline(nlp).pipe_names == nlp.pipe_names  # idempotent
    out = tmp_path / "out.jsonl"
    annotate(path, [inputs / "pages"], out)
    rows = _lines(out)
    assert [r["reference_id"] for r in rows] == [
        "04BOGOTA5512", "06CAIRO2231", "07MUSCAT412", "09DAKAR880", "10BRASILIA88"
    ]  # fmt: skip


def test_release_memory_trims_the_heap_every_batch(monkeypatch):
    from cable_ner import components as module

    calls = []
    monkeypatch.setattr(module, "_malloc_trim", lambda: calls.append)
    nlp = prepare_pipeline(spacy.blank("en"), batch_size=3)
    assert nlp.get_pipe("release_memory").every == 3
    docs = list(nlp.pipe(["a b", "c", "d e f", "g", "h", "i", "j"]))
    assert [d.text for d in docs] == ["a b", "c", "d e f", "g", "h", "i", "j"]
    assert calls == [0, 0]  # after the 3rd and the 6th doc
    monkeypatch.setattr(module, "_malloc_trim", lambda: None)  # not glibc: a no-op
    assert nlp("k l").text == "k l"
    with pytest.raises(ValueError, match="every must be >= 1"):
        spacy.blank("en").add_pipe("release_memory", config={"every": 0})


def _annotate_cli():
    spec = importlib.util.spec_from_file_location(
        "annotate_cli", Path(__file__).resolve().parents[1] / "scripts" / "annotate.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def test_annotate_cli_takes_inputs_like_convert_and_checks_its_choices(model, inputs, tmp_path):
    """INPUTS... as scripts/convert.py takes them (a folder and a file here), OUTPUT last; --format
    and --engine are choices, and a file where a folder is needed is refused before any work."""
    from typer.testing import CliRunner

    app, runner = _annotate_cli(), CliRunner()
    src = [str(inputs / "pages"), str(inputs / "raw" / "07MUSCAT412.txt")]
    out = tmp_path / "cli.jsonl"
    result = runner.invoke(app, [str(model), *src, str(out), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    annotate(model, src, tmp_path / "api.jsonl")
    assert out.read_bytes() == (tmp_path / "api.jsonl").read_bytes()
    assert len(_lines(out)) == 6
    for option in ("--format", "--engine"):
        bad = runner.invoke(app, [str(model), src[0], str(tmp_path / "x"), option, "csv"])
        assert bad.exit_code == 2 and "'csv' is not one of" in bad.output, bad.output
    result = runner.invoke(app, [str(model), src[0], str(out), "--format", "tagged"])
    assert result.exit_code == 1 and f"{out} is a file" in " ".join(result.output.split())
    help_text = " ".join(runner.invoke(app, ["--help"], env={"COLUMNS": "200"}).output.split())
    assert "Annotate every cable in INPUTS" in help_text and "jsonl|tagged|docbin" in help_text


# --------------------------------------------------------------------------- Ray

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="ray not installed (pip install -e .[ray])"
)


@pytest.fixture(scope="module")
def local_ray():
    from cable_ner.ray_engine import init_ray

    init_ray(num_cpus=2)
    import ray

    yield
    ray.shutdown()


@pytest.mark.slow
@needs_ray
def test_ray_engine_equals_the_local_engine_on_the_sample_pages(model, inputs, local_ray, tmp_path):
    from cable_ner.ray_engine import annotate_ray

    src = [inputs / "pages", inputs / "bad"]
    local, remote = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    a = annotate(model, src, local)
    b = annotate_ray(model, src, remote, actors=2, files_per_task=2)
    assert (b["annotated"], b["failed"]) == (a["annotated"], a["failed"]) == (5, 3)
    assert remote.read_bytes() == local.read_bytes()
    assert (
        remote.with_name("ray.failures.jsonl").read_bytes()
        == local.with_name("local.failures.jsonl").read_bytes()
    )
    again = annotate_ray(model, src, remote, actors=2)
    assert (again["resumed"], again["annotated"]) == (5, 0)


@pytest.mark.slow
@pytest.mark.corpus
@needs_ray
def test_ray_engine_equals_the_local_engine_on_the_shared_pages(
    model, local_ray, shared_data, tmp_path
):
    from cable_ner.ray_engine import annotate_ray

    pages = shared_data / "pages"
    if not pages.is_dir():
        pytest.skip(f"no pages in {shared_data}")
    local, remote = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    a = annotate(model, [pages], local, batch_size=32)
    b = annotate_ray(model, [pages], remote, actors=2, batch_size=32)
    assert a["annotated"] == b["annotated"] > 250
    assert remote.read_bytes() == local.read_bytes()


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.mark.slow
@needs_ray
@pytest.mark.parametrize("fmt", ["tagged", "docbin"])
def test_ray_engine_writes_tagged_and_docbin_like_the_local_engine(
    fmt, model, inputs, local_ray, tmp_path
):
    from cable_ner.ray_engine import annotate_ray

    src = [inputs / "raw", inputs / "pages", inputs / "bad"]
    a = annotate(model, src, tmp_path / "local", fmt=fmt)
    b = annotate_ray(model, src, tmp_path / "ray", fmt=fmt, actors=2, files_per_task=8)
    assert (b["annotated"], b["failed"]) == (a["annotated"], a["failed"]) == (45, 3)
    local, remote = _tree(tmp_path / "local"), _tree(tmp_path / "ray")
    assert sorted(remote) == sorted(local)
    assert remote == local
    if fmt == "tagged":
        assert sum(name.endswith(".txt") for name in local) == 45
    else:
        docs = [
            doc
            for name in sorted(local)
            if name.endswith(".spacy")
            for doc in DocBin()
            .from_disk(tmp_path / "local" / name)
            .get_docs(spacy.blank("en").vocab)
        ]
        assert len(docs) == 45 and sum(len(doc.ents) for doc in docs) > 45


@pytest.mark.slow
@needs_ray
def test_annotate_cli_joins_an_existing_ray_cluster(model, inputs, local_ray, tmp_path):
    """`--address` joins the cluster this test process started (a separate driver process)."""
    import subprocess
    import sys

    import ray

    address = ray.get_runtime_context().gcs_address
    out = tmp_path / "cluster.jsonl"
    cmd = [sys.executable, "scripts/annotate.py", str(model), str(inputs / "pages"), str(out),
           "--engine", "ray", "--address", address, "--actors", "1"]  # fmt: skip
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    local = tmp_path / "local.jsonl"
    annotate(model, [inputs / "pages"], local)
    assert out.read_bytes() == local.read_bytes()
    assert len(_lines(out)) == 5


def test_scaling_benchmark_rates_leave_out_startup_and_count_cores():
    """benchmarks/benchmark_pipeline.py's scaling section: files come back in batches of 2, the
    first after 10 s of startup; the steady rate counts what comes after the first, over the time
    since. A Ray actor or local worker is a core; one local process runs torch on every CPU."""
    spec = importlib.util.spec_from_file_location(
        "benchmark_pipeline",
        Path(__file__).resolve().parents[1] / "benchmarks" / "benchmark_pipeline.py",
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.parse_job("cnn/ray:4:int8") == ("cnn", "ray", 4, "int8")
    assert bench.parse_job("local:2") == ("", "local", 2, None)
    ticks = [10.0, 10.0, 12.0, 12.0, 14.0, 14.0, 16.0, 16.0]
    row = bench.scaling_row("ray:2:int8", {"annotated": 8, "ticks": ticks}, cpus=4)
    assert (row["engine"], row["workers"], row["cores"], row["quantize"]) == ("ray", 2, 2, "int8")
    assert row["startup_s"] == 10.0 and "ticks" not in row
    assert row["steady_cables_per_s"] == 1.0 and row["cables_per_s_per_core"] == 0.5
    assert row["release_hours"] == pytest.approx(251_287 / 3600)
    assert row["release_core_hours"] == pytest.approx(2 * row["release_hours"])
    local = bench.scaling_row("cnn/local:1", {"ticks": list(ticks)}, cpus=4)
    assert (local["engine"], local["workers"], local["quantize"]) == ("local", 1, None)
    assert local["cores"] == 4 and local["cables_per_s_per_core"] == 0.25
    # everything back in two lumps (a few large Ray tasks): no rate to tell
    lumps = bench.scaling_row("ray:2", {"ticks": [20.0] * 16 + [21.0] * 84}, cpus=4)
    assert lumps["steady_cables_per_s"] is None and lumps["release_hours"] is None
    one_batch = bench.scaling_row("local:2", {"ticks": [5.0, 5.0]}, cpus=4)
    assert one_batch["steady_cables_per_s"] is None and one_batch["release_hours"] is None


@Language.component("record_threads")
def _record_threads(doc):
    import torch
    from threadpoolctl import threadpool_info

    doc.user_data["threads"] = [torch.get_num_threads(),
                                sorted({p["num_threads"] for p in threadpool_info()
                                        if p["user_api"] == "blas"})]
    return doc


def test_each_worker_runs_one_torch_and_one_blas_thread_and_the_parent_gets_its_own_back():
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    from cable_ner.annotate import annotate_docs

    def blas() -> list[int]:
        return sorted({p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"})

    nlp = spacy.blank("en")
    nlp.add_pipe("record_threads")
    items = [(f"Cable {i} from Muscat.", {"source": f"{i}.txt"}) for i in range(8)]
    before = torch.get_num_threads()
    with threadpool_limits(limits=2, user_api="blas"):  # what a 2-core machine starts with
        assert blas() == [2]
        one = [doc.user_data["threads"] for _, doc, _ in annotate_docs(nlp, items, n_process=1)]
        two = [doc.user_data["threads"] for _, doc, _ in annotate_docs(nlp, items, n_process=2)]
        assert blas() == [2]  # restored
    assert one == [[before, [2]]] * 8  # lists: user_data crosses processes as msgpack
    assert two == [[1, [1]]] * 8
    assert torch.get_num_threads() == before
