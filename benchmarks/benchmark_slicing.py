"""How the transformer's windows are cut into Hugging Face calls, and what each way costs.

    python benchmarks/benchmark_slicing.py --trf training/trf_gold/model-best \
        [--raw ../shared/data/cables/raw] [--limit 60] [--rounds 2] \
        [--output reports/benchmark_slicing.json]

The pipeline's own windows (its span getter) and calls (nlp.batch_size docs split by
spacy-transformers' `batch_by_length` and `max_batch_items`) over `--limit` raw cables are
tokenized once; then only the forward passes are timed, torch on every core, each way of cutting
a call into slices in turn, alternating over `--rounds` (best kept):

- unsorted: slices of `max_windows` in the call's order, padded to the call's longest window
  (cable_ner.TransformerModel.v1 before the windows were sorted);
- sorted N: the windows sorted by wordpiece length, slices of N, each padded to its own longest
  (N = cable_ner.training.architectures.SLICE_WINDOWS is what the pipeline runs);
- bounded P: sorted, a new slice wherever the longest would pass P times the shortest (at most
  `max_windows`): padding bounded instead of the slice's size.

Prints seconds, rows computed (padding included) and speed against unsorted; writes JSON.
"""

import json
import os
import sys
import time
from pathlib import Path

import typer
from wasabi import msg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark_pipeline import _texts  # noqa: E402

app = typer.Typer(add_completion=False)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def cut(lengths: list[int], way: tuple[str, float], max_windows: int) -> list[list[int]]:
    """The slices (row indices) of one call whose windows have these wordpiece lengths."""
    kind, value = way
    if kind == "unsorted":
        return [list(range(i, min(i + max_windows, len(lengths))))
                for i in range(0, len(lengths), max_windows)]  # fmt: skip
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    if kind == "sorted":
        return [order[i : i + int(value)] for i in range(0, len(order), int(value))]
    slices: list[list[int]] = []
    for i in order:
        full = slices and len(slices[-1]) == max_windows
        if not slices or full or lengths[i] > value * lengths[slices[-1][0]]:
            slices.append([])
        slices[-1].append(i)
    return slices


@app.command()
def main(
    trf: str = typer.Option(..., help="Transformer pipeline (model-best folder)"),
    raw: Path = typer.Option(Path("../shared/data/cables/raw"), help="Raw cables"),
    limit: int = typer.Option(60, help="Raw cables"),
    rounds: int = typer.Option(2, help="Alternating rounds (best kept)"),
    sorted_sizes: str = typer.Option("32,16,8,4", help="Slice sizes of the sorted ways"),
    bounds: str = typer.Option("1.1,1.2", help="Padding bounds of the bounded ways"),
    output: Path = typer.Option(Path("reports/benchmark_slicing.json"), help="JSON output"),
) -> None:
    import torch
    from spacy.util import minibatch
    from spacy_transformers.layers.transformer_model import huggingface_tokenize
    from spacy_transformers.util import batch_by_length

    from cable_ner.annotate import load_pipeline
    from cable_ner.training.architectures import SLICE_WINDOWS

    nlp = load_pipeline(trf)
    pipe = nlp.get_pipe("transformer")
    get_spans = pipe.model.attrs["get_spans"]
    hf = pipe.model.layers[0].shims[0]._hfmodel
    max_windows = pipe.model.layers[0].attrs["max_windows"]
    docs = [nlp.make_doc(text) for _, text in _texts(str(raw), limit)]
    calls = []
    for outer in minibatch(docs, nlp.batch_size):
        for idx in batch_by_length(outer, pipe.cfg["max_batch_items"]):
            spans = [s for doc_spans in get_spans([outer[i] for i in idx]) for s in doc_spans]
            enc = huggingface_tokenize(hf.tokenizer, [s.text for s in spans])
            mask = torch.from_numpy(enc["attention_mask"])
            calls.append((torch.from_numpy(enc["input_ids"]), mask, mask.sum(dim=1).tolist()))
    ways = [("unsorted", 0.0)] + [("sorted", float(n)) for n in sorted_sizes.split(",")]
    ways += [("bounded", float(p)) for p in bounds.split(",")]
    hf.transformer.eval()

    def run(way) -> tuple[float, int]:
        rows, t0 = 0, time.perf_counter()
        with torch.no_grad():
            for ids, mask, lengths in calls:
                for sl in cut(lengths, way, max_windows):
                    width = max(lengths[i] for i in sl) if way[0] != "unsorted" else ids.shape[1]
                    hf.transformer(input_ids=ids[sl, :width], attention_mask=mask[sl, :width])
                    rows += len(sl) * width
        return time.perf_counter() - t0, rows

    run(ways[0])  # warm-up
    best: dict[str, dict] = {}
    for _ in range(rounds):
        for way in ways:
            name = way[0] if way[0] == "unsorted" else f"{way[0]} {way[1]:g}"
            seconds, rows = run(way)
            if name not in best or seconds < best[name]["seconds"]:
                best[name] = {"seconds": seconds, "rows": rows}
    real = sum(sum(lengths) for *_, lengths in calls)
    for r in best.values():
        r["padding"] = 1 - real / r["rows"]
        r["speedup"] = best["unsorted"]["seconds"] / r["seconds"]
    result = {
        "command": " ".join(["python", *sys.argv]), "cables": len(docs), "calls": len(calls),
        "windows": sum(len(ids) for ids, *_ in calls), "wordpieces": real,
        "max_windows": max_windows, "pipeline_slice_windows": SLICE_WINDOWS,
        "torch_threads": torch.get_num_threads(), "rounds": rounds, "ways": best,
    }  # fmt: skip
    msg.table([(name, f"{r['seconds']:.1f}", r["rows"], f"{100 * r['padding']:.0f}%",
                f"{r['speedup']:.2f}x") for name, r in best.items()],
              header=("way", "seconds", "rows", "padding", "vs unsorted"))  # fmt: skip
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    msg.good(f"wrote {output}")


if __name__ == "__main__":
    app()
