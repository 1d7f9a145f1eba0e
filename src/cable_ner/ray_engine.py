"""The annotate job on Ray Data: the same records as `cable_ner.annotate`, on one machine or many.

    from cable_ner.ray_engine import annotate_ray
    annotate_ray("training/trf/model-best", ["cables/"], "out.jsonl", actors=2)

The driver lists the sources (and drops those already in the output when resuming), Ray Data
splits them into blocks, and a pool of `actors` actors, each holding the pipeline loaded once,
reads, decodes and annotates its batches with the local engine's own functions
(`iter_items`, `annotate_docs`, `encode`). Rows come back in input order
(`preserve_order`), and the driver writes them with the local engine's `Writer`: the output is the
local engine's, byte for byte, and memory stays bounded on the driver.

Nothing leaves the machine: usage statistics are off (`RAY_USAGE_STATS_ENABLED=0`, set before
Ray is imported) and no dashboard is started. Without `address` a local Ray instance is started
with `num_cpus` CPUs; with one (`ray://host:10001` or `auto`), the job joins that cluster, whose
nodes need cable-ner installed and the model and the input files at the same paths (a shared
file system): actors read the files themselves, so cable text never passes through the driver.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .annotate import Summary, Writer, _reason_kind, annotate_docs, encode, iter_items
from .cable import skip_reason
from .reader import Source, iter_sources

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


class AnnotateActor:
    """Ray Data callable class: loads the pipeline once, annotates batches of source paths."""

    def __init__(self, model: str, fmt: str, batch_size: int, threads: int):
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        try:
            import torch

            torch.set_num_threads(max(1, threads))
        except ImportError:
            pass
        from .annotate import load_pipeline

        self.nlp = load_pipeline(model)
        self.fmt = fmt
        self.batch_size = batch_size

    def __call__(self, batch: dict) -> dict:
        names = [str(x) for x in batch["source"]]
        paths = [str(x) for x in batch["path"]]
        out: dict[str, dict[str, Any]] = {n: {"ref": "", "payload": "", "error": ""} for n in names}

        def fail(source: str, reason: str) -> None:
            out[source]["error"] = reason

        items = iter_items(
            (Source(n, Path(p)) for n, p in zip(names, paths, strict=True)),
            frozenset(),
            fail,
            Summary(),
            self.nlp.max_length,
        )
        for context, doc, error in annotate_docs(self.nlp, items, 1, self.batch_size):
            row = out[context["source"]]
            if doc is None:
                row["error"] = error or "pipeline error"
                continue
            try:
                ref, payload = encode(doc, self.fmt)
            except ValueError as err:
                row["error"] = f"cannot write {self.fmt}: {err}"
                continue
            row["ref"] = ref or ""
            row["payload"] = payload if isinstance(payload, str) else payload.hex()
            row["skipped"] = bool(skip_reason(doc))
        return {
            "source": names,
            "ref": [out[n]["ref"] for n in names],
            "payload": [out[n]["payload"] for n in names],
            "error": [out[n]["error"] for n in names],
            "read_as_text": [bool(out[n].get("skipped")) for n in names],
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
) -> dict:
    """Annotate `inputs` with `actors` Ray actors; return the same summary as `annotate`."""
    init_ray(address, num_cpus if num_cpus is not None else None)
    import ray

    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False
    model = str(Path(model).resolve()) if Path(model).exists() else str(model)
    summary = Summary()
    start = time.perf_counter()
    with Writer(output, fmt, resume=resume, shard_size=shard_size) as writer:
        rows = []  # names and paths only: the actors read the files
        for source in iter_sources(inputs):
            summary.read += 1
            if source.name in writer.done:
                summary.resumed += 1
                if progress:
                    progress(1)
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
                    "threads": int(max(1, cpus_per_actor)),
                },
                batch_size=files_per_task,
                concurrency=actors,
                num_cpus=cpus_per_actor,
                num_gpus=gpus_per_actor,
            )  # fmt: skip
            for row in ds.iter_rows():
                source = row["source"]
                if row["error"]:
                    summary.failed += 1
                    kind = _reason_kind(row["error"])
                    summary.failures_by_reason[kind] = summary.failures_by_reason.get(kind, 0) + 1
                    writer.fail(source, row["error"])
                else:
                    payload = row["payload"]
                    if fmt == "docbin":
                        payload = bytes.fromhex(payload)
                    writer.write(source, row["ref"] or None, payload)
                    summary.annotated += 1
                    summary.read_as_text += int(bool(row["read_as_text"]))
                if progress:
                    progress(1)
    summary.seconds = time.perf_counter() - start
    return summary.to_dict()
