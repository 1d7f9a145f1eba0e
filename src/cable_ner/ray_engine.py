"""The annotate job on Ray Data: the same records as `cable_ner.annotate`, on one machine or many.

    from cable_ner.ray_engine import annotate_ray
    annotate_ray("training/trf/model-best", ["cables/"], "out.jsonl", actors=2)

The driver lists the sources (and drops those already in the output when resuming), Ray Data
splits them into blocks, and a pool of `actors` actors, each holding the pipeline loaded once,
reads, decodes and annotates its batches with the local engine's own functions
(`iter_items`, `encoded`). Rows come back in input order (`preserve_order`), and the driver
records them as the local engine does (`Tally`, the format's writer): the output is the local
engine's, byte for byte, and memory stays bounded on the driver.

Nothing leaves the machine: usage statistics are off and no dashboard is started. `init_ray` sets
`RAY_USAGE_STATS_ENABLED=0` before it starts or joins Ray: Ray reads it in the driver (Ray Data's
usage records) and in the head it starts, whose processes (the actors' included) inherit it; a
cluster started apart with `ray start` follows its own setting. Without `address` a local Ray
instance is started with `num_cpus` CPUs; with one (`ray://host:10001` or `auto`), the job joins
that cluster, whose nodes need cable-ner installed and the model and the input files at the same
paths (a shared file system): actors read the files themselves, so cable text never passes
through the driver.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .annotate import Outcome, Summary, Tally, encoded, iter_items
from .reader import Source, iter_sources
from .writers import open_writer


class AnnotateActor:
    """Ray Data callable class: loads the pipeline once, annotates batches of source paths."""

    def __init__(self, model: str, fmt: str, batch_size: int, threads: int,
                 quantize: str | None = None):  # fmt: skip
        try:
            import torch

            torch.set_num_threads(max(1, threads))
        except ImportError:
            pass
        from .annotate import load_pipeline

        self.nlp = load_pipeline(model, quantize=quantize)
        self.fmt = fmt
        self.batch_size = batch_size

    def __call__(self, batch: dict) -> dict:
        names = [str(x) for x in batch["source"]]
        paths = [str(x) for x in batch["path"]]
        out = {n: Outcome(n) for n in names}

        def fail(source: str, reason: str) -> None:
            out[source] = Outcome(source, error=reason)

        items = iter_items(
            (Source(n, Path(p)) for n, p in zip(names, paths, strict=True)),
            frozenset(),
            fail,
            Summary(),
            self.nlp.max_length,
        )
        for outcome in encoded(self.nlp, items, self.fmt, 1, self.batch_size):
            out[outcome.source] = outcome
        rows = [out[n] for n in names]
        return {
            "source": names,
            "ref": [o.ref or "" for o in rows],
            "payload": [o.payload.hex() if isinstance(o.payload, bytes) else o.payload or ""
                        for o in rows],  # fmt: skip
            "error": [o.error or "" for o in rows],
            "read_as_text": [o.read_as_text for o in rows],
        }


def init_ray(address: str | None = None, num_cpus: int | None = None, **kwargs) -> None:
    """Start (or join) Ray with nothing sent anywhere: no usage stats, no dashboard."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    import ray

    if ray.is_initialized():
        return
    options: dict[str, Any] = {
        "include_dashboard": False,
        "configure_logging": False,
        "log_to_driver": False,
        "ignore_reinit_error": True,
    }
    if address:
        ray.init(address=address, **options, **kwargs)
    else:
        ray.init(num_cpus=num_cpus, object_store_memory=kwargs.pop("object_store_memory", 512
                 * 1024**2), **options, **kwargs)  # fmt: skip


def annotate_ray(
    model: str | Path,
    inputs: Iterable[str | Path],
    output: str | Path,
    fmt: str = "jsonl",
    actors: int = 2,
    cpus_per_actor: float = 1,
    gpus_per_actor: float = 0,
    batch_size: int = 16,
    files_per_task: int = 64,
    address: str | None = None,
    num_cpus: int | None = None,
    resume: bool = True,
    shard_size: int = 256,
    progress: Callable[[int], Any] | None = None,
    quantize: str | None = None,
) -> dict:
    """Annotate `inputs` with `actors` Ray actors; return the same summary as `annotate`
    (`quantize` as there: each actor quantizes the pipeline it loads)."""
    init_ray(address, num_cpus)
    import ray

    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False
    model = str(Path(model).resolve()) if Path(model).exists() else str(model)
    summary = Summary()
    start = time.perf_counter()
    with open_writer(output, fmt, resume=resume, shard_size=shard_size) as writer:
        tally = Tally(writer, summary, progress)
        rows = []  # names and paths only: the actors read the files
        for source in iter_sources(inputs):
            summary.read += 1
            if source.name in writer.done:
                summary.resumed += 1
                tally.tick()
            else:
                rows.append({"source": source.name, "path": str(source.path.resolve())})
        if rows:
            ds = ray.data.from_items(
                rows, override_num_blocks=max(1, -(-len(rows) // files_per_task))
            )
            del rows
            ds = ds.map_batches(
                AnnotateActor,
                fn_constructor_kwargs={
                    "model": model, "fmt": fmt, "batch_size": batch_size,
                    "threads": int(max(1, cpus_per_actor)), "quantize": quantize,
                },
                batch_size=files_per_task,
                concurrency=actors,
                num_cpus=cpus_per_actor,
                num_gpus=gpus_per_actor,
            )  # fmt: skip
            for row in ds.iter_rows():
                payload = row["payload"]
                if fmt == "docbin" and not row["error"]:
                    payload = bytes.fromhex(payload)
                tally.record(Outcome(row["source"], row["ref"] or None, payload,
                                     bool(row["read_as_text"]), row["error"] or None))  # fmt: skip
    summary.seconds = time.perf_counter() - start
    return summary.to_dict()
