"""Reading a converted corpus for training: spaCy's Corpus against cable_ner's SentenceChunkCorpus.

    python scripts/benchmark_corpus.py corpus/train.spacy --limit 300 --max-length 256

Both read the same docs with the same nlp (make_doc = the cable reader); spaCy's Corpus with
`max_length` splits each longer doc into one example per sentence (Span.as_doc per sentence),
SentenceChunkCorpus packs sentences into examples of at most `max-length` tokens.
Prints seconds, examples and tokens for each, and the speed ratio.
"""

import time
from pathlib import Path

import spacy
import typer
from spacy.training import Corpus

from cable_ner.training.readers import SentenceChunkCorpus


def main(
    path: Path,
    limit: int = typer.Option(300, help="Docs to read (0 = all)"),
    max_length: int = typer.Option(256, help="SentenceChunkCorpus max_length (tokens)"),
    spacy_max_length: int = typer.Option(2000, help="spacy.Corpus max_length (tokens)"),
) -> None:
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
    seconds = {}
    for name, corpus in readers.items():
        start = time.perf_counter()
        examples = tokens = 0
        for eg in corpus(nlp):
            examples += 1
            tokens += len(eg.reference)
        seconds[name] = time.perf_counter() - start
        print(f"{name:40s} {seconds[name]:8.1f} s  {examples:7d} examples  {tokens:9d} tokens")
    stock, chunked = seconds.values()
    print(f"SentenceChunkCorpus is {stock / chunked:.1f}x faster")


if __name__ == "__main__":
    typer.run(main)
