"""Relabel a converted corpus with a trained pipeline (self-training, distillation).

    from cable_ner.relabel import relabel
    summary = relabel("training/trf_gold/model-best", "corpus/train.spacy",
                      "corpus_relabelled/train.spacy")

Every doc of the DocBin keeps its words, spaces, sentence starts and user_data (the cable's
metadata); only its entities are replaced by the pipeline's, and tokens the input leaves without
NER annotation (the converter's header tokens) stay without it. The pipeline sees the converter's
clean text, token for token, with the converter's sentence starts (its own senter does not run),
so the relabelled corpus has exactly the splits, cables and sentences of the input. This is the
training-data counterpart of the annotate job, which reads raw cables and writes records.

`header_dest` also writes, from the same predictions, the corpus with the pipeline's entities
inside the header (an entity wholly within an unannotated run is kept; the rest of the header
stays unannotated): a student can then learn the header's (mostly upper-case) names without
learning "no entity" for every other header token.

Gold cables (the converter trains gold train cables with their hand-corrected labels, and
lists them in the corpus's `report.json` as `gold_labels`) are passed through unchanged: `keep`.

The summary counts docs and entities per label before and after, and the silver F of the new
labels against the old ones (a diagnostic of how far the labeller departs from its input).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from spacy.language import Language
from spacy.scorer import PRFScore
from spacy.tokens import Doc, DocBin, Span

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


def predict(nlp: Language, docs: list[Doc], batch_size: int = 16) -> Iterator[tuple[Doc, Doc]]:
    """(input, prediction) doc pairs: the prediction has the input's tokens and sentences."""
    disable = [name for name in nlp.pipe_names if name in SKIP]
    with nlp.select_pipes(disable=disable):
        yield from zip(docs, nlp.pipe((_fresh(nlp, d) for d in docs), batch_size=batch_size),
                       strict=True)


def _with_entities(doc: Doc, ents, in_header: bool = False) -> Doc:
    """A copy of `doc` whose entities are `ents`, except those touching a token the input leaves
    unannotated: those tokens stay unannotated (header tokens are never entities). With
    `in_header`, an entity all of whose tokens are unannotated (so wholly inside the header) is
    kept, and only the header's other tokens stay unannotated."""
    new = doc.copy()
    unannotated = [t.ent_iob == 0 for t in doc]
    keep = []
    for e in ents:
        n = sum(unannotated[e.start:e.end])
        if n == 0 or (in_header and n == len(e)):
            keep.append(e)
    covered = {i for e in keep for i in range(e.start, e.end)}
    missing = [Span(new, i, i + 1) for i, m in enumerate(unannotated) if m and i not in covered]
    new.set_ents([Span(new, e.start, e.end, label=e.label_) for e in keep], missing=missing,
                 default="outside")
    return new


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


def shard_targets(src: str | Path, dest: str | Path) -> list[tuple[Path, Path]]:
    """(shard, output) pairs: the shards of a folder keep their names under `dest`; one DocBin
    file is written to `dest` itself."""
    src, dest = Path(src), Path(dest)
    return [(shard, dest / shard.name if src.is_dir() else dest) for shard in corpus_shards(src)]


