"""Pipeline and annotate-job speed and memory; prints a table and writes JSON.

    python benchmarks/benchmark_pipeline.py --trf training/trf/model-best \
        --cnn training/cnn/model-best \
        [--raw ../shared/data/cables/raw] [--pages ../shared/data/pages] [--limit 40] \
        [--annotate-limit 40 (0: every file)] [--annotate-with cnn,trf] [--annotate-n-process 1,2] \
        [--output reports/benchmark_pipeline.json]

1. overhead: the transformer pipeline's words/s against the bare HF forward pass of the same model
   over the same text, with the same strided windows (the pipeline's span getter) and the same
   batches (nlp.batch_size docs, split by spacy-transformers' `batch_by_length` and
   `max_batch_items`, at most `max_windows` windows per call as cable_ner.TransformerModel.v1),
   wordpiece tokenization included. Overhead = 1 - pipeline/bare words/s. The two alternate
   (pipeline, bare, pipeline, ...; best of `repeats` each) so a change in machine load hits both;
   the time the pipeline spends inside the HF forward is also measured (the model's `forward`
   wrapped with a timer), which gives the share of everything else without a second pass.
2. models: CNN and transformer pipelines, n_process 1 and 2: words/s and peak RSS.
3. annotate: the annotate job (JSONL) over the raw cables and pages (`--annotate-limit` of each,
   0 for all), with the pipelines and n_process values asked for (default: both, 1 and 2):
   cables/s and peak RSS.
Every measurement runs in a fresh child process; peak RSS is of the child and its workers
(sampled every 0.1 s). Words are non-space tokens of the cable reader.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import typer
from wasabi import msg

app = typer.Typer(add_completion=False)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _texts(folder: str, limit: int) -> list[tuple[str, str]]:
    from cable_ner.reader import decode, iter_sources

    out = []
    for source in iter_sources([folder]):
        text = decode(source.name, source.read_bytes())
        if isinstance(text, str):
            out.append((source.name, text))
        if len(out) >= limit:
            break
    return out


def _words(nlp, texts) -> int:
    return sum(sum(1 for t in nlp.make_doc(x) if not t.is_space) for x in texts)


def child_overhead(model: str, raw: str, limit: int, repeats: int) -> dict:
    import torch
    from spacy.util import minibatch
    from spacy_transformers.layers.transformer_model import huggingface_tokenize
    from spacy_transformers.util import batch_by_length

    from cable_ner.annotate import load_pipeline

    texts = [t for _, t in _texts(raw, limit)]
    nlp = load_pipeline(model)
    trf = nlp.get_pipe("transformer")
    get_spans = trf.model.attrs["get_spans"]
    hf = trf.model.layers[0].shims[0]._hfmodel
    max_windows = trf.model.layers[0].attrs.get("max_windows", 10**9)
    words = _words(nlp, texts)
    docs = [nlp.make_doc(x) for x in texts]

    def bare() -> float:
        hf.transformer.eval()  # as thinc's PyTorchShim.predict does (loaded: train mode)
        t0 = time.perf_counter()
        with torch.no_grad():
            for outer in minibatch(docs, nlp.batch_size):
                for idx in batch_by_length(outer, trf.cfg["max_batch_items"]):
                    spans = [s for doc_spans in get_spans([outer[i] for i in idx])
                             for s in doc_spans]  # fmt: skip
                    enc = huggingface_tokenize(hf.tokenizer, [s.text for s in spans])
                    ids = torch.from_numpy(enc["input_ids"])
                    mask = torch.from_numpy(enc["attention_mask"])
                    for i in range(0, len(ids), max_windows):  # as cable_ner.TransformerModel
                        hf.transformer(input_ids=ids[i : i + max_windows],
                                       attention_mask=mask[i : i + max_windows])  # fmt: skip
        return time.perf_counter() - t0

    forward, in_forward = hf.transformer.forward, [0.0]

    def timed_forward(*args, **kwargs):
        t0 = time.perf_counter()
        out = forward(*args, **kwargs)
        in_forward[0] += time.perf_counter() - t0
        return out

    def pipeline() -> tuple[float, float]:
        in_forward[0] = 0.0
        hf.transformer.forward = timed_forward
        t0 = time.perf_counter()
        for _ in nlp.pipe(texts, batch_size=nlp.batch_size):
            pass
        seconds = time.perf_counter() - t0
        hf.transformer.forward = forward
        return seconds, in_forward[0]

    bare(), pipeline()  # warm-up
    t_bare, (t_pipe, t_inside) = float("inf"), (float("inf"), 0.0)
    for _ in range(repeats):
        t_pipe, t_inside = min((t_pipe, t_inside), pipeline())
        t_bare = min(t_bare, bare())
    return {
        "words": words, "torch_threads": torch.get_num_threads(),
        "bare_words_per_s": words / t_bare, "pipeline_words_per_s": words / t_pipe,
        "overhead": 1 - t_bare / t_pipe, "outside_forward": 1 - t_inside / t_pipe,
    }  # fmt: skip


def child_model(model: str, raw: str, limit: int, n_process: int, batch_size: int) -> dict:
    from cable_ner.annotate import load_pipeline

    texts = [t for _, t in _texts(raw, limit)]
    nlp = load_pipeline(model)
    words = _words(nlp, texts)
    items = ((t, {"source": str(i)}) for i, t in enumerate(texts))
    from cable_ner.annotate import annotate_docs

    t0 = time.perf_counter()
    n = sum(1 for _, doc, _ in annotate_docs(nlp, items, n_process, batch_size) if doc is not None)
    seconds = time.perf_counter() - t0
    return {"docs": n, "words": words, "seconds": seconds, "words_per_s": words / seconds}


def child_annotate(model: str, files: list[str], n_process: int, batch_size: int) -> dict:
    from cable_ner.annotate import annotate

    with tempfile.TemporaryDirectory() as tmp:
        return annotate(model, files, Path(tmp) / "out.jsonl", n_process=n_process,
                        batch_size=batch_size, resume=False)  # fmt: skip


def run_child(kind: str, **kwargs) -> dict:
    """Run one measurement in a fresh process; add its tree's peak RSS (MiB)."""
    import psutil

    # The arguments go through a file: a list of every shared cable is over the argv limit.
    args = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    with args:
        json.dump({"kind": kind, **kwargs}, args)
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", args.name], stdout=subprocess.PIPE, text=True
    )
    parent, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            tree = [parent, *parent.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.1)
    out = proc.stdout.read() if proc.stdout else ""
    os.unlink(args.name)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} failed ({proc.returncode}): {out[-2000:]}")
    return {**json.loads(out.strip().splitlines()[-1]), "peak_rss_mib": peak / 2**20}


