"""int8 quantization of the transformer (cable_ner.quantize) and the annotate job's --quantize.

The pipeline here is configs/trf.cfg with the bundled MiniLM, fine-tuned in memory on a few
sentences until it tags them right, so fp32 and int8 are compared on a model that finds entities.
"""

import importlib.util
import json
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.training import Example
from spacy.util import fix_random_seed, load_config, load_model_from_config
from thinc.api import Adam
from typer.testing import CliRunner

from cable_ner.annotate import annotate
from cable_ner.quantize import QuantizeError, check_quantizable, quantize_pipeline, quantized_mode

ROOT = Path(__file__).resolve().parents[1]
SENTENCES = [
    ("Ambassador Richard Schmierer met Minister Yusuf bin Alawi in Muscat .",
     [(11, 28, "PER"), (42, 57, "PER"), (61, 67, "LOC")]),
    ("The Foreign Ministry said Oman wants calm in the Gulf .",
     [(4, 20, "ORG"), (26, 30, "LOC"), (49, 53, "LOC")]),
    ("MDC leader Morgan Tsvangirai spoke in Harare on Tuesday .",
     [(0, 3, "ORG"), (11, 28, "PER"), (38, 44, "LOC")]),
]  # fmt: skip


def _ents(docs) -> list[set]:
    return [{(e.start_char, e.end_char, e.label_) for e in doc.ents} for doc in docs]


def _agreement(a: list[set], b: list[set]) -> float:
    return sum(len(x & y) for x, y in zip(a, b, strict=True)) / max(
        1, sum(len(x | y) for x, y in zip(a, b, strict=True))
    )


@pytest.fixture(scope="module")
def trf_model(transformer_dir, tmp_path_factory):
    """A trf.cfg pipeline that has learnt SENTENCES (60 updates, ~20 s on 2 cores), saved."""
    fix_random_seed(0)
    overrides = {"paths.transformer": str(transformer_dir)}
    config = load_config(ROOT / "configs" / "trf.cfg", overrides=overrides, interpolate=True)
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    examples = [Example.from_dict(nlp.make_doc(t), {"entities": e}) for t, e in SENTENCES]
    nlp.initialize(lambda: examples)
    optimizer = Adam(2e-4)
    for _ in range(60):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    assert _ents(nlp.pipe(t for t, _ in SENTENCES)) == [set(e) for _, e in SENTENCES]
    path = tmp_path_factory.mktemp("trf") / "model"
    nlp.to_disk(path)
    return path


@pytest.mark.slow
def test_int8_keeps_the_transformer_output_and_the_entities(trf_model, sample):
    texts = [t for t, _ in SENTENCES] + [
        p.read_text(encoding="utf-8") for p in sorted((sample / "raw").glob("*.txt"))[:3]
    ]
    fp32 = spacy.load(trf_model)
    int8 = quantize_pipeline(spacy.load(trf_model), "int8")
    assert quantized_mode(int8) == "int8" and quantized_mode(fp32) is None
    a, b = list(fp32.pipe(texts)), list(int8.pipe(texts))
    assert _ents(b[:3]) == [set(e) for _, e in SENTENCES]  # still right where it learnt
    assert sum(map(len, _ents(a))) >= 9
    assert _agreement(_ents(a), _ents(b)) >= 0.8
    for x, y in zip(a, b, strict=True):  # per wordpiece, the last hidden layer barely moves
        real = x._.trf_data.wordpieces.attention_mask.reshape(-1).astype(bool)  # not padding
        hx = x._.trf_data.model_output.last_hidden_state.reshape(-1, 384)[real]
        hy = y._.trf_data.model_output.last_hidden_state.reshape(-1, 384)[real]
        cos = (hx * hy).sum(-1) / (numpy.linalg.norm(hx, axis=-1) * numpy.linalg.norm(hy, axis=-1))
        assert cos.mean() >= 0.97, cos.mean()
    assert int8(texts[0])._.cable.quantize == "int8" and a[0]._.cable.quantize is None
    with pytest.raises(RuntimeError, match="cannot be saved"):
        int8.to_disk(trf_model.parent / "int8")


@pytest.mark.slow
def test_annotate_records_the_option_in_the_same_schema(trf_model, sample, tmp_path):
    a = annotate(trf_model, [sample / "raw"], tmp_path / "fp32.jsonl")
    b = annotate(trf_model, [sample / "raw"], tmp_path / "int8.jsonl", quantize="int8")
    assert a["annotated"] == b["annotated"] > 0 and a["failed"] == b["failed"] == 0
    rows_a = [json.loads(x) for x in (tmp_path / "fp32.jsonl").read_text().splitlines()]
    rows_b = [json.loads(x) for x in (tmp_path / "int8.jsonl").read_text().splitlines()]
    assert [sorted(r) for r in rows_a] == [sorted(r) for r in rows_b]
    assert {r["quantize"] for r in rows_a} == {None} and {r["quantize"] for r in rows_b} == {"int8"}
    spans = [[{(e["start"], e["end"], e["label"]) for e in r["entities"]} for r in rows]
             for rows in (rows_a, rows_b)]  # fmt: skip
    assert sum(map(len, spans[0])) >= 9
    assert _agreement(*spans) >= 0.8
    # two worker processes, each with its own quantized copy: the same records, and entities
    # (int8 activations are scaled per batch, and the workers' batches are not the same)
    c = annotate(trf_model, [sample / "raw"], tmp_path / "int8_n2.jsonl", quantize="int8",
                 n_process=2)  # fmt: skip
    assert (c["annotated"], c["failed"]) == (b["annotated"], 0)
    rows_c = {r["reference_id"]: r for r in map(json.loads, (tmp_path / "int8_n2.jsonl").open())}
    assert sorted(rows_c) == sorted(r["reference_id"] for r in rows_b)
    assert {r["quantize"] for r in rows_c.values()} == {"int8"}
    spans_c = [{(e["start"], e["end"], e["label"]) for e in rows_c[r["reference_id"]]["entities"]}
               for r in rows_b]  # fmt: skip
    assert _agreement(spans[1], spans_c) >= 0.9


def test_pipelines_without_a_transformer_and_unknown_modes_are_refused(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler")
    nlp.to_disk(tmp_path / "rules")
    with pytest.raises(QuantizeError, match="no transformer to quantize.*entity_ruler"):
        quantize_pipeline(nlp, "int8")
    with pytest.raises(QuantizeError, match="no transformer to quantize.*entity_ruler"):
        check_quantizable(tmp_path / "rules", "int8")
    with pytest.raises(QuantizeError, match="unknown quantization 'int4'"):
        quantize_pipeline(nlp, "int4")
    assert quantize_pipeline(nlp, None) is nlp and quantized_mode(nlp) is None
    check_quantizable(tmp_path / "rules", "none")  # nothing asked, nothing to check

    spec = importlib.util.spec_from_file_location("annotate_cli", ROOT / "scripts" / "annotate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        module.app, [str(tmp_path / "rules"), str(tmp_path), str(out), "--quantize", "int8"]
    )
    assert result.exit_code == 1 and "no transformer to quantize" in result.output, result.output
    assert not out.exists()
