"""`cable_ner.ThroughputLogger.v1` (`[training.logger]`, beside spaCy's console logger)."""

from __future__ import annotations

from spacy.util import registry


@registry.loggers("cable_ner.ThroughputLogger.v1")
def create_throughput_logger(path: str):
    """At each evaluation, write {"step", "words", "seconds", "words_per_second", "peak_rss_mb"}
    as a line of `path` + ".throughput.jsonl" (next to the console logger's file; rewritten by
    each run): the training throughput and peak memory the reports quote. spaCy's console log
    has neither. Words and seconds are spaCy's running totals (seconds include evaluations)."""
    import json
    import resource

    from ..report import throughput_path

    def setup(nlp, stdout=None, stderr=None):
        out = open(throughput_path(path), "w", encoding="utf-8")

        def log_step(info: dict | None) -> None:
            if info is None:
                return
            words, seconds = info["words"], info["seconds"]
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            record = {"step": info["step"], "words": words, "seconds": round(seconds, 1),
                      "words_per_second": round(words / seconds, 1) if seconds else None,
                      "peak_rss_mb": round(peak)}  # fmt: skip
            out.write(json.dumps(record) + "\n")
            out.flush()

        return log_step, out.close

    return setup
