"""Batch annotation: run a cable pipeline over many files and write JSONL, tagged files or DocBins.

    from cable_ner.annotate import annotate
    summary = annotate("training/trf/model-best", ["cables/"], "out.jsonl", fmt="jsonl")

The job streams: sources are listed lazily (`reader.iter_sources`), each file is read and decoded
only when the pipeline asks for it, and docs are written as they come back, so memory does not
grow with the corpus. Every file given ends up in exactly one of the summary's counts:

- `annotated`: written to the output;
- `resumed`: already in the output from an earlier run (`resume=True`), not redone;
- `failed`: unreadable, binary, undecodable (neither UTF-8 nor cp1252), empty, longer than
  `nlp.max_length`, a pipeline error in its batch, or a doc the tagged format cannot hold; one line
  each, with the reason, in the failures file. A failure never stops the run, and a failed file is
  retried on the next run.

Files are decoded by `reader.decode`: as their byte-order mark says (UTF-8, UTF-16, UTF-32), else
as UTF-8, with the bytes that are not valid UTF-8 read as cp1252. Each record says which
(`encoding`, and `encoding_fallback` for cp1252).

Inputs the cable reader rejects but can still read as text (a scraper stub, unbalanced brackets)
are annotated as plain text; their records carry the reason in `skipped` (counted as
`read_as_text`).

Outputs (`fmt`):
- `jsonl`: one line per cable: `doc._.cable.to_dict()` (header fields, paragraphs, source, form,
  encoding, encoding_fallback, text_hash, skipped, label_counts) with `entities` as a flat list
  of `start`, `end` (character offsets into the decoded input file, BOM removed:
  `ent._.source_span`), `label`, `text`, `paragraph`, `portion`, `clean_start`, `clean_end`
  (offsets into the doc's text). OUTPUT is a `.jsonl` file (failures in
  `OUTPUT.failures.jsonl`) or a folder (`annotations.jsonl` in it). Resume reads the `source` of
  each line; a truncated last line is cut off and redone.
- `tagged`: `OUTPUT/<id>.txt` in the tagged format (`markup.write_tagged`; sentences from the
  pipeline's senter, one line when it sets none), ready for `scripts/convert.py`. `<id>` is the
  reference id (or the file stem) reduced to `[A-Za-z0-9_.-]`; a clash gets `__2`, `__3`.
- `docbin`: `OUTPUT/annotated-NNNNN.spacy` shards of `shard_size` docs (user_data kept).
For `tagged` and `docbin`, `OUTPUT/manifest.jsonl` lists each done source and its file, written
after the file: resume reads it (a tagged file that has since been deleted is redone).

The loaded pipeline is completed if needed (`prepare_pipeline`): a plain spaCy tokenizer is wrapped
in the cable reader, `cable_metadata` is added last, and a transformer pipeline gets a
`doc_cleaner` so the transformer's output is not shipped between processes; every pipeline gets
`release_memory`, which hands freed heap back to the OS every batch (glibc keeps it otherwise,
and a transformer worker grows with every cable; see `ReleaseMemory`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import json
import os
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, DocBin

from . import component as _component  # noqa: F401  (registers cable_metadata)
from .cable import skip_reason
from .markup import write_tagged
from .reader import Skipped, Source, file_stem, iter_sources, read_source
from .tokenizer import CableReader

FORMATS = ("jsonl", "tagged", "docbin")
JSONL_NAME = "annotations.jsonl"
MANIFEST_NAME = "manifest.jsonl"
FAILURES_NAME = "failures.jsonl"
REQUIRED_KEYS = ("source", "reference_id", "classification", "tags", "subject", "entities")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
MAX_NAME = 150

Item = tuple[str, dict]  # (text, context); the context's "source" names the file


# --------------------------------------------------------------------------- the pipeline


def load_pipeline(model: str | Path, n_process: int = 1) -> Language:
    import spacy

    return prepare_pipeline(spacy.load(model), n_process=n_process)


def prepare_pipeline(nlp: Language, n_process: int = 1, batch_size: int = 16) -> Language:
    """Give `nlp` what batch annotation needs (idempotent).

    - a cable reader in the tokenizer slot (wrapping the pipeline's own tokenizer) if it has none;
    - `cable_metadata` last if missing (it names each doc from the context's "source");
    - `doc_cleaner` after everything if the pipeline has a transformer: `trf_data` and `tensor`
      are large and nothing downstream reads them (docs cross processes as bytes with n_process>1);
    - `release_memory` last (see `ReleaseMemory`), every `batch_size` docs.
    """
    if not isinstance(nlp.tokenizer, CableReader):
        nlp.tokenizer = CableReader(nlp.vocab, nlp.tokenizer)
    if "cable_metadata" not in nlp.pipe_names:
        nlp.add_pipe("cable_metadata", last=True)
    has_trf = any(
        getattr(pipe, "__class__", type(None)).__name__ == "Transformer" for _, pipe in nlp.pipeline
    )
    if has_trf and "doc_cleaner" not in nlp.pipe_names:
        nlp.add_pipe(
            "doc_cleaner", last=True, config={"attrs": {"tensor": None, "_.trf_data": None}}
        )
    if "release_memory" in nlp.pipe_names:
        nlp.remove_pipe("release_memory")  # stays last, whatever was added since
    nlp.add_pipe("release_memory", last=True, config={"every": batch_size})
    return nlp


class ReleaseMemory:
    """Pipeline component: every `every` docs, return the heap's free memory to the OS.

    A long annotate run frees as much as it allocates, but glibc's malloc keeps freed memory
    mapped when it is fragmented between live blocks (the transformer's activations differ in
    size with every batch). Measured with the transformer pipeline, n_process 2, over the first
    400 shared raw cables (`scripts/benchmark_memory.py`): the workers' own memory (USS) grows
    with every cable without it (mean 448, 732, 960, 1,124 MiB per 100 cables) and levels off
    with it (363, 565, 650, 570 MiB).
    A no-op where the C library has no `malloc_trim` (macOS, musl).
    """

    def __init__(self, every: int = 16) -> None:
        if every < 1:
            raise ValueError(f"release_memory: every must be >= 1, not {every}")
        self.every = every
        self.seen = 0

    def __call__(self, doc: Doc) -> Doc:
        self.seen += 1
        if self.seen % self.every == 0:
            trim = _malloc_trim()
            if trim is not None:
                trim(0)
        return doc


@functools.cache
def _malloc_trim():
    """glibc's `malloc_trim` or None, looked up once per process (a ctypes function cannot be
    pickled, so components keep none)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


@Language.factory("release_memory", default_config={"every": 16})
def make_release_memory(nlp: Language, name: str, every: int) -> ReleaseMemory:
    return ReleaseMemory(every)


class _ErrorLog:
    """spaCy error handler: a failed batch is recorded, not raised, in the main process.

    In a `n_process` worker it re-raises, so spaCy sends the traceback to the main process
    (E871), where it is recorded; the docs of that batch are then missing and `annotate_docs`
    reports each of them with the last error.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.last: str | None = None

    def __call__(self, name, proc, docs, error) -> None:
        if os.getpid() != self.pid:
            raise error
        self.last = f"{name or 'pipeline'}: {type(error).__name__}: {str(error)[-500:]}"


def annotate_docs(
    nlp: Language, items: Iterable[Item], n_process: int = 1, batch_size: int = 16
) -> Iterator[tuple[dict, Doc | None, str | None]]:
    """Run `nlp` over (text, context) items; yield (context, doc, None) or (context, None, reason).

    Order is kept. A batch that fails in a component yields its items with the error instead of
    stopping the run. With n_process > 1 torch runs one thread per worker (set in this process
    before spaCy forks the workers, and restored after).
    """
    log = _ErrorLog()
    nlp.default_error_handler = log  # errors sent back by n_process workers (E871)
    for _, pipe in nlp.pipeline:
        try:
            pipe.set_error_handler(log)
        except AttributeError:  # spaCy's Cython parsers (ner) cannot take one: see below
            pass
    pending: deque[dict] = deque()
    source = iter(items)

    def feed() -> Iterator[Item]:
        for text, context in source:
            pending.append(context)
            yield text, context

    threads = _single_torch_thread() if n_process > 1 else None
    try:
        while True:
            stream = nlp.pipe(feed(), as_tuples=True, n_process=n_process, batch_size=batch_size)
            try:
                for doc, context in stream:
                    # items before this one that never came back were in a failed batch
                    while pending and pending[0] is not context and pending[0] != context:
                        yield pending.popleft(), None, log.last or "pipeline error"
                    if pending:
                        pending.popleft()
                    yield context, doc, None
                break
            except Exception as err:  # an error no handler took: fail what is in flight
                if not pending:
                    raise
                reason = f"{type(err).__name__}: {str(err)[-500:]}"
                while pending:
                    yield pending.popleft(), None, reason
                # and go on with a fresh nlp.pipe over the items not yet read
        while pending:
            yield pending.popleft(), None, log.last or "pipeline error"
    finally:
        if threads is not None:
            import torch

            torch.set_num_threads(threads)


def _single_torch_thread() -> int | None:
    torch = sys.modules.get("torch")
    if torch is None or not hasattr(torch, "set_num_threads"):
        return None
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # inherited by the forked workers
    return before


# --------------------------------------------------------------------------- inputs


@dataclass
class Summary:
    read: int = 0
    annotated: int = 0
    resumed: int = 0
    failed: int = 0
    read_as_text: int = 0
    seconds: float = 0.0
    failures_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def cables_per_s(self) -> float:
        return self.annotated / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "cables_per_s": round(self.cables_per_s, 3)}


def iter_items(
    sources: Iterable[Source],
    done: set[str] | frozenset[str],
    fail: Callable[[str, str], None],
    summary: Summary,
    max_length: int,
) -> Iterator[Item]:
    """Read and decode each source not yet done; report the ones that cannot be annotated."""
    for source in sources:
        summary.read += 1
        if source.name in done:
            summary.resumed += 1
            continue
        decoded = read_source(source)
        if isinstance(decoded, Skipped):
            where = f" (line {decoded.line})" if decoded.line else ""
            fail(source.name, decoded.reason + where)
            continue
        text = decoded.text
        if len(text) > max_length:
            fail(source.name, f"longer than nlp.max_length ({len(text):,} > {max_length:,})")
            continue
        yield text, {
            "source": source.name,
            "encoding": decoded.encoding,
            "encoding_fallback": decoded.fallback,
        }


# --------------------------------------------------------------------------- encoding a doc


def jsonl_record(doc: Doc) -> dict:
    """The JSON line of one annotated cable (see the module docstring)."""
    cable = doc._.cable
    rec = cable.to_dict()
    rec.pop("entities", None)
    entities = [
        {
            "start": e["source_start"], "end": e["source_end"], "label": e["label"],
            "text": e["text"], "paragraph": e["paragraph"], "portion": e["portion"],
            "clean_start": e["start"], "clean_end": e["end"],
        }
        for e in cable.entities
    ]  # fmt: skip
    head = {k: rec.pop(k, None) for k in REQUIRED_KEYS if k != "entities"}
    return {**head, **rec, "entities": entities}


def encode(doc: Doc, fmt: str) -> tuple[str | None, str | bytes]:
    """(reference id, payload) of a doc for a writer; runs where the doc is (worker, actor)."""
    ref = doc._.cable.reference_id
    if fmt == "jsonl":
        return ref, json.dumps(jsonl_record(doc), ensure_ascii=False)
    if fmt == "tagged":
        return ref, write_tagged(doc) + "\n"
    if fmt == "docbin":
        return ref, doc.to_bytes()
    raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")


# --------------------------------------------------------------------------- safe file names


def safe_name(name: str | None, fallback: str = "cable") -> str:
    """A file name made of [A-Za-z0-9_.-] only, no leading dot, at most MAX_NAME characters."""
    clean = _UNSAFE.sub("_", name or "").lstrip("._")[:MAX_NAME].rstrip("_")
    if not clean.strip("."):
        clean = _UNSAFE.sub("_", fallback).lstrip("._")[:MAX_NAME] or "cable"
    return clean


def inside(folder: Path, name: str) -> Path:
    """`folder/name`, refusing any result that resolves outside `folder`."""
    root = folder.resolve()
    path = (root / name).resolve()
    if path.parent != root:
        raise ValueError(f"refusing to write outside {root}: {name!r}")
    return path


# --------------------------------------------------------------------------- writers


class Writer:
    """Output of one format, with resume and failures. Use as a context manager."""

    def __init__(self, output: str | Path, fmt: str, resume: bool = True, shard_size: int = 256):
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
        self.fmt = fmt
        self.resume = resume
        self.shard_size = shard_size
        output = Path(output)
        if fmt == "jsonl" and output.suffix == ".jsonl":
            self.folder = output.parent
            self.jsonl_path = output
            self.failures_path = output.with_name(output.name[: -len(".jsonl")] + ".failures.jsonl")
        else:
            self.folder = output
            self.jsonl_path = output / JSONL_NAME
            self.failures_path = output / FAILURES_NAME
        self.folder.mkdir(parents=True, exist_ok=True)
        self.manifest_path = self.folder / MANIFEST_NAME
        self.done: set[str] = set()
        self._names: set[str] = set()
        self._open()

    # -- set-up and resume
    def _open(self) -> None:
        if self.fmt == "jsonl":
            if self.resume:
                self.done = _read_jsonl_sources(self.jsonl_path, truncate_bad_tail=True)
            self._out = open(self.jsonl_path, "a" if self.resume else "w", encoding="utf-8")
        else:
            if self.resume:
                for row in _read_manifest(self.manifest_path):
                    path = self.folder / row["file"]
                    if self.fmt == "tagged" and not path.is_file():
                        continue
                    self.done.add(row["source"])
                    self._names.add(row["file"])
            else:
                self.manifest_path.unlink(missing_ok=True)
                if self.fmt == "docbin":
                    for old in self.folder.glob("annotated-*.spacy"):
                        old.unlink()
            self._manifest = open(self.manifest_path, "a", encoding="utf-8")
            self._shard: list[tuple[str, bytes]] = []
            self._shard_index = 1 + max(
                (int(p.stem.split("-")[1]) for p in self.folder.glob("annotated-*.spacy")
                 if p.stem.split("-")[1].isdigit()), default=-1,
            )  # fmt: skip
        self._failures = open(self.failures_path, "w", encoding="utf-8")

    # -- writing
    def write(self, source: str, ref: str | None, payload: str | bytes) -> None:
        if self.fmt == "jsonl":
            self._out.write(payload + "\n")  # type: ignore[operator]
            self._out.flush()
        elif self.fmt == "tagged":
            name = self._unique(safe_name(ref or file_stem(source)) + ".txt")
            path = inside(self.folder, name)
            tmp = path.with_name(path.name + ".part")
            tmp.write_text(payload, encoding="utf-8")  # type: ignore[arg-type]
            tmp.replace(path)
            self._log(source, name, ref)
        else:
            self._shard.append((source, payload))  # type: ignore[arg-type]
            if len(self._shard) >= self.shard_size:
                self._flush_shard()

    def fail(self, source: str, reason: str) -> None:
        self._failures.write(json.dumps({"file": source, "reason": reason}) + "\n")
        self._failures.flush()

    def _unique(self, name: str) -> str:
        base, ext = name[: -len(".txt")], ".txt"
        n, candidate = 1, name
        while candidate in self._names:
            n += 1
            candidate = f"{base}__{n}{ext}"
        self._names.add(candidate)
        return candidate

    def _log(self, source: str, name: str, ref: str | None) -> None:
        self._manifest.write(
            json.dumps({"source": source, "file": name, "reference_id": ref}) + "\n"
        )
        self._manifest.flush()

    def _flush_shard(self) -> None:
        if not self._shard:
            return
        from spacy.vocab import Vocab

        vocab = Vocab()
        bin_ = DocBin(store_user_data=True)
        for _, data in self._shard:
            bin_.add(Doc(vocab).from_bytes(data))
        name = f"annotated-{self._shard_index:05d}.spacy"
        path = inside(self.folder, name)
        tmp = path.with_name(path.name + ".part")
        bin_.to_disk(tmp)
        tmp.replace(path)
        for source, _ in self._shard:
            self._log(source, name, None)
        self._shard = []
        self._shard_index += 1

    def close(self) -> None:
        if self.fmt == "jsonl":
            self._out.close()
        else:
            if self.fmt == "docbin":
                self._flush_shard()
            self._manifest.close()
        self._failures.close()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _read_jsonl_sources(path: Path, truncate_bad_tail: bool = False) -> set[str]:
    """The `source` of each complete line; a broken last line is cut off (and so redone)."""
    done: set[str] = set()
    if not path.is_file():
        return done
    good_end = 0
    bad_tail = False
    with open(path, "rb") as fh:
        pos = 0
        for raw in fh:
            end = pos + len(raw)
            try:
                row = json.loads(raw)
                ok = raw.endswith(b"\n") and isinstance(row, dict) and row.get("source")
            except ValueError:
                ok = False
            if ok:
                done.add(row["source"])
                good_end, bad_tail = end, False
            else:
                bad_tail = True
            pos = end
    if bad_tail and truncate_bad_tail:
        with open(path, "r+b") as fh:
            fh.truncate(good_end)
    return done


def _read_manifest(path: Path) -> Iterator[dict]:
    if not path.is_file():
        return
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash: its file is redone
            if isinstance(row, dict) and row.get("source") and row.get("file"):
                yield row


# --------------------------------------------------------------------------- the job


def annotate(
    model: str | Path | Language,
    inputs: Iterable[str | Path],
    output: str | Path,
    fmt: str = "jsonl",
    n_process: int = 1,
    batch_size: int = 16,
    resume: bool = True,
    shard_size: int = 256,
    progress: Callable[[int], Any] | None = None,
) -> dict:
    """Annotate every cable in `inputs` with `model` into `output`; return the summary.

    `progress` is called with 1 for each file accounted for (annotated, resumed or failed).
    """
    nlp = model if isinstance(model, Language) else load_pipeline(model, n_process)
    prepare_pipeline(nlp, n_process, batch_size)
    summary = Summary()
    start = time.perf_counter()
    with Writer(output, fmt, resume=resume, shard_size=shard_size) as writer:

        def fail(source: str, reason: str) -> None:
            summary.failed += 1
            kind = _reason_kind(reason)
            summary.failures_by_reason[kind] = summary.failures_by_reason.get(kind, 0) + 1
            writer.fail(source, reason)
            if progress:
                progress(1)

        sources = iter_sources(inputs)
        counting = _count_resumed(sources, summary, progress)
        items = iter_items(counting, writer.done, fail, summary, nlp.max_length)
        for context, doc, error in annotate_docs(nlp, items, n_process, batch_size):
            source = context["source"]
            if doc is None:
                fail(source, error or "pipeline error")
                continue
            try:
                ref, payload = encode(doc, fmt)
            except ValueError as err:
                fail(source, f"cannot write {fmt}: {err}")
                continue
            writer.write(source, ref, payload)
            summary.annotated += 1
            if skip_reason(doc):
                summary.read_as_text += 1
            if progress:
                progress(1)
    summary.seconds = time.perf_counter() - start
    return summary.to_dict()


def _count_resumed(
    sources: Iterable[Source], summary: Summary, progress: Callable[[int], Any] | None
) -> Iterator[Source]:
    """Pass sources through, ticking the progress bar for the ones resume will skip."""
    resumed = summary.resumed
    for source in sources:
        yield source
        if progress and summary.resumed > resumed:
            progress(summary.resumed - resumed)
        resumed = summary.resumed


def _reason_kind(reason: str) -> str:
    """A failure reason without its particulars (byte offsets, lines, sizes), for counting."""
    return re.split(r" \(| at |: ", reason, maxsplit=1)[0]
