"""Benchmark scripts/convert.py against `spacy convert -c iob` on the same tokens and labels.

    python benchmarks/benchmark_convert.py [--cables-dir ../shared/data/cables/annotated] \
        [--n-process 2] [--replicate 10] [--rounds 2] [--output reports/benchmark_convert.json]

Both tools run as subprocesses, interleaved in one run (the machine may be shared); the peak RSS
of each whole process tree is sampled every 50 ms. The corpus is then replicated (new ids, altered
text: no duplicates) and converted again, to show that memory does not grow with the corpus.
"""

import bisect
import json
import re
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import typer
from wasabi import msg

from cable_ner.reader import Skipped, iter_sources, read_cable

ROOT = Path(__file__).resolve().parents[1]
PEER = "spacy convert -c iob"
MIN_SPEEDUP, MAX_PEAK_MB, MAX_MEMORY_RATIO = 2.0, 500.0, 1.5
app = typer.Typer(add_completion=False)


def iob_sentences(record) -> list[str]:
    """One `word|B-PER ...` line per sentence (line) of a tagged cable, from our own parser
    (read_cable → parse_markup), so both tools see the same cables, tokens and labels."""
    ents = sorted(record.entities)
    starts = [s for s, _, _ in ents]
    lines = []
    for a, b in record.sentences:
        tokens = []
        for m in re.finditer(r"\S+", record.text[a:b]):
            pos = a + m.start()
            i = bisect.bisect_right(starts, pos) - 1
            inside = i >= 0 and pos < ents[i][1]
            tag = ("B-" if pos == ents[i][0] else "I-") + ents[i][2] if inside else "O"
            tokens.append(f"{m.group().replace('|', '¦')}|{tag}")  # '|' separates the fields
        lines.append(" ".join(tokens))
    return lines


def write_iob(cables_dir: Path, path: Path) -> int:
    """Write the cables our converter accepts as IOB; return the number of tokens written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n_tokens = 0
    with path.open("w", encoding="utf-8") as fh:
        for source in iter_sources([cables_dir]):
            record = read_cable(source, form="tagged")
            if isinstance(record, Skipped):
                continue
            for line in iob_sentences(record):
                n_tokens += line.count(" ") + 1
                fh.write(line + "\n")
    return n_tokens


def replicate(cables_dir: Path, out_dir: Path, times: int) -> None:
    """Copy the corpus `times` times: ids get the replica number appended to their serial, and
    a `R07`-style token opens the last line, so every copy has a new id and a new text hash."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.txt"):
        old.unlink()
    for source in iter_sources([cables_dir]):
        text = source.path.read_bytes().decode("utf-8", errors="surrogateescape")
        stem = source.stem
        cut = text.rstrip().rfind("\n") + 1  # start of the last non-blank line
        for r in range(1, times + 1):
            new_stem = f"{stem}{r:02d}" if stem[-1:].isdigit() else f"{stem}R{r:02d}"
            altered = f"{text[:cut]}R{r:02d} {text[cut:]}"
            (out_dir / f"{new_stem}.txt").write_bytes(altered.encode("utf-8", "surrogateescape"))


def tree_memory(root: psutil.Process, with_pss: bool) -> tuple[int, int]:
    """RSS and PSS (shared pages counted once; dearer to read) summed over a process tree."""
    rss = pss = 0
    for p in [root, *root.children(recursive=True)]:
        try:
            rss += p.memory_info().rss
            pss += p.memory_full_info().pss if with_pss else 0
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return rss, pss


def run_measured(cmd: list[str], log: Path) -> dict:
    """Run `cmd`: wall time, CPU time and peak memory of its whole process tree."""
    cpu0, load = resource.getrusage(resource.RUSAGE_CHILDREN), psutil.getloadavg()[0]
    peak, done = {"rss": 0, "pss": 0}, threading.Event()
    start = time.perf_counter()
    msg.info(f"running {' '.join(cmd)}")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)

        def sample() -> None:  # every 50 ms; PSS (dearer) every 20th sample
            root, n = psutil.Process(proc.pid), 0
            while not done.wait(0.05 if n else 0):
                try:
                    rss, pss = tree_memory(root, with_pss=n % 20 == 0)
                except psutil.NoSuchProcess:
                    return
                peak["rss"], peak["pss"] = max(peak["rss"], rss), max(peak["pss"], pss)
                n += 1

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        rc = proc.wait()
        done.set()
        sampler.join()
    wall, cpu1 = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    if rc != 0:
        msg.fail(f"{' '.join(cmd)} exited {rc}; see {log}", exits=1)
    cpu = cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak["rss"] / 2**20,
            "peak_pss_mb": peak["pss"] / 2**20, "load_1m": load}  # fmt: skip


def run_ours(inputs: Path, out: Path, n_process: int, work: Path, tag: str) -> dict:
    cmd = [sys.executable, "scripts/convert.py", str(inputs), "--output", str(out),
           "--n-process", str(n_process)]  # fmt: skip
    res = run_measured(cmd, work / f"{tag.replace(' ', '_')}.log")
    report = json.loads((out / "report.json").read_text())
    return {"tool": tag, "files": report["files_read"], "tokens": report["tokens"],
            "duplicates": len(report["duplicates"]), **res}  # fmt: skip


