"""Tagged cables → spaCy DocBins: deterministic splits, header masking, filters, a full report.

Work is done in chunks of files. A chunk is read, parsed and turned into Docs by one worker, which
writes one DocBin shard per split (`corpus/train.spacy/00012.spacy`); the main process keeps
only the report, so memory stays flat however large the corpus is, and the shard layout is the
same whatever `n_process` is. spaCy's `Corpus` reads a folder of shards as one corpus.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from pathlib import Path

import numpy
from spacy.attrs import IS_SPACE, SENT_START
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from .cable import PARAGRAPHS_GROUP, header_span, paragraph_spans, store_record
from .filters import FilterRule, load_filters, match_filter
from .reader import CableRecord, Skipped, Source, iter_sources, read_cable

SPLITS = ("train", "dev", "test")
DEFAULT_SPLIT = (0.8, 0.1, 0.1)
MAX_SENTENCE_TOKENS = 128  # the transformer sees 128-wordpiece windows; see configs/trf.cfg
_SPLIT_AFTER = frozenset({";", ",", ":", "--", "-", ")", "."})
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


@dataclass
class DocStats:
    """What converting one cable produced; summed into the report."""

    tokens: int = 0
    sentences: int = 0
    split_sentences: int = 0
    entities: Counter = field(default_factory=Counter)
    filtered: Counter = field(default_factory=Counter)  # "rule/LABEL"
    header_masked: Counter = field(default_factory=Counter)
    misaligned: Counter = field(default_factory=Counter)
    projected: int = 0
    unprojected: int = 0


def assign_split(hash_hex: str, split: tuple[float, float, float]) -> str:
    """The split of a cable, from its text hash: stable across runs, machines and file order."""
    x = int(hash_hex[:12], 16) / float(16**12)
    if x < split[0]:
        return "train"
    return "dev" if x < split[0] + split[1] else "test"


def whitespace_words(text: str) -> tuple[list[str], list[bool]]:
    """Tokens of a text whose tokens are separated by spaces (the tagged form), spaCy-style:
    one trailing space is the token's `whitespace_`, other whitespace becomes its own token."""
    words: list[str] = []
    spaces: list[bool] = []
    pos = 0
    for m in re.finditer(r"\S+|\Z", text):  # the empty match at the end flushes the tail
        gap = text[pos : m.start()]
        if words and gap.startswith(" "):
            spaces[-1] = True
            gap = gap[1:]
        if gap:
            words.append(gap)
            spaces.append(False)
        if m.group():
            words.append(m.group())
            spaces.append(False)
        pos = m.end()
    return words, spaces


def _sentence_starts(
    doc: Doc, sentences: list[tuple[int, int]], ent_tokens: set[int], limit: int
) -> tuple[list[bool], int]:
    """Sentence starts from character spans, with sentences over `limit` tokens split at the best
    boundary not inside an entity (after punctuation where possible)."""
    starts = [False] * len(doc)
    n_split = 0
    spans = []
    for s, e in sentences:
        span = doc.char_span(s, e, alignment_mode="expand")
        if span is not None and len(span):
            spans.append((span.start, span.end))
    for a, b in spans:
        starts[a] = True
        i = a
        while b - i > limit:
            cut = _best_cut(doc, i, min(i + limit, b), ent_tokens)
            starts[cut] = True
            n_split += 1
            i = cut
    if len(doc):
        starts[0] = True
    return starts, n_split


