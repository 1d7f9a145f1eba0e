"""Reading a converted corpus for training: spaCy's Corpus against cable_ner's SentenceChunkCorpus.

    python benchmarks/benchmark_corpus.py corpus/train.spacy --limit 300 --max-length 256 \
        [--output reports/benchmark_corpus.json]

Both read the same docs with the same nlp (make_doc = the cable reader); spaCy's Corpus with
`max_length` splits each longer doc into one example per sentence (Span.as_doc per sentence),
SentenceChunkCorpus packs sentences into examples of at most `max-length` tokens.
Prints seconds, examples and tokens for each, and the speed ratio (`--output`: also as JSON).
"""

import json
import sys
import time
from pathlib import Path

import spacy
import typer
from spacy.training import Corpus

from cable_ner.training.readers import SentenceChunkCorpus


def main(
    path: Path = typer.Argument(..., exists=True, help="A converted corpus (.spacy or folder)"),
    limit: int = typer.Option(300, help="Docs to read (0 = all)"),
    max_length: int = typer.Option(256, help="SentenceChunkCorpus max_length (tokens)"),
    spacy_max_length: int = typer.Option(2000, help="spacy.Corpus max_length (tokens)"),
    output: Path | None = typer.Option(None, help="Write the figures as JSON"),
) -> None:
    """Time reading PATH with spacy.Corpus and with SentenceChunkCorpus."""
    nlp = spacy.blank("en")
    nlp.tokenizer = spacy.registry.get("tokenizers", "cable_ner.cable_reader.v1")()(nlp)
    readers = {
        f"spacy.Corpus(max_length={spacy_max_length})": Corpus(
            path, max_length=spacy_max_length, limit=limit
        ),
        f"SentenceChunkCorpus(max_length={max_length})": SentenceChunkCorpus(
            path, max_length=max_length, limit=limit
        ),
    }
    rows, times = {}, []
    for name, corpus in readers.items():
        start = time.perf_counter()
        examples = tokens = 0
        for eg in corpus(nlp):
            examples += 1
            tokens += len(eg.reference)
        seconds = time.perf_counter() - start
        times.append(seconds)
        rows[name] = {"seconds": round(seconds, 2), "examples": examples, "tokens": tokens}
        print(f"{name:40s} {seconds:8.1f} s  {examples:7d} examples  {tokens:9d} tokens")
    stock, chunked = times
    print(f"SentenceChunkCorpus is {stock / chunked:.1f}x faster")
    if output:
        result = {"command": " ".join(["python", *sys.argv]), "readers": rows,
                  "speedup": round(stock / chunked, 2)}  # fmt: skip
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {output}")


if __name__ == "__main__":
    typer.run(main)
