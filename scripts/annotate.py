"""Annotate cables with a trained pipeline: JSONL, tagged files or DocBin, resumable.

    python scripts/annotate.py training/trf/model-best cables/ more/*.txt.gz out.jsonl \
        [--format jsonl|tagged|docbin] [--engine local|ray] [--n-process 2] [--batch-size 16] \
        [--quantize none|int8]

INPUTS are files, folders, globs or .gz files, as for scripts/convert.py; the last argument is the
output. See `cable_ner.annotate` for the job and `cable_ner.writers` for the outputs;
`--engine ray` needs `pip install -e .[ray]`. `--quantize int8` runs a transformer pipeline with
int8 linear layers (`cable_ner.quantize`): faster on CPU, its gold F in reports/benchmarks.md.
"""

import os
import sys
from enum import Enum
from pathlib import Path

import typer
from tqdm import tqdm
from wasabi import msg

from cable_ner.annotate import annotate
from cable_ner.quantize import QUANTIZE_MODES, QuantizeError, check_quantizable
from cable_ner.reader import iter_sources
from cable_ner.writers import FORMATS

Format = Enum("Format", {name: name for name in FORMATS}, type=str)
Quantize = Enum("Quantize", {name: name for name in ("none", *QUANTIZE_MODES)}, type=str)


class Engine(str, Enum):
    local = "local"
    ray = "ray"


app = typer.Typer(add_completion=False)


@app.command()
def main(
    model: str = typer.Argument(..., help="Pipeline folder or installed package name"),
    inputs: list[str] = typer.Argument(..., help="Cable files, folders, globs or .gz files"),
    output: Path = typer.Argument(..., help="A .jsonl file or a folder (tagged, docbin: a folder)"),
    fmt: Format = typer.Option("jsonl", "--format", "-f", help="Output format"),
    engine: Engine = typer.Option("local", help="local (spaCy processes) or ray (Ray Data)"),
    n_process: int = typer.Option(1, "--n-process", "-n", help="Local worker processes"),
    batch_size: int = typer.Option(16, help="Cables per nlp.pipe batch"),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Skip cables already done"),
    address: str = typer.Option(None, help="Ray cluster address (default: start a local Ray)"),
    actors: int = typer.Option(2, help="Ray actors, each holding the pipeline once"),
    cpus_per_actor: float = typer.Option(1, help="CPUs per Ray actor (torch threads)"),
    num_gpus_per_actor: float = typer.Option(0, help="GPUs per Ray actor"),
    quantize: Quantize = typer.Option(
        "none", help="int8: the transformer's linear layers in int8, faster on CPU"
    ),
) -> None:
    """Annotate every cable in INPUTS with MODEL into OUTPUT: entities and the cable's metadata
    per cable, failures per file with their reason; a rerun resumes where the last one stopped."""
    if output.exists() and not output.is_dir() and (fmt != "jsonl" or output.suffix != ".jsonl"):
        msg.fail(f"{output} is a file: OUTPUT (the last argument) is a .jsonl file or a folder "
                 f"(a folder for --format {fmt.value})", exits=1)  # fmt: skip
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model's transformer is in its folder
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    q = None if quantize.value == "none" else quantize.value
    try:
        check_quantizable(model, q)
        total = sum(1 for _ in iter_sources(inputs))
    except (FileNotFoundError, QuantizeError) as err:
        msg.fail(str(err), exits=1)
    with tqdm(total=total, unit="cable", desc="annotate", file=sys.stderr) as bar:
        if engine == Engine.ray:
            from cable_ner.ray_engine import annotate_ray

            summary = annotate_ray(
                model, inputs, output, fmt=fmt.value, actors=actors, cpus_per_actor=cpus_per_actor,
                gpus_per_actor=num_gpus_per_actor, batch_size=batch_size, address=address,
                num_cpus=None if address else max(1, int(actors * cpus_per_actor)),
                resume=resume, progress=bar.update, quantize=q,
            )  # fmt: skip
        else:
            summary = annotate(
                model, inputs, output, fmt=fmt.value, n_process=n_process, batch_size=batch_size,
                resume=resume, progress=bar.update, quantize=q,
            )  # fmt: skip
    msg.divider("Annotation summary")
    msg.table(
        [(k, summary[k]) for k in ("read", "annotated", "resumed", "failed", "read_as_text")]
        + [("seconds", f"{summary['seconds']:.1f}"), ("cables/s", summary["cables_per_s"])]
    )
    for reason, n in summary["failures_by_reason"].items():
        msg.warn(f"failed: {reason}: {n}")
    msg.good(f"wrote {output}")


if __name__ == "__main__":
    app()
