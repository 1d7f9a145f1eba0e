"""Peak memory of the transformer pipeline on one very long text: window-sliced vs stock.

    python benchmarks/benchmark_long_text.py --tokens 10000 --tokens 30000 --tokens 78000 \
        [--model training/trf/model-best] [--output reports/benchmark_long_text.json]

Each measurement runs in a fresh process: load the pipeline, run `nlp(text)` once on a text of
about N tokens (real cable sentences from the sample, repeated), and report the peak RSS above
the loaded pipeline (ru_maxrss after minus RSS before) and the seconds taken. "sliced" is the
configured `cable_ner.TransformerModel.v1` (at most `max_windows` windows per Hugging Face call);
"stock" sets max_windows above the number of windows, which is what spacy-transformers'
TransformerModel.v3 does (every window of the doc in one call). The same process checks that both
give the same entities.

MODEL defaults to an untrained pipeline built from configs/trf.cfg (memory and speed do not depend
on the weights); pass a trained one with --model training/trf/model-best.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import typer

ROOT = Path(__file__).resolve().parents[1]


def long_text(n_tokens: int) -> str:
    from cable_ner.reader import CableRecord, parse_cable

    sentences = []
    for path in sorted((ROOT / "assets" / "sample" / "raw").glob("*.txt")):
        record = parse_cable(path.read_text(encoding="utf-8"), name=path.name)
        if isinstance(record, CableRecord):
            sentences.extend(line for line in record.text.splitlines() if len(line) > 40)
    if not sentences:
        raise SystemExit(f"no sample cables to build a text from in {ROOT / 'assets/sample/raw'}")
    text, words = [], 0
    while words < n_tokens:
        for sentence in sentences:
            text.append(sentence)
            words += len(sentence.split()) + 1
            if words >= n_tokens:
                break
    return "\n".join(text)


def load(model: str | None):
    import spacy

    if model:
        return spacy.load(model)
    from spacy.tokens import Doc
    from spacy.training import Example
    from spacy.util import load_config, load_model_from_config

    config = load_config(ROOT / "configs" / "trf.cfg").interpolate()
    config["components"]["transformer"]["model"]["name"] = str(
        ROOT / "assets" / "transformer" / "all-MiniLM-L6-v2"
    )
    nlp = load_model_from_config(config, auto_fill=True)
    words = "Ambassador Schmierer met Minister Alawi in Muscat .".split()
    ents = ["O", "B-PER", "O", "O", "B-PER", "O", "B-LOC", "O"]
    doc = Doc(nlp.vocab, words=words, ents=ents, sent_starts=[True] + [False] * 7)
    nlp.initialize(lambda: [Example(nlp.make_doc(doc.text), doc)])
    return nlp


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def measure(model: str | None, n_tokens: int, mode: str) -> dict:
    """One measurement (run in a child process)."""
    from spacy.util import fix_random_seed

    fix_random_seed(0)  # the untrained default's weights are the same in both processes
    nlp = load(model)
    text = long_text(n_tokens)
    nlp.max_length = len(text) + 1
    wrapper = nlp.get_pipe("transformer").model.layers[0]
    if mode == "stock":
        wrapper.attrs["max_windows"] = 10**9
    before = rss_mb()
    start = time.perf_counter()
    doc = nlp(text)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "mode": mode,
        "tokens": len(doc),
        "max_windows": wrapper.attrs["max_windows"] if mode == "sliced" else None,
        "seconds": round(seconds, 1),
        "rss_before_mb": round(before),
        "peak_above_mb": round(peak - before),
        "entities": [(e.start_char, e.end_char, e.label_) for e in doc.ents],
    }


def main(
    tokens: list[int] = typer.Option([10_000, 30_000, 78_000], help="Text lengths (tokens)"),
    model: str = typer.Option("", help="A trained pipeline (default: untrained configs/trf.cfg)"),
    output: Path | None = typer.Option(None, help="Write the figures as JSON"),
    child: str = typer.Option("", hidden=True),
) -> None:
    """Peak memory and seconds of one nlp(text) call, window-sliced against stock."""
    if child:
        n_tokens, mode = child.split(":")
        print(json.dumps(measure(model or None, int(n_tokens), mode)))
        return
    print(f"{'tokens':>7s} {'mode':>6s} {'windows/call':>12s} {'seconds':>8s} {'peak MB':>8s}")
    rows = []
    for n_tokens in tokens:
        results = {}
        for mode in ("sliced", "stock"):
            cmd = [sys.executable, __file__, "--model", model, "--child", f"{n_tokens}:{mode}"]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            results[mode] = result
            windows = result["max_windows"] or "all"
            print(
                f"{result['tokens']:7d} {mode:>6s} {windows!s:>12s} {result['seconds']:8.1f} "
                f"{result['peak_above_mb']:8d}"
            )
        same = results["sliced"]["entities"] == results["stock"]["entities"]
        ratio = results["stock"]["peak_above_mb"] / max(results["sliced"]["peak_above_mb"], 1)
        print(f"        stock/sliced peak: {ratio:.1f}x; same entities: {same}")
        for result in results.values():
            del result["entities"]
        rows.append({"tokens": n_tokens, **results, "peak_ratio": round(ratio, 2),
                     "same_entities": same})  # fmt: skip
    if output:
        report = {"command": " ".join(["python", *sys.argv]), "model": model or None,
                  "lengths": rows}  # fmt: skip
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {output}")


if __name__ == "__main__":
    typer.run(main)
