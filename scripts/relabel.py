"""Relabel a converted corpus (train.spacy, dev.spacy) with a trained pipeline: self-training or
distillation data with the converter's splits, sentences and metadata (cable_ner.relabel)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from tqdm import tqdm

from cable_ner.relabel import corpus_gold_ids, relabel

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    model: Path = typer.Argument(..., exists=True, help="Trained pipeline that gives the labels"),
    corpus: Path = typer.Argument(..., exists=True, file_okay=False, help="Corpus folder to read"),
    output: Path = typer.Argument(..., help="Corpus folder to write (report.json beside)"),
    splits: str = typer.Option("train,dev", help="Comma-separated DocBins of CORPUS to relabel"),
    batch_size: int = typer.Option(16, help="Docs per pipeline batch"),
    n_process: int = typer.Option(1, min=1, help="Processes over a split's shards (each loads "
                                  "the pipeline; torch threads are split between them)"),
    header_output: Path = typer.Option(None, help="Also write the corpus with the pipeline's "
                                       "entities inside the header (its other tokens still "
                                       "unannotated) to this folder"),
) -> None:
    keep = corpus_gold_ids(corpus)  # gold cables keep their hand-corrected labels
    summaries = {}
    for split in [s.strip() for s in splits.split(",") if s.strip()]:
        src = corpus / f"{split}.spacy"
        if not src.exists():
            raise typer.BadParameter(f"{src}: no such DocBin", param_hint="corpus")
        bar = lambda total, s=split: tqdm(total=total, desc=f"{s} shards")  # noqa: E731
        header_dest = header_output / f"{split}.spacy" if header_output else None
        summaries[split] = relabel(model, src, output / f"{split}.spacy", batch_size, bar, keep,
                                   n_process, header_dest)
        typer.echo(json.dumps(summaries[split]))
    # beside each corpus written, so that a pipeline trained on it records its teacher
    for folder in (output, header_output) if header_output else (output,):
        (folder / "relabel.json").write_text(json.dumps(summaries, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    app()
