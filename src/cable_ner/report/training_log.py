"""The training part of the report: spaCy's console log (`log.jsonl`), the throughput file
`cable_ner.ThroughputLogger.v1` writes next to it, and the sentence that quotes both."""

from __future__ import annotations

import json
from pathlib import Path


def read_training_log(path: str | Path) -> list[dict]:
    """The lines of a `spacy.ConsoleLogger.v3` output_file: one JSON object per evaluation,
    {"epoch", "step", "losses": {pipe: loss}, "scores": {col: score, in % except speed},
    "score": weighted score in 0-1}."""
    rows = []
    path = Path(path)
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}, line {n}: not a JSON object: {err}") from err
    return rows


def throughput_path(training_log: str | Path) -> Path:
    """Where cable_ner.ThroughputLogger.v1 writes, next to the console logger's file."""
    return Path(f"{training_log}.throughput.jsonl")


def read_throughput(training_log: str | Path) -> dict:
    """Training words/s, seconds and peak RSS from the file cable_ner.ThroughputLogger.v1 writes
    next to the log (`<log>.throughput.jsonl`); {} when there is none.

    Words/s is taken from the first evaluation (step 0) to the last: spaCy's clock starts before
    it reads the training corpus into memory, which the step-0 row absorbs. Evaluations in between
    are included."""
    path = throughput_path(training_log)
    if not path.is_file():
        return {}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    if not rows:
        return {}
    first, last = rows[0], rows[-1]
    seconds = last["seconds"] - first["seconds"]
    wps = (last["words"] - first["words"]) / seconds if seconds > 0 else None
    return {"train_words": last["words"], "train_seconds": last["seconds"],
            "train_words_per_second": round(wps, 1) if wps else None,
            "train_peak_rss_mb": max(r["peak_rss_mb"] for r in rows)}  # fmt: skip


def training_summary(training_log: str | Path, rows: list[dict]) -> dict:
    """metrics["training"]: the log's evaluations, last step, best score and its step, plus
    the throughput figures when the throughput file is there."""
    best = max(rows, key=lambda r: r["score"])
    summary = {
        "log": str(training_log), "n_evaluations": len(rows),
        "last_step": rows[-1]["step"], "best_score": best["score"],
        "best_step": best["step"], "best_scores": best["scores"],
    }  # fmt: skip
    summary.update(read_throughput(training_log))
    return summary


def throughput_md(t: dict) -> str:
    """The sentence on training throughput and memory ("" without the throughput figures)."""
    if not t.get("train_words_per_second"):
        return ""
    return (f" {t['train_words']:,} words in {t['train_seconds'] / 60:.1f} min of training "
            f"(spaCy's clock): {t['train_words_per_second']:,.0f} words/s after the first "
            f"evaluation (later evaluations included); peak RSS {t['train_peak_rss_mb']:,} "
            f"MB.")  # fmt: skip