@app.command()
def main(
    trf: str = typer.Option(..., help="Transformer pipeline (model-best folder)"),
    cnn: str = typer.Option(None, help="CNN pipeline to compare with"),
    raw: Path = typer.Option(Path("../shared/data/cables/raw"), help="Raw cables"),
    pages: Path = typer.Option(Path("../shared/data/pages"), help="WikiLeaks pages"),
    limit: int = typer.Option(40, help="Raw cables per measurement in sections 1 and 2"),
    annotate_limit: int = typer.Option(
        40, help="Files of each of raw and pages for the annotate job (0: all of them)"
    ),
    annotate_with: str = typer.Option("cnn,trf", help="Pipelines for the annotate job"),
    annotate_n_process: str = typer.Option("1,2", help="n_process values for the annotate job"),
    batch_size: int = typer.Option(16, help="Docs per nlp.pipe batch (sections 2 and 3)"),
    repeats: int = typer.Option(2, help="Timed repeats in section 1 (best kept)"),
    sections: str = typer.Option("overhead,models,annotate", help="Which to run"),
    output: Path = typer.Option(Path("reports/benchmark_pipeline.json"), help="JSON output"),
) -> None:
    """Time the transformer against its bare forward pass, the pipelines and the annotate job."""
    n_files = annotate_limit or 10**9
    files = (
        [n for n, _ in _texts(str(raw), n_files) + _texts(str(pages), n_files)]
        if "annotate" in sections
        else []
    )
    results: dict = {
        "command": " ".join(["python", *sys.argv]),
        "cpus": os.cpu_count(),
        "limit": limit,
        "annotate_files": len(files),
        "batch_size": batch_size,
    }
    msg.info(f"{limit} raw cables per pipeline run; annotate job over {len(files)} files")
    if "overhead" in sections:
        o = results["overhead"] = run_child(
            "overhead", model=trf, raw=str(raw), limit=limit, repeats=repeats
        )
        msg.table([("bare HF forward", f"{o['bare_words_per_s']:.0f}"),
                   ("spaCy pipeline", f"{o['pipeline_words_per_s']:.0f}"),
                   ("overhead", f"{o['overhead']:.1%}"),
                   ("time outside the HF forward", f"{o['outside_forward']:.1%}")],
                  header=("1. transformer", "words/s"), divider=True)  # fmt: skip
    rows = []
    for name, model in (("cnn", cnn), ("trf", trf)) if "models" in sections else ():
        for n in (1, 2) if model else ():
            r = run_child(
                "model", model=model, raw=str(raw), limit=limit, n_process=n, batch_size=batch_size
            )
            results[f"model_{name}_n{n}"] = r
            rows.append((name, n, f"{r['words_per_s']:.0f}", f"{r['peak_rss_mib']:.0f}"))
    if rows:
        msg.table(rows, header=("2. pipeline", "n_process", "words/s", "peak RSS MiB"))
    rows = []
    jobs = [(name, m) for name, m in (("cnn", cnn), ("trf", trf)) if m and name in annotate_with]
    for name, model in jobs if "annotate" in sections else ():
        for n in [int(n) for n in annotate_n_process.split(",")]:
            r = run_child("annotate", model=model, files=files, n_process=n, batch_size=batch_size)
            results[f"annotate_{name}_n{n}"] = r
            rows.append((name, n, r["annotated"], r["failed"], f"{r['seconds']:.0f}",
                         f"{r['cables_per_s']:.2f}", f"{r['peak_rss_mib']:.0f}"))  # fmt: skip
    if rows:
        msg.table(rows, header=("3. annotate", "n_process", "cables", "failed", "seconds",
                                "cables/s", "peak RSS MiB"))  # fmt: skip
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    msg.good(f"wrote {output}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        args = json.loads(Path(sys.argv[2]).read_text())
        kind = args.pop("kind")
        fn = {"overhead": child_overhead, "model": child_model, "annotate": child_annotate}[kind]
        print(json.dumps(fn(**args)))
    else:
        app()
