"""Memory of the annotate job over time, per process: does it stay bounded?

    python benchmarks/benchmark_memory.py training/trf/model-best \
        [--cables ../shared/data/cables/raw] [--limit 400] [--n-process 2] [--batch-size 16] \
        [--no-release-memory] [--every 5] [--output reports/memory_trf_on.tsv]
    # summarise a saved run:
    python benchmarks/benchmark_memory.py --from-tsv reports/memory_trf_on.tsv

Runs `cable_ner.annotate.annotate` (JSONL, into a temporary folder) over the first `--limit`
files of `--cables` in a child process and samples every process of its tree every `--every`
seconds: RSS and USS (memory of that process alone: shared pages of forked workers counted
once). Prints, per process, the peak USS and the peak RSS; the workers' mean USS per 100 cables
written (does it level off?); and the tree's peak RSS. `--output` keeps every sample (seconds,
cables written, pid, rss_mib, uss_mib; the first pid is the main process).
`--no-release-memory` turns the pipeline's `release_memory` component into a no-op (no
`malloc_trim`), for the comparison.
"""

import itertools
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

CHILD = """
import json, sys
from cable_ner import components
from cable_ner.annotate import annotate
args = json.load(open(sys.argv[1]))
if not args["release_memory"]:
    components._malloc_trim = lambda: None
summary = annotate(args["model"], args["files"], args["out"], n_process=args["n_process"],
                   batch_size=args["batch_size"], resume=False)
print(json.dumps(summary))
"""


@app.command()
def main(
    model: str = typer.Argument(None, help="Trained pipeline (folder or package name)"),
    cables: Path = typer.Option(Path("../shared/data/cables/raw"), help="Folder of cables"),
    limit: int = typer.Option(400, help="The first N files of --cables"),
    n_process: int = typer.Option(2, "--n-process", "-n", help="Annotate worker processes"),
    batch_size: int = typer.Option(16, help="Cables per nlp.pipe batch"),
    release_memory: bool = typer.Option(True, help="--no-release-memory: no malloc_trim"),
    every: float = typer.Option(5.0, help="Seconds between samples"),
    output: Path | None = typer.Option(None, help="TSV of every sample"),
    from_tsv: Path | None = typer.Option(None, help="Summarise this saved --output; run nothing"),
) -> None:
    """Sample the memory of every process of an annotate job over time."""
    import psutil

    if from_tsv is not None:
        lines = from_tsv.read_text().splitlines()[1:]
        rows = [(float(t), int(d), int(pid), float(rss), float(uss))
                for t, d, pid, rss, uss in (line.split("\t") for line in lines)]  # fmt: skip
        summarise(rows, rows[0][2])
        return
    if model is None:
        msg.fail("give a MODEL (or --from-tsv)", exits=1)

    from cable_ner.reader import iter_sources

    files = [s.name for s in itertools.islice(iter_sources([str(cables)]), limit)]
    if not files:
        msg.fail(f"no cables in {cables}", exits=1)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.jsonl"
        args = Path(tmp) / "args.json"
        args.write_text(json.dumps({
            "model": model, "files": files, "out": str(out), "n_process": n_process,
            "batch_size": batch_size, "release_memory": release_memory,
        }))  # fmt: skip
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(args)], stdout=subprocess.PIPE, text=True
        )
        root, start, samples = psutil.Process(proc.pid), time.perf_counter(), []
        while proc.poll() is None:
            done = sum(1 for _ in out.open()) if out.exists() else 0
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:
                tree = []
            t = time.perf_counter() - start  # one time per sweep: the tree sums by it
            for p in tree:
                try:
                    info = p.memory_full_info()
                except psutil.Error:
                    continue
                samples.append((round(t, 1), done, p.pid, info.rss / 2**20, info.uss / 2**20))
            time.sleep(every)
        stdout = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        msg.fail(f"the annotate child failed ({proc.returncode})", stdout[-2000:], exits=1)
    summary = json.loads(stdout.strip().splitlines()[-1])
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        rows = ["seconds\tcables\tpid\trss_mib\tuss_mib"]
        rows += [f"{t}\t{d}\t{pid}\t{rss:.0f}\t{uss:.0f}" for t, d, pid, rss, uss in samples]
        output.write_text("\n".join(rows) + "\n")
    summarise(samples, proc.pid)
    msg.info(
        f"{summary['annotated']} annotated, {summary['failed']} failed, "
        f"{summary['cables_per_s']:.2f} cables/s "
        f"(release_memory {'on' if release_memory else 'off'}, {os.cpu_count()} CPUs)"
    )


def summarise(samples: list[tuple], main_pid: int) -> None:
    """Print the per-process peaks, the workers' USS per 100 cables and the tree's peak RSS."""
    by_pid: dict[int, list] = {}
    for row in samples:
        by_pid.setdefault(row[2], []).append(row)
    table = []
    for pid, rows in by_pid.items():
        peak_uss, peak_rss = max(r[4] for r in rows), max(r[3] for r in rows)
        role = "main" if pid == main_pid else "worker"
        table.append((role, pid, f"{peak_uss:.0f}", f"{peak_rss:.0f}"))
    msg.table(table, header=("process", "pid", "peak USS MiB", "peak RSS MiB"))
    buckets: dict[int, list[float]] = {}
    for _, done, pid, _, uss in samples:
        if pid != main_pid and uss > 0:  # 0: a worker that is exiting
            buckets.setdefault(done // 100, []).append(uss)
    means = [(f"{b * 100}-{b * 100 + 99}", f"{sum(v) / len(v):.0f}")
             for b, v in sorted(buckets.items())]  # fmt: skip
    msg.table(means, header=("cables written", "workers' mean USS MiB"))
    times = {r[0] for r in samples}
    tree_peak = max((sum(r[3] for r in samples if r[0] == t) for t in times), default=0)
    msg.info(f"tree peak RSS {tree_peak:.0f} MiB")


if __name__ == "__main__":
    app()