def _write(docs: list[Doc], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    DocBin(store_user_data=True, docs=docs).to_disk(target)


def map_corpus(src: str | Path, dest: str | Path, vocab,
               transform: Callable[[list[Doc]], list[Doc]], progress=None) -> None:
    """Write `transform(docs)` of each shard of the DocBin (or shard folder) `src` to `dest`
    under the same shard names, one shard in memory at a time."""
    jobs = shard_targets(src, dest)
    bar = progress(total=len(jobs)) if progress else None
    for shard, target in jobs:
        _write(transform(list(DocBin().from_disk(shard).get_docs(vocab))), target)
        if bar:
            bar.update(1)
    if bar:
        bar.close()


@dataclass
class Tally:
    """What relabelling changed: docs, gold docs passed through, entities per label before and
    after, and the new labels scored against the input's per label (spaCy's PRFScore)."""

    docs: int = 0
    kept_gold: int = 0
    before: Counter = field(default_factory=Counter)
    after: Counter = field(default_factory=Counter)
    scores: dict[str, PRFScore] = field(default_factory=dict)

    def add(self, new: Doc, old: Doc) -> None:
        """Count one relabelled doc; both docs have the same tokens, so spans compare directly."""
        self.before.update(e.label_ for e in old.ents)
        self.after.update(e.label_ for e in new.ents)
        if not old.has_annotation("ENT_IOB"):  # no labels to compare with (as spaCy's scorer)
            return
        for label in {e.label_ for e in new.ents} | {e.label_ for e in old.ents}:
            self.scores.setdefault(label, PRFScore()).score_set(
                {(e.start, e.end) for e in new.ents if e.label_ == label},
                {(e.start, e.end) for e in old.ents if e.label_ == label})

    def __iadd__(self, other: Tally) -> Tally:
        self.docs += other.docs
        self.kept_gold += other.kept_gold
        self.before += other.before
        self.after += other.after
        for label, score in other.scores.items():
            self.scores[label] = self.scores.get(label, PRFScore()) + score
        return self

    def agreement(self) -> PRFScore:
        return sum(self.scores.values(), PRFScore())


def relabel_shard(nlp: Language, shard: Path, target: Path, batch_size: int = 16,
                  keep: frozenset[str] = frozenset(), header_target: Path | None = None) -> Tally:
    """Relabel one DocBin file into `target` (and, with `header_target`, the variant with the
    header's entities there), passing the docs whose id is in `keep` through."""
    try:
        docs = list(DocBin().from_disk(shard).get_docs(nlp.vocab))
    except Exception as err:  # a truncated or foreign file: name it
        raise ValueError(f"{shard}: not a readable DocBin ({err})") from err
    tally = Tally(docs=len(docs))
    todo = [doc for doc in docs if doc_id(doc) not in keep]
    tally.kept_gold = len(docs) - len(todo)
    new_of, header_of = {}, {}
    for old, pred in predict(nlp, todo, batch_size):
        new_of[id(old)] = new = _with_entities(old, pred.ents)
        tally.add(new, old)
        if header_target is not None:
            header_of[id(old)] = _with_entities(old, pred.ents, in_header=True)
    _write([new_of.get(id(doc), doc) for doc in docs], target)
    if header_target is not None:
        _write([header_of.get(id(doc), doc) for doc in docs], header_target)
    return tally


_WORKER_NLP: Language | None = None


def _start_worker(model: str, threads: int) -> None:
    global _WORKER_NLP
    import spacy
    import torch

    torch.set_num_threads(threads)
    _WORKER_NLP = spacy.load(model)


def _relabel_in_worker(shard: Path, target: Path, batch_size: int, keep: frozenset[str],
                       header_target: Path | None) -> Tally:
    return relabel_shard(_WORKER_NLP, shard, target, batch_size, keep, header_target)


def _tallies(model: str | Path, jobs: list[tuple[Path, Path, Path | None]], batch_size: int,
             keep: frozenset[str], n_process: int) -> Iterator[Tally]:
    """Each shard's tally as it is done: in this process, or in `n_process` worker processes
    that each load the pipeline once and share the cores (torch threads split between them)."""
    if n_process <= 1 or len(jobs) == 1:
        import spacy

        nlp = spacy.load(model)
        for shard, target, header_target in jobs:
            yield relabel_shard(nlp, shard, target, batch_size, keep, header_target)
        return
    workers = min(n_process, len(jobs))
    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_start_worker,
                             initargs=(str(model), threads)) as pool:
        futures = [pool.submit(_relabel_in_worker, shard, target, batch_size, keep, header_target)
                   for shard, target, header_target in jobs]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:  # a shard that failed stops the run: the shards not started are not relabelled
            pool.shutdown(cancel_futures=True)


def relabel(model: str | Path, src: str | Path, dest: str | Path, batch_size: int = 16,
            progress=None, keep: frozenset[str] = frozenset(), n_process: int = 1,
            header_dest: str | Path | None = None) -> dict:
    """Relabel the DocBin (or shard folder) `src` with the pipeline at `model` into `dest`, shard
    by shard under the same names, passing the docs whose id is in `keep` through unchanged,
    with `n_process` processes over the shards; returns the summary (of `dest`). `header_dest`
    also gets the variant with the pipeline's entities inside the header."""
    headers = dict(shard_targets(src, header_dest)) if header_dest is not None else {}
    jobs = [(shard, target, headers.get(shard)) for shard, target in shard_targets(src, dest)]
    total = Tally()
    bar = progress(total=len(jobs)) if progress else None
    for tally in _tallies(model, jobs, batch_size, keep, n_process):
        total += tally
        if bar:
            bar.update(1)
    if bar:
        bar.close()
    agreement = total.agreement()
    scored = len(agreement) > 0
    return {
        "model": str(model),
        "input": str(src),
        "output": str(dest),
        "header_output": None if header_dest is None else str(header_dest),
        "docs": total.docs,
        "kept_gold": total.kept_gold,
        "entities_before": dict(sorted(total.before.items())),
        "entities_after": dict(sorted(total.after.items())),
        "f_against_input": _pct(agreement.fscore if scored else None),
        "p_against_input": _pct(agreement.precision if scored else None),
        "r_against_input": _pct(agreement.recall if scored else None),
    }