def _best_cut(doc: Doc, lo: int, hi: int, ent_tokens: set[int]) -> int:
    """A token index in (lo, hi] to start a new sentence at; never inside an entity."""
    floor = lo + max(1, (hi - lo) // 2)
    fallback = None
    for j in range(hi, floor - 1, -1):
        if j in ent_tokens or doc[j].is_space:
            continue  # j continues an entity, or is whitespace
        if doc[j - 1].text in _SPLIT_AFTER:
            return j
        if fallback is None:
            fallback = j
    if fallback is not None:
        return fallback
    j = hi
    while j > lo + 1 and j in ent_tokens:
        j -= 1
    return j


def record_to_doc(
    record: CableRecord,
    vocab: Vocab,
    rules: list[FilterRule],
    max_sentence_tokens: int = MAX_SENTENCE_TOKENS,
    tokenizer=None,
    entities: list[tuple[int, int, str]] | None = None,
    sentences: list[tuple[int, int]] | None = None,
    mask_header: bool = True,
) -> tuple[Doc, DocStats]:
    """Build the reference Doc of a cable: tokens, sentence starts, entities (header tokens missing,
    filtered entities O) and the metadata in user_data (`cable.store_record`).

    The tagged form is tokenized on its spaces (the tagger's tokens); other text needs `tokenizer`.
    `entities`/`sentences` override the record's own (used by raw-text projection);
    `mask_header=False` keeps the header's entities (to re-write a cable whole).
    """
    stats = DocStats()
    text = record.text
    if tokenizer is None:
        words, spaces = whitespace_words(text)
        doc = Doc(vocab, words=words, spaces=spaces)
    else:
        doc = tokenizer(text)
    header_end = record.header.header_end if mask_header else 0
    entities = record.entities if entities is None else entities
    spans = []
    for start, end, label in entities:
        if start < header_end:
            stats.header_masked[label] += 1
            continue
        rule = match_filter(rules, text[start:end], label)
        if rule is not None:
            stats.filtered[f"{rule}/{label}"] += 1
            continue
        span = doc.char_span(start, end, label=label, alignment_mode="strict")
        if span is None:
            stats.misaligned[label] += 1
            continue
        spans.append(span)
        stats.entities[label] += 1
    header = header_span(doc, header_end, label="")
    doc.set_ents(spans, missing=[header] if header is not None else [], default="outside")
    sentences = record.sentences if sentences is None else sentences
    if sentences is not None:
        in_ent = {i for span in spans for i in range(span.start + 1, span.end)}
        starts, stats.split_sentences = _sentence_starts(
            doc, sentences, in_ent, max_sentence_tokens
        )
        # one array write: setting token.is_sent_start one by one is quadratic in spaCy
        values = numpy.array([1 if x else -1 for x in starts], dtype="int32").astype("uint64")
        doc.from_array([SENT_START], values)
        stats.sentences = sum(starts)
    if record.paragraphs:
        doc.spans[PARAGRAPHS_GROUP] = paragraph_spans(doc, record.paragraphs)
    store_record(doc, record)
    stats.tokens = len(doc) - int(doc.to_array([IS_SPACE]).sum())
    return doc, stats


# --- projection of silver entities onto the natural text of the raw twin -----------------------


def project_spans(
    src_text: str, dst_text: str, spans: Iterable[tuple[int, int]]
) -> list[tuple[int, int] | None]:
    """Map character spans of `src_text` onto `dst_text`, which holds the same characters apart
    from whitespace. A span whose characters are not all found in order maps to None."""
    src_idx = [i for i, c in enumerate(src_text) if not c.isspace()]
    dst_idx = [i for i, c in enumerate(dst_text) if not c.isspace()]
    src_chars = "".join(src_text[i] for i in src_idx)
    dst_chars = "".join(dst_text[i] for i in dst_idx)
    # rank of each non-space source char -> rank in destination (identical strings: identity)
    if src_chars == dst_chars:
        rank_map = None
    else:
        from difflib import SequenceMatcher

        rank_map = {}
        matcher = SequenceMatcher(None, src_chars, dst_chars, autojunk=False)
        for a, b, n in matcher.get_matching_blocks():
            for k in range(n):
                rank_map[a + k] = b + k
    from bisect import bisect_left

    out: list[tuple[int, int] | None] = []
    for start, end in spans:
        r0 = bisect_left(src_idx, start)
        r1 = bisect_left(src_idx, end) - 1
        if r0 > r1:
            out.append(None)
            continue
        if rank_map is None:
            d0, d1 = r0, r1
        else:
            d0, d1 = rank_map.get(r0), rank_map.get(r1)
            if d0 is None or d1 is None or d1 - d0 != r1 - r0:
                out.append(None)
                continue
        out.append((dst_idx[d0], dst_idx[d1] + 1))
    return out


def project_onto_raw(
    tagged: CableRecord, raw: CableRecord, entities: list[tuple[int, int, str]] | None = None
) -> tuple[list[tuple[int, int, str]], list[tuple[int, int]], int]:
    """Entities (default: the silver ones) and sentences of a tagged cable, moved onto its raw
    twin's text."""
    ents = tagged.entities if entities is None else entities
    projected = project_spans(tagged.text, raw.text, [(s, e) for s, e, _ in ents])
    entities = [(p[0], p[1], e[2]) for p, e in zip(projected, ents, strict=True) if p is not None]
    sents = [p for p in project_spans(tagged.text, raw.text, tagged.sentences or []) if p]
    return entities, sents, len(ents) - len(entities)


# --- the conversion job ------------------------------------------------------------------------


@dataclass
class _ChunkResult:
    index: int
    rows: list[dict]  # one per file: converted (split, hash, stats...) or skipped
    shards: dict[str, int]  # split -> docs written


_worker: dict = {}


@lru_cache(maxsize=1)
def _english_rules() -> dict:
    """spaCy's English tokenizer settings, compiled once per process."""
    from spacy.lang.en import English
    from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex

    d = English.Defaults
    return {
        "rules": d.tokenizer_exceptions,
        "prefix_search": compile_prefix_regex(d.prefixes).search,
        "suffix_search": compile_suffix_regex(d.suffixes).search,
        "infix_finditer": compile_infix_regex(d.infixes).finditer,
        "token_match": d.token_match,
        "url_match": d.url_match,
    }


def english_tokenizer(vocab: Vocab) -> Tokenizer:
    """The tokenizer of `spacy.blank("en")`, without building a Language (which would load every
    installed spaCy plugin, torch included, through their entry points)."""
    return Tokenizer(vocab, **_english_rules())


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
