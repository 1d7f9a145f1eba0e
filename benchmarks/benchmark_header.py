"""Speed of the header parser on long adversarial text: does it stay linear?

    python benchmarks/benchmark_header.py [--scale 1 --scale 4 --scale 16] [--rounds 3] \
        [--output reports/benchmark_header.json]

The text repeats what a backtracking regular expression could choke on: reason lists
(`1.4 ( ( ( , , and and`, 3,000 times), spaced banners (`S E C R E T `, 2,000 times) and
paragraph marks (`\\n1 . `, 2,000 times), all of it `--scale` times over. For each scale it
prints the best of `--rounds` timings of `parse_header` + `find_paragraphs` and the seconds per
100,000 characters (flat when the parser is linear). Exits 1 when scale 1 takes 2 s or more.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import typer
from wasabi import msg

from cable_ner.header import find_paragraphs, parse_header

TARGET_S = 2.0  # scale 1; the parser takes well under 0.1 s on an idle 2-core machine


def adversarial_text(scale: int) -> str:
    return (
        "1.4 ( ( ( , , and and " * 3000 + "S E C R E T " * 2000 + "\n1 . " * 2000
    ) * scale


def best_seconds(text: str, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        parse_header(text)
        find_paragraphs(text)
        best = min(best, time.perf_counter() - start)
    return best


def main(
    scale: list[int] = typer.Option([1, 4, 16], min=1, help="Copies of the text (repeatable)"),
    rounds: int = typer.Option(3, min=1, help="Timings per scale; the best counts"),
    output: Path | None = typer.Option(None, help="Write the figures as JSON"),
) -> None:
    """Time the header parser on long adversarial text at each --scale."""
    rows = []
    for n in sorted(set(scale) | {1}):
        text = adversarial_text(n)
        seconds = best_seconds(text, rounds)
        per_100k = seconds / len(text) * 100_000
        rows.append({"scale": n, "chars": len(text), "seconds": round(seconds, 4),
                     "seconds_per_100k_chars": round(per_100k, 4)})  # fmt: skip
    table = [(r["scale"], f"{r['chars']:,}", f"{r['seconds']:.3f}",
              f"{r['seconds_per_100k_chars']:.3f}") for r in rows]  # fmt: skip
    msg.table(table, header=("scale", "characters", "seconds", "s / 100k chars"), divider=True)
    if output:
        report = {"command": " ".join(["python", *sys.argv]), "rounds": rounds, "rows": rows}
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, indent=2) + "\n")
        msg.info(f"wrote {output}")
    if rows[0]["seconds"] >= TARGET_S:
        msg.fail(f"scale 1 took {rows[0]['seconds']:.2f} s (target < {TARGET_S} s)", exits=1)
    msg.good(f"scale 1 under {TARGET_S} s")


if __name__ == "__main__":
    typer.run(main)
