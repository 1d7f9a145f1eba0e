"""Relabel a converted corpus with a trained pipeline (self-training, distillation).

    from cable_ner.relabel import relabel
    summary = relabel("training/trf_gold/model-best", "corpus/train.spacy",
                      "corpus_relabelled/train.spacy")

Every doc of the DocBin keeps its words, spaces, sentence starts and user_data (the cable's
metadata); only its entities are replaced by the pipeline's. The pipeline sees the converter's
clean text, token for token, with the converter's sentence starts (its own senter does not run),
so the relabelled corpus has exactly the splits, cables and sentences of the input. This is the
training-data counterpart of the annotate job, which reads raw cables and writes records.

Gold cables (the converter trains gold train cables with their hand-corrected labels, and
lists them in the corpus's `report.json` as `gold_labels`) are passed through unchanged: `keep`.

The summary counts docs and entities per label before and after, and the silver F of the new
labels against the old ones (a diagnostic of how far the labeller departs from its input).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from spacy.language import Language
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example

from .cable import USER_DATA_KEY

# components that would overwrite what the converter decided, or need a raw cable
SKIP = ("senter", "parser", "cable_metadata", "release_memory", "doc_cleaner")


def _fresh(nlp: Language, doc: Doc) -> Doc:
    """The doc's tokens and sentence starts, without entities, in the pipeline's vocab."""
    return Doc(
        nlp.vocab,
        words=[t.text for t in doc],
        spaces=[bool(t.whitespace_) for t in doc],
        sent_starts=[t.is_sent_start for t in doc],
    )


def doc_id(doc: Doc) -> str:
    """A converted doc's reference id, or its file's stem (as the convert report names it)."""
    cable = doc.user_data.get(USER_DATA_KEY) or {}
    return (cable.get("header") or {}).get("reference_id") or Path(cable.get("source", "")).stem


def corpus_gold_ids(corpus: str | Path) -> frozenset[str]:
    """The gold cables of a converted corpus (its report.json's `gold_labels`), none without one."""
    report = Path(corpus) / "report.json"
    if not report.is_file():
        return frozenset()
    return frozenset(json.loads(report.read_text(encoding="utf-8")).get("gold_labels", []))


def relabel_docs(nlp: Language, docs: list[Doc], batch_size: int = 16) -> Iterator[tuple[Doc, Doc]]:
    """(relabelled, input) doc pairs: the input's tokens and user_data, predicted entities."""
    disable = [name for name in nlp.pipe_names if name in SKIP]
    with nlp.select_pipes(disable=disable):
        for doc, pred in zip(docs, nlp.pipe((_fresh(nlp, d) for d in docs),
                                            batch_size=batch_size), strict=True):
            new = doc.copy()
            new.ents = [Span(new, e.start, e.end, label=e.label_) for e in pred.ents]
            yield new, doc


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 2)


def corpus_shards(path: Path) -> list[Path]:
    """The DocBin files of a corpus path: one `.spacy` file, or the converter's shard folder."""
    if path.is_dir():
        shards = sorted(path.glob("*.spacy"))
        if not shards:
            raise ValueError(f"{path}: a folder with no .spacy shards")
        return shards
    if not path.is_file():
        raise ValueError(f"{path}: no such DocBin file or shard folder")
    return [path]


def map_corpus(src: str | Path, dest: str | Path, vocab,
               transform: Callable[[list[Doc]], list[Doc]], progress=None) -> None:
    """Write `transform(docs)` of each shard of the DocBin (or shard folder) `src` to `dest`
    under the same shard names, one shard in memory at a time."""
    src, dest = Path(src), Path(dest)
    shards = corpus_shards(src)
    bar = progress(total=len(shards)) if progress else None
    for shard in shards:
        docs = list(DocBin().from_disk(shard).get_docs(vocab))
        out = DocBin(store_user_data=True, docs=transform(docs))
        target = dest / shard.name if src.is_dir() else dest
        target.parent.mkdir(parents=True, exist_ok=True)
        out.to_disk(target)
        if bar:
            bar.update(1)
    if bar:
        bar.close()


def relabel(model: str | Path, src: str | Path, dest: str | Path, batch_size: int = 16,
            progress=None, keep: frozenset[str] = frozenset()) -> dict:
    """Relabel the DocBin (or shard folder) `src` with the pipeline at `model` into `dest`, shard
    by shard under the same names, passing the docs whose id is in `keep` through unchanged;
    returns the summary."""
    import spacy

    nlp = spacy.load(model)
    before, after, counts = Counter(), Counter(), Counter()
    examples = []

    def transform(docs: list[Doc]) -> list[Doc]:
        todo = [doc for doc in docs if doc_id(doc) not in keep]
        new_of = {}
        for new, old in relabel_docs(nlp, todo, batch_size):
            before.update(e.label_ for e in old.ents)
            after.update(e.label_ for e in new.ents)
            examples.append(Example(new, old))
            new_of[id(old)] = new
        counts["docs"] += len(docs)
        counts["kept_gold"] += len(docs) - len(todo)
        return [new_of.get(id(doc), doc) for doc in docs]

    map_corpus(src, dest, nlp.vocab, transform, progress)
    agreement = get_ner_prf(examples)
    return {
        "model": str(model),
        "input": str(src),
        "output": str(dest),
        "docs": counts["docs"],
        "kept_gold": counts["kept_gold"],
        "entities_before": dict(sorted(before.items())),
        "entities_after": dict(sorted(after.items())),
        "f_against_input": _pct(agreement["ents_f"]),
        "p_against_input": _pct(agreement["ents_p"]),
        "r_against_input": _pct(agreement["ents_r"]),
    }
