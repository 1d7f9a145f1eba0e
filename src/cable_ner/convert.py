"""Tagged cables → spaCy DocBins: deterministic splits, header masking, filters, a full report.

Work is done in chunks of files. A chunk is read, parsed and turned into Docs by one worker, which
writes one DocBin shard per split (`corpus/train.spacy/00012.spacy`); the main process keeps
only the report, so memory stays flat however large the corpus is, and the shard layout is the
same whatever `n_process` is. spaCy's `Corpus` reads a folder of shards as one corpus. Each cable's
Doc is built by `cable_ner.record_doc`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from spacy.attrs import IS_SPACE
from spacy.tokens import DocBin
from spacy.vocab import Vocab

from .filters import load_filters
from .reader import Skipped, Source, iter_sources, read_cable
from .record_doc import (
    MAX_SENTENCE_TOKENS,
    DocStats,
    english_tokenizer,
    project_onto_raw,
    record_to_doc,
)

SPLITS = ("train", "dev", "test")
DEFAULT_SPLIT = (0.8, 0.1, 0.1)
HEADER_FIELDS = (
    "classification", "post", "serial", "captions", "eo", "decl", "tags", "subject", "refs",
    "classified_by", "reasons", "summary", "signer", "reference_id",
)  # fmt: skip


@dataclass
class ConvertOptions:
    split: tuple[float, float, float] = DEFAULT_SPLIT
    pins: frozenset[str] = frozenset()  # reference ids or text hashes pinned to test
    # sha256 of a gold cable's clean text -> (split, gold body entities): the cable goes to that
    # split with these labels only (the silver ones are dropped), whatever its hash says
    gold: dict[str, tuple[str, list[tuple[int, int, str]]]] = field(default_factory=dict)
    filters: str | None = None  # path of a filter file; None = the packaged default
    max_sentence_tokens: int = MAX_SENTENCE_TOKENS
    raw_dir: str | None = None  # project entities onto the natural text of these raw twins
    chunk_size: int = 64


def assign_split(hash_hex: str, split: tuple[float, float, float]) -> str:
    """The split of a cable, from its text hash: stable across runs, machines and file order."""
    x = int(hash_hex[:12], 16) / float(16**12)
    if x < split[0]:
        return "train"
    return "dev" if x < split[0] + split[1] else "test"


# --- the conversion job ------------------------------------------------------------------------


@dataclass
class _ChunkResult:
    index: int
    rows: list[dict]  # one per file: converted (split, hash, stats...) or skipped
    shards: dict[str, int]  # split -> docs written


_worker: dict = {}


def _init_worker(options: ConvertOptions, out_dir: str) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _worker.update(rules=load_filters(options.filters), options=options, out_dir=Path(out_dir))


def _convert_chunk(args: tuple[int, list[Source]]) -> _ChunkResult:
    index, sources = args
    options: ConvertOptions = _worker["options"]
    # A fresh vocab per chunk: the strings and lexemes of a whole corpus would otherwise pile up
    # in each worker (DocBin stores the strings its docs need).
    vocab = Vocab(lex_attr_getters={IS_SPACE: str.isspace})  # token.is_space is all we read
    tokenizer = english_tokenizer(vocab) if options.raw_dir else None
    bins = {split: DocBin(store_user_data=True) for split in SPLITS}
    rows = [_convert_one(source, options, bins, vocab, tokenizer) for source in sources]
    shards = {}
    for split, docbin in bins.items():
        if len(docbin):
            folder = _worker["out_dir"] / f"{split}.spacy"
            docbin.to_disk(folder / f"{index:05d}.spacy")
            shards[split] = len(docbin)
    return _ChunkResult(index, rows, shards)


def _convert_one(
    source: Source, options: ConvertOptions, bins: dict[str, DocBin], vocab: Vocab, tokenizer
) -> dict:
    record = read_cable(source, form="tagged")
    if isinstance(record, Skipped):
        return {"skipped": record.to_dict()}
    digest = record.text_hash()
    ref = record.reference_id
    sha256 = hashlib.sha256(record.text.encode("utf-8")).hexdigest()
    pinned = bool(options.pins) and (
        ref in options.pins or digest in options.pins or sha256 in options.pins
    )
    gold = options.gold.get(sha256)
    if pinned:
        split = "test"
    elif gold is not None:
        split = gold[0]
    else:
        split = assign_split(digest, options.split)
    # a gold cable: its gold labels, which no silver filter touches
    entities, rules = (gold[1], []) if gold is not None else (None, _worker["rules"])
    extra = {}
    try:
        if options.raw_dir:
            raw = read_cable(Source(source.name, Path(options.raw_dir) / source.path.name), "raw")
            if isinstance(raw, Skipped):
                return {"skipped": {**raw.to_dict(), "reason": f"raw twin: {raw.reason}"}}
            entities, sentences, lost = project_onto_raw(record, raw, entities)
            doc, stats = record_to_doc(
                raw, vocab, rules, options.max_sentence_tokens,
                tokenizer=tokenizer, entities=entities, sentences=sentences,
            )  # fmt: skip
            stats.projected, stats.unprojected = len(entities), lost
        else:
            doc, stats = record_to_doc(
                record, vocab, rules, options.max_sentence_tokens, entities=entities
            )
    except Exception as err:  # a bug must not lose the file silently: report it with the file
        return {"skipped": Skipped(source.name, f"conversion failed: {err!r}").to_dict()}
    bins[split].add(doc)
    header = record.header.to_dict()
    extra["header_fields"] = [k for k in HEADER_FIELDS if header.get(k) not in (None, [], "")]
    if record.paragraphs:
        extra["header_fields"].append("paragraphs")
    return {
        "file": source.name,
        "reference_id": ref,
        "hash": digest,
        "split": split,
        "pinned": pinned,
        "gold": gold is not None,
        "encoding": record.encoding,
        "encoding_fallback": record.encoding_fallback,
        "stats": stats,
        **extra,
    }


def _chunks(sources: Iterator[Source], size: int) -> Iterator[tuple[int, list[Source]]]:
    index = 0
    while chunk := list(islice(sources, size)):
        yield index, chunk
        index += 1


def convert(
    inputs: Iterable[str | Path],
    output_dir: str | Path,
    options: ConvertOptions | None = None,
    n_process: int = 1,
    progress=None,
) -> dict:
    """Convert cables to `output_dir/{train,dev,test}.spacy/` shard folders and return the report.

    `progress` is called with the number of files done after each chunk (for a progress bar).
    """
    options = options or ConvertOptions()
    out = Path(output_dir)
    load_filters(options.filters)  # fail early on a bad filter file, before any work
    for split in SPLITS:
        target = out / f"{split}.spacy"
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        target.mkdir(parents=True)
    report = _Report(options)
    chunks = _chunks(iter(iter_sources(inputs)), options.chunk_size)
    if n_process > 1:
        with ProcessPoolExecutor(
            n_process, initializer=_init_worker, initargs=(options, str(out))
        ) as pool:
            for result in pool.map(_convert_chunk, chunks):
                report.add(result)
                if progress:
                    progress(len(result.rows))
    else:
        _init_worker(options, str(out))
        for chunk in chunks:
            result = _convert_chunk(chunk)
            report.add(result)
            if progress:
                progress(len(result.rows))
    summary = report.finish()
    (out / "report.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary


class _Report:
    def __init__(self, options: ConvertOptions):
        self.options = options
        self.read = 0
        self.skipped: list[dict] = []
        self.by_hash: dict[str, str] = {}
        self.duplicates: list[dict] = []
        self.per_split = {s: Counter() for s in SPLITS}
        self.totals = DocStats()
        self.coverage: Counter = Counter()
        self.pinned: list[str] = []
        self.gold: list[str] = []
        self.shards: Counter = Counter()
        self.encodings: Counter = Counter()  # converted files per encoding
        self.encoding_fallbacks: list[str] = []  # files read as cp1252: not valid UTF-8

    def add(self, result: _ChunkResult) -> None:
        for split, n in result.shards.items():
            self.shards[split] += 1
            self.per_split[split]["docs_written"] += n
        for row in result.rows:
            self.read += 1
            if "skipped" in row:
                self.skipped.append(row["skipped"])
                continue
            first = self.by_hash.setdefault(row["hash"], row["file"])
            if first != row["file"]:
                self.duplicates.append({"file": row["file"], "duplicate_of": first})
            if row["pinned"]:
                self.pinned.append(row["reference_id"] or row["file"])
            if row["gold"]:
                self.gold.append(row["reference_id"] or row["file"])
            self.encodings[row["encoding"]] += 1
            if row["encoding_fallback"]:
                self.encoding_fallbacks.append(row["file"])
            st: DocStats = row["stats"]
            split = self.per_split[row["split"]]
            split["cables"] += 1
            split["tokens"] += st.tokens
            split["entities"] += sum(st.entities.values())
            t = self.totals
            t.tokens += st.tokens
            t.sentences += st.sentences
            t.split_sentences += st.split_sentences
            t.projected += st.projected
            t.unprojected += st.unprojected
            for name in ("entities", "filtered", "header_masked", "misaligned"):
                getattr(t, name).update(getattr(st, name))
            self.coverage.update(row["header_fields"])

    def finish(self) -> dict:
        converted = sum(s["cables"] for s in self.per_split.values())
        if self.read != converted + len(self.skipped):  # every file is accounted for
            raise RuntimeError(
                f"accounting error: read {self.read} != converted {converted} + "
                f"skipped {len(self.skipped)}"
            )
        for split in SPLITS:
            if self.per_split[split]["docs_written"] != self.per_split[split]["cables"]:
                raise RuntimeError(f"accounting error: {split} docs written != cables")
        t = self.totals
        reasons = Counter(_reason_kind(s["reason"]) for s in self.skipped)
        return {
            "files_read": self.read,
            "converted": converted,
            "skipped": len(self.skipped),
            "skipped_by_reason": dict(reasons.most_common()),
            "skipped_files": self.skipped,
            "duplicates": self.duplicates,
            "encodings": dict(self.encodings.most_common()),
            "encoding_fallbacks": sorted(self.encoding_fallbacks),
            "pinned_to_test": sorted(self.pinned),
            "gold_labels": sorted(self.gold),
            "splits": {s: dict(self.per_split[s]) for s in SPLITS},
            "shards": dict(self.shards),
            "tokens": t.tokens,
            "sentences": t.sentences,
            "long_sentences_split": t.split_sentences,
            "entities": dict(sorted(t.entities.items())),
            "entities_total": sum(t.entities.values()),
            "filtered": dict(sorted(t.filtered.items())),
            "header_masked": dict(sorted(t.header_masked.items())),
            "misaligned": dict(sorted(t.misaligned.items())),
            "projection": (
                {"projected": t.projected, "not_projected": t.unprojected}
                if self.options.raw_dir
                else None
            ),
            "header_coverage": {
                k: round(self.coverage[k] / converted, 4) if converted else 0.0
                for k in (*HEADER_FIELDS, "paragraphs")
            },
            "options": {
                "split": list(self.options.split),
                "filters": self.options.filters or "default",
                "max_sentence_tokens": self.options.max_sentence_tokens,
                "raw_dir": self.options.raw_dir,
                "pins": len(self.options.pins),
                "gold": len(self.options.gold),
            },
        }


def _reason_kind(reason: str) -> str:
    return reason.split(":")[0].split(" at ")[0]