def run_peer(iob: Path, out: Path, files: int, tokens: int, work: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)  # spacy convert wants an existing folder
    cmd = [sys.executable, "-m", "spacy", "convert", str(iob), str(out), "-c", "iob", "-n", "10"]
    return {"tool": PEER, "files": files, "tokens": tokens,
            **run_measured(cmd, work / "peer.log")}  # fmt: skip


def best(runs: list[dict]) -> dict:
    """The fastest of repeated runs, with the largest peak seen in any of them."""
    row = dict(min(runs, key=lambda r: r["wall_s"]))
    for key in ("peak_rss_mb", "peak_pss_mb"):
        row[key] = max(r[key] for r in runs)
    row["tokens_per_s"] = row["tokens"] / row["wall_s"]
    return row


@app.command()
def main(
    cables_dir: Path = typer.Option(
        Path("../shared/data/cables/annotated"), exists=True, help="Tagged cables to convert"
    ),
    work_dir: Path = typer.Option(Path("bench"), help="Scratch folder for the tools' outputs"),
    n_process: int = typer.Option(2, "--n-process", "-n", help="convert.py worker processes"),
    replicate_times: int = typer.Option(
        10, "--replicate", help="Copies of the corpus for the memory-growth run (1: none)"
    ),
    rounds: int = typer.Option(1, help="Interleaved peer/ours rounds; the fastest of each counts"),
    skip_peer: bool = typer.Option(False, "--skip-peer", help="Run convert.py only"),
    no_check: bool = typer.Option(False, "--no-check", help="Exit 0 even if a target is missed"),
    output: Path = typer.Option(Path("reports/benchmark_convert.json"), help="JSON output"),
):
    """Time convert.py against spacy convert, and its peak memory on 1x and replicated corpora."""
    given = str(cables_dir)  # as typed: the JSON names no machine's folders
    cables_dir, work_dir, output = cables_dir.resolve(), work_dir.resolve(), output.resolve()
    iob, files = work_dir / "iob" / "corpus.iob", sum(1 for _ in iter_sources([cables_dir]))
    if not skip_peer:
        msg.info(f"writing {iob} (not timed)")
        iob_tokens = write_iob(cables_dir, iob)
    peer, ours = [], []
    for r in range(rounds):  # interleaved, the order alternating: neither tool always goes first
        for tool in ("peer", "ours") if r % 2 == 0 else ("ours", "peer"):
            if tool == "ours":
                ours.append(run_ours(cables_dir, work_dir / "ours", n_process, work_dir, "ours"))
            elif not skip_peer:
                peer.append(run_peer(iob, work_dir / "peer", files, iob_tokens, work_dir))
    rows = [best(runs) for runs in (peer, ours) if runs]
    if replicate_times > 1:
        rep_dir, tag = work_dir / "replicated", f"ours {replicate_times}x"
        msg.info(f"replicating the corpus {replicate_times}x into {rep_dir} (not timed)")
        replicate(cables_dir, rep_dir, replicate_times)
        rows.append(best([run_ours(rep_dir, work_dir / "ours_rep", n_process, work_dir, tag)]))
    print_table(rows)
    results = {"command": " ".join(["python", *sys.argv]), "rows": rows,
               "runs": {"peer": peer, "ours": ours}, "cables_dir": given,
               "n_process": n_process, "rounds": rounds}  # fmt: skip
    by_tool = {row["tool"]: row for row in rows}
    many = by_tool.get(f"ours {replicate_times}x")
    failures = check(results, by_tool.get(PEER), by_tool["ours"], many)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    msg.info(f"wrote {output}")
    if failures and not no_check:
        msg.fail("targets missed: " + "; ".join(failures), exits=1)
    msg.good("all targets met") if not failures else msg.warn("targets missed (--no-check)")


def print_table(rows: list[dict]) -> None:
    fields = ("tool", "files", "tokens", "wall_s", "cpu_s", "tokens_per_s", "peak_rss_mb",
              "peak_pss_mb", "load_1m")  # fmt: skip
    table = [[f"{r[k]:,.1f}" if isinstance(r[k], float) else r[k] for k in fields] for r in rows]
    msg.table(table, header=fields, divider=True, aligns=("l",) + ("r",) * (len(fields) - 1))


def check(results: dict, peer: dict | None, one: dict, many: dict | None) -> list[str]:
    """Add the ratios to `results`, print them and return the targets missed."""
    failures = []
    if peer:
        results["speedup"] = speed = one["tokens_per_s"] / peer["tokens_per_s"]
        msg.text(f"ours/peer tokens/s: {speed:.2f}x (target >= {MIN_SPEEDUP}x)")
        if speed < MIN_SPEEDUP:
            failures.append(f"speed {speed:.2f}x < {MIN_SPEEDUP}x spacy convert's")
    msg.text(f"peak RSS of the tree: {one['peak_rss_mb']:.0f} MB (target < {MAX_PEAK_MB:.0f})")
    if one["peak_rss_mb"] >= MAX_PEAK_MB:
        failures.append(f"peak RSS {one['peak_rss_mb']:.0f} MB >= {MAX_PEAK_MB:.0f} MB")
    if many:
        results["memory_ratio"] = ratio = many["peak_rss_mb"] / one["peak_rss_mb"]
        msg.text(f"{many['tool']} peak / 1x peak: {ratio:.2f} (target < {MAX_MEMORY_RATIO})")
        if ratio >= MAX_MEMORY_RATIO:
            failures.append(f"memory ratio {ratio:.2f} >= {MAX_MEMORY_RATIO}")
    results["failures"] = failures
    return failures


if __name__ == "__main__":
    app()
