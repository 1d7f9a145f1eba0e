"""Pipeline and annotate-job speed and memory; prints a table and writes JSON.

    python benchmarks/benchmark_pipeline.py --trf training/trf/model-best \
        --cnn training/cnn/model-best \
        [--raw ../shared/data/cables/raw] [--pages ../shared/data/pages] [--limit 40] \
        [--annotate-limit 40 (0: every file)] [--annotate-with cnn,trf] [--annotate-n-process 1,2] \
        [--output reports/benchmark_pipeline.json]

1. overhead: the transformer pipeline's words/s against the bare HF forward pass of the same model
   over the same text, with the same strided windows (the pipeline's span getter) and the same
   batches (nlp.batch_size docs, split by spacy-transformers' `batch_by_length` and
   `max_batch_items`, cut as cable_ner.TransformerModel.v1 cuts them: sorted by wordpiece length,
   at most `max_windows` windows a call, each padded to its own longest window),
   wordpiece tokenization included. Overhead = 1 - pipeline/bare words/s. The two alternate
   (pipeline, bare, pipeline, ...; best of `repeats` each) so a change in machine load hits both;
   the time the pipeline spends inside the HF forward is also measured (the model's `forward`
   wrapped with a timer), which gives the share of everything else without a second pass.
   Beside both, the fp32 floor: the same model over each text's wordpieces cut into windows of
   128 every 96, length-sorted, 64 to a batch (`pipeline_vs_floor` = pipeline/floor words/s).
2. models: CNN and transformer pipelines, n_process 1 and 2: words/s and peak RSS.
3. annotate: the annotate job (JSONL) over the raw cables and pages (`--annotate-limit` of each,
   0 for all), with the pipelines and n_process values asked for (default: both, 1 and 2):
   cables/s and peak RSS.
4. quantize: the transformer pipeline in fp32 and with int8 linear layers (`cable_ner.quantize`;
   `--quantize-modes`, int8_tensor: one weight scale per tensor instead of per channel; NAME=PATH:
   another pipeline, such as a CNN, beside them; `@blis` appended: thinc's matrix products through
   blis instead of numpy's BLAS, `cable_ner.blas`),
   alternating (fp32, int8, fp32, ...; `--rounds` each, best kept) over the same `--limit` raw
   cables: words/s, peak RSS, the share of entities fp32 and the mode both find (of all either
   finds), and F on the `--gold-splits` (`cable_ner.gold_score.score_gold_layer`; needs
   `--gold-cables-dir`).
5. scaling: the annotate job over the `--annotate-limit` files with each of `--scaling-jobs`
   (`local:N`: `--n-process N`; `ray:N`: N Ray actors of one CPU each; `:int8` appended: with
   `--quantize int8`; `cnn/` in front: the `--cnn` pipeline, else `--trf`), one after another:
   cables/s over the whole job, the steady rate after the first files come back (Ray's start,
   loading and the first batch left out), that rate per core, and the hours the release's
   251,287 cables would take at it on one such machine and in core-hours.
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
    from cable_ner.reader import Decoded, iter_sources, read_source

    out = []
    for source in iter_sources([folder]):
        decoded = read_source(source)
        if isinstance(decoded, Decoded):
            out.append((source.name, decoded.text))
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
    from cable_ner.training.architectures import length_slices

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
                    lengths = mask.sum(dim=1).tolist()
                    for rows in length_slices(lengths, max_windows):  # as TransformerModel.v1
                        width = lengths[rows[-1]]
                        hf.transformer(input_ids=ids[rows, :width],
                                       attention_mask=mask[rows, :width])  # fmt: skip
        return time.perf_counter() - t0

    def floor() -> float:
        """The fp32 floor: each text's wordpieces cut into windows of 128 (with [CLS] and [SEP])
        every 96, sorted by length, 64 to a batch, each batch padded to its longest window."""
        hf.transformer.eval()
        tok = hf.tokenizer
        t0 = time.perf_counter()
        windows = []
        for text in texts:
            ids = tok(text, add_special_tokens=False)["input_ids"]
            for start in range(0, max(1, len(ids) - 32), 96):
                windows.append([tok.cls_token_id, *ids[start : start + 126], tok.sep_token_id])
        windows.sort(key=len)
        with torch.no_grad():
            for i in range(0, len(windows), 64):
                batch = windows[i : i + 64]
                width = len(batch[-1])
                ids = torch.tensor([w + [tok.pad_token_id] * (width - len(w)) for w in batch])
                mask = torch.tensor([[1] * len(w) + [0] * (width - len(w)) for w in batch])
                hf.transformer(input_ids=ids, attention_mask=mask)
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

    bare(), pipeline(), floor()  # warm-up
    t_bare, t_floor, (t_pipe, t_inside) = float("inf"), float("inf"), (float("inf"), 0.0)
    for _ in range(repeats):  # alternating, so a change in machine load hits all three
        t_pipe, t_inside = min((t_pipe, t_inside), pipeline())
        t_bare = min(t_bare, bare())
        t_floor = min(t_floor, floor())
    return {
        "words": words, "torch_threads": torch.get_num_threads(),
        "bare_words_per_s": words / t_bare, "pipeline_words_per_s": words / t_pipe,
        "floor_words_per_s": words / t_floor, "pipeline_vs_floor": t_floor / t_pipe,
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


def _load_quantized(model: str, mode: str):
    """fp32, int8 (the option: one weight scale per channel), int8_tensor (one per tensor) or
    NAME=PATH (the pipeline at PATH, as it is); `@blis` at the end: thinc's matrix products
    through blis, its default, instead of numpy's BLAS (the annotate job's)."""
    from cable_ner.annotate import load_pipeline
    from cable_ner.blas import use_numpy_blas
    from cable_ner.quantize import quantize_pipeline

    mode, blis, _ = mode.partition("@blis")
    nlp = load_pipeline(mode.split("=", 1)[1] if "=" in mode else model)  # numpy's BLAS
    if blis:
        use_numpy_blas(nlp, numpy_blas=False)
    if "=" in mode or mode == "fp32":
        return nlp
    return quantize_pipeline(nlp, "int8", per_channel=mode != "int8_tensor")


def child_quantize(model: str, raw: str, limit: int, mode: str, batch_size: int) -> dict:
    texts = [t for _, t in _texts(raw, limit)]
    nlp = _load_quantized(model, mode)
    words = _words(nlp, texts)
    list(nlp.pipe(texts[:4]))  # warm-up
    t0 = time.perf_counter()
    docs = list(nlp.pipe(texts, batch_size=batch_size))
    seconds = time.perf_counter() - t0
    ents = [[[e.start_char, e.end_char, e.label_] for e in doc.ents] for doc in docs]
    return {"words": words, "seconds": seconds, "words_per_s": words / seconds, "ents": ents}


def child_gold(model: str, mode: str, gold: str | None, cables_dir: str, split: str) -> dict:
    from cable_ner.gold_score import score_gold_layer

    nlp = _load_quantized(model, mode)
    scores = score_gold_layer(gold, cables_dir, split, nlp=nlp, n_bootstrap=1000)["systems"]
    m = scores["model"]
    return {"split": split, "n_cables": m["n_cables"], "ents_f": m["ents_f"],
            "ci": m["ci"]["ents_f"], "per_type": {k: v["f"] for k, v in m["ents_per_type"].items()},
            "by_case": {k: v["ents_f"] for k, v in m["by_case"].items()}}  # fmt: skip


def quantize_section(model: str, raw: str, limit: int, batch_size: int, rounds: int,
                     gold: str | None, cables_dir: str | None, modes: list[str],
                     splits: list[str]) -> dict:  # fmt: skip
    best: dict[str, dict] = {}
    peaks: dict[str, float] = {}  # over every round of a mode, not only its fastest
    for _ in range(rounds):  # alternate, so a change in machine load hits every mode alike
        for mode in modes:
            r = run_child("quantize", model=model, raw=raw, limit=limit, mode=mode,
                          batch_size=batch_size)  # fmt: skip
            peaks[mode] = max(peaks.get(mode, 0.0), r["peak_rss_mib"])
            if mode not in best or r["words_per_s"] > best[mode]["words_per_s"]:
                best[mode] = r
    ents = {m: [set(map(tuple, doc)) for doc in best[m].pop("ents")] for m in modes}
    for mode in modes:  # against fp32: speed, and entities both find of all either finds
        pairs = list(zip(ents["fp32"], ents[mode], strict=True))
        either = sum(len(x | y) for x, y in pairs)
        best[mode].update(
            peak_rss_mib=peaks[mode],
            entities=sum(map(len, ents[mode])),
            speedup=best[mode]["words_per_s"] / best["fp32"]["words_per_s"],
            entities_agree=sum(len(x & y) for x, y in pairs) / either if either else 1.0,
        )
    out = {**best, "rounds": rounds}
    for mode in modes if cables_dir else ():
        for split in splits:
            out[mode][f"gold_{split}"] = run_child("gold", model=model, mode=mode, gold=gold,
                                                   cables_dir=cables_dir, split=split)  # fmt: skip
    for mode in [m for m in modes if "=" in m]:  # NAME=PATH[@blis]: kept under NAME
        name, path = mode.split("=", 1)
        out[name] = {**out.pop(mode), "pipeline": path.removesuffix("@blis")}
    return out


def child_annotate(model: str, files: list[str], n_process: int, batch_size: int,
                   engine: str = "local", quantize: str | None = None) -> dict:  # fmt: skip
    """The annotate job; `ticks` are the seconds since its start at which each file was done."""
    from cable_ner.annotate import annotate

    start, ticks = time.perf_counter(), []

    def tick(n: int) -> None:
        ticks.extend([time.perf_counter() - start] * n)

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.jsonl"
        if engine == "ray":
            from cable_ner.ray_engine import annotate_ray

            summary = annotate_ray(model, files, out, actors=n_process, cpus_per_actor=1,
                                   batch_size=batch_size, files_per_task=batch_size,
                                   num_cpus=n_process, resume=False, progress=tick,
                                   quantize=quantize)  # fmt: skip
        else:
            summary = annotate(model, files, out, n_process=n_process, batch_size=batch_size,
                               resume=False, progress=tick, quantize=quantize)  # fmt: skip
    return {**summary, "ticks": ticks}


RELEASE_CABLES = 251_287  # the full release (../shared/data/README.md)


def parse_job(job: str) -> tuple[str, str, int, str | None]:
    """A `--scaling-jobs` entry, `[cnn/|trf/]ENGINE:N[:int8]`: (pipeline, engine, workers,
    quantize); the pipeline is "" for the default (`--trf`)."""
    pipeline, _, spec = job.rpartition("/")
    engine, workers, *rest = spec.split(":")
    return pipeline, engine, int(workers), rest[0] if rest else None


def scaling_row(job: str, r: dict, cpus: int) -> dict:
    """One job's rates: whole job, steady and per core, and the release's projected hours at the
    steady rate. Steady: the files done after the first were, over the time since (Ray returns
    a task's files at once, and in order); none where the returns after the first come at
    fewer than 3 moments or within 5 s. Cores: one per worker or actor; `local:1` runs torch on
    all `cpus`."""
    _, engine, workers, quantize = parse_job(job)
    ticks = r.pop("ticks")
    cores = cpus if (engine, workers) == ("local", 1) else workers
    t0 = ticks[0] if ticks else 0.0
    after = [t for t in ticks if t > t0]
    # too few returns after the first (a few large Ray tasks) to tell a rate: none
    steady = len(after) / (ticks[-1] - t0) if len(set(after)) >= 3 and ticks[-1] - t0 >= 5 else None
    return {
        **r, "job": job, "engine": engine, "workers": workers, "cores": cores,
        "quantize": quantize, "startup_s": t0, "steady_cables_per_s": steady,
        "cables_per_s_per_core": steady and steady / cores,
        "release_hours": steady and RELEASE_CABLES / steady / 3600,
        "release_core_hours": steady and cores * RELEASE_CABLES / steady / 3600,
    }  # fmt: skip


def run_child(kind: str, **kwargs) -> dict:
    """Run one measurement in a fresh process; add its tree's peak RSS (MiB)."""
    import psutil

    # The arguments go through a file: a list of every shared cable is over the argv limit.
    args = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    with args:
        json.dump({"kind": kind, **kwargs}, args)
    # Its output goes to a file too: a pipe would fill up (a child's entities are 100s of KB)
    # and block the child while this loop only polls.
    stdout = tempfile.TemporaryFile("w+")
    cmd = [sys.executable, __file__, "--child", args.name]
    proc = subprocess.Popen(cmd, stdout=stdout, text=True)
    parent, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            tree = [parent, *parent.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.1)
    stdout.seek(0)
    out = stdout.read()
    stdout.close()
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
    sections: str = typer.Option(
        "overhead,models,annotate",
        help="Which to run: overhead, models, annotate, quantize, scaling",
    ),
    rounds: int = typer.Option(2, help="Alternating rounds of the modes (section 4; best kept)"),
    quantize_modes: str = typer.Option(
        "fp32,int8",
        help="Section 4's modes: fp32 first, int8, int8_tensor (one scale per tensor), NAME=PATH; "
        "@blis appended: blis for thinc's matrix products",
    ),
    gold_splits: str = typer.Option("test", help="Gold splits section 4 scores (test, dev)"),
    gold: Path = typer.Option(None, help="Gold layer (default: gold/gold.jsonl) for section 4"),
    gold_cables_dir: Path = typer.Option(
        None, help="The tagged cables the gold layer refers to (section 4's gold F)"
    ),
    scaling_jobs: str = typer.Option(
        "local:1,local:2,ray:1,ray:2",
        help="Section 5's annotate jobs: local:N (n_process), ray:N (actors), :int8 appended; "
        "cnn/ in front: the --cnn pipeline (default: --trf)",
    ),
    output: Path = typer.Option(Path("reports/benchmark_pipeline.json"), help="JSON output"),
) -> None:
    """Time the transformer against its bare forward pass, the pipelines and the annotate job."""
    modes, splits = quantize_modes.split(","), gold_splits.split(",")
    if "quantize" in sections and modes[0] != "fp32":
        msg.fail(f"--quantize-modes {quantize_modes}: fp32 comes first (the others are against it)",
                 exits=1)  # fmt: skip
    n_files = annotate_limit or 10**9
    files = (
        [n for n, _ in _texts(str(raw), n_files) + _texts(str(pages), n_files)]
        if "annotate" in sections or "scaling" in sections
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
        msg.table([("fp32 floor: 128-wordpiece windows", f"{o['floor_words_per_s']:.0f}"),
                   ("pipeline / floor", f"{o['pipeline_vs_floor']:.2f}"),
                   ("bare HF forward", f"{o['bare_words_per_s']:.0f}"),
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
            del r["ticks"]
            results[f"annotate_{name}_n{n}"] = r
            rows.append((name, n, r["annotated"], r["failed"], f"{r['seconds']:.0f}",
                         f"{r['cables_per_s']:.2f}", f"{r['peak_rss_mib']:.0f}"))  # fmt: skip
    if rows:
        msg.table(rows, header=("3. annotate", "n_process", "cables", "failed", "seconds",
                                "cables/s", "peak RSS MiB"))  # fmt: skip
    rows = []
    for job in scaling_jobs.split(",") if "scaling" in sections else ():
        name, engine, workers, quantize = parse_job(job)
        model = {"": trf, "trf": trf, "cnn": cnn}[name]
        if not model:
            msg.fail(f"--scaling-jobs {job}: give the pipeline with --{name}", exits=1)
        r = run_child("annotate", model=model, files=files, n_process=workers,
                      batch_size=batch_size, engine=engine, quantize=quantize)  # fmt: skip
        r = results.setdefault("scaling", {})[job] = scaling_row(job, r, os.cpu_count() or 1)
        rows.append((job, r["annotated"], r["failed"], f"{r['seconds']:.0f}",
                     f"{r['startup_s']:.0f}", f"{r['cables_per_s']:.2f}",
                     *(f"{r[k]:.2f}" if r[k] else "-" for k in ("steady_cables_per_s",
                       "cables_per_s_per_core", "release_hours")),
                     f"{r['peak_rss_mib']:.0f}"))  # fmt: skip
    if rows:
        msg.table(rows, header=("5. scaling", "cables", "failed", "seconds", "first file s",
                                "cables/s", "steady", "per core", "release h",
                                "peak RSS MiB"))  # fmt: skip
    if "quantize" in sections:
        q = results["quantize"] = quantize_section(
            trf, str(raw), limit, batch_size, rounds, gold and str(gold),
            gold_cables_dir and str(gold_cables_dir), modes, splits,
        )  # fmt: skip
        rows = [(m, f"{q[m]['words_per_s']:.0f}", f"{q[m]['speedup']:.2f}x",
                 f"{q[m]['peak_rss_mib']:.0f}", f"{q[m]['entities_agree']:.1%}",
                 *(f"{100 * q[m][f'gold_{s}']['ents_f']:.1f}" if f"gold_{s}" in q[m] else "-"
                   for s in splits)) for m in (m.split("=", 1)[0] for m in modes)]  # fmt: skip
        msg.table(rows, header=("4. quantize", "words/s", "vs fp32", "peak RSS MiB",
                                "entities as fp32", *(f"gold {s} F" for s in splits)))  # fmt: skip
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    msg.good(f"wrote {output}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        args = json.loads(Path(sys.argv[2]).read_text())
        kind = args.pop("kind")
        fn = {"overhead": child_overhead, "model": child_model, "annotate": child_annotate,
              "quantize": child_quantize, "gold": child_gold}[kind]  # fmt: skip
        print(json.dumps(fn(**args)))
    else:
        app()
