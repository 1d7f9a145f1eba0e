"""Batch annotation: run a cable pipeline over many files and write JSONL, tagged files or DocBins.

    from cable_ner.annotate import annotate
    summary = annotate("training/trf/model-best", ["cables/"], "out.jsonl", fmt="jsonl")

The job streams: sources are listed lazily (`reader.iter_sources`), each file is read and decoded
only when the pipeline asks for it, and docs are written as they come back, so memory does not
grow with the corpus. Every file given ends up in exactly one of the summary's counts:

- `annotated`: written to the output;
- `resumed`: already in the output from an earlier run (`resume=True`), not redone;
- `failed`: unreadable, binary, invalid UTF-8, empty, longer than `nlp.max_length`, a pipeline
  error in its batch, or a doc the tagged format cannot hold; one line each, with the reason, in
  the failures file. A failure never stops the run, and a failed file is retried on the next run.

Inputs the cable reader rejects but can still read as text (a scraper stub, unbalanced brackets)
are annotated as plain text; their records carry the reason in `skipped` (counted as
`read_as_text`).

Outputs (`fmt`: jsonl, tagged, docbin) and resume: `cable_ner.writers`, one writer per format.
`quantize="int8"` runs the transformer with int8 weights (`cable_ner.quantize`), faster on CPU.

The loaded pipeline is completed if needed (`prepare_pipeline`): a plain spaCy tokenizer is wrapped
in the cable reader, `cable_metadata` is added last, and a transformer pipeline gets a
`doc_cleaner` so the transformer's output is not shipped between processes; every pipeline gets
`release_memory`, which hands freed heap back to the OS every batch (glibc keeps it otherwise,
and a transformer worker grows with every cable; see `components.ReleaseMemory`). Thinc's CPU
matrix products go through numpy's BLAS instead of blis (`cable_ner.blas`): a CNN pipeline runs
about twice as fast.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from . import components  # noqa: F401  (registers cable_metadata and release_memory)
from .blas import use_numpy_blas
from .quantize import quantize_pipeline
from .reader import Skipped, Source, iter_sources, read_source
from .tokenizer import CableReader
from .writers import Writer, encode, open_writer

Item = tuple[str, dict]  # (text, context); the context's "source" names the file


# --------------------------------------------------------------------------- the pipeline


def load_pipeline(model: str | Path, n_process: int = 1, quantize: str | None = None) -> Language:
    """Load `model`, complete it for batch annotation and quantize its transformer (`quantize`:
    None or "int8", `cable_ner.quantize`)."""
    import spacy

    return quantize_pipeline(prepare_pipeline(spacy.load(model), n_process=n_process), quantize)


def prepare_pipeline(nlp: Language, n_process: int = 1, batch_size: int = 16) -> Language:
    """Give `nlp` what batch annotation needs (idempotent).

    - a cable reader in the tokenizer slot (wrapping the pipeline's own tokenizer) if it has none;
    - `cable_metadata` last if missing (it names each doc from the context's "source");
    - `doc_cleaner` after everything if the pipeline has a transformer: `trf_data` and `tensor`
      are large and nothing downstream reads them (docs cross processes as bytes with n_process>1);
    - `release_memory` last (see `components.ReleaseMemory`), every `batch_size` docs;
    - numpy's BLAS for thinc's matrix products (`blas.use_numpy_blas`).
    """
    if not isinstance(nlp.tokenizer, CableReader):
        nlp.tokenizer = CableReader(nlp.vocab, nlp.tokenizer)
    if "cable_metadata" not in nlp.pipe_names:
        nlp.add_pipe("cable_metadata", last=True)
    has_trf = any(type(pipe).__name__ == "Transformer" for _, pipe in nlp.pipeline)
    if has_trf and "doc_cleaner" not in nlp.pipe_names:
        nlp.add_pipe(
            "doc_cleaner", last=True, config={"attrs": {"tensor": None, "_.trf_data": None}}
        )
    if "release_memory" in nlp.pipe_names:
        nlp.remove_pipe("release_memory")  # stays last, whatever was added since
    nlp.add_pipe("release_memory", last=True, config={"every": batch_size})
    return use_numpy_blas(nlp)


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
    stopping the run. With n_process > 1 each worker runs one thread (`one_thread_per_worker`).
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

    with one_thread_per_worker(n_process):
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


@contextmanager
def one_thread_per_worker(n_process: int) -> Iterator[None]:
    """With n_process > 1, torch and the BLAS libraries (numpy's OpenBLAS, which thinc's matrix
    products call, `cable_ner.blas`) run one thread in this process while spaCy forks its
    workers, which inherit it, so the workers do not contend for the cores; restored after."""
    if n_process <= 1:
        yield
        return
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if hasattr(torch, "set_num_threads") else None
    if before is not None:
        torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        if before is not None:
            torch.set_num_threads(before)


# --------------------------------------------------------------------------- accounting


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


def reason_kind(reason: str) -> str:
    """A failure reason without its particulars (byte offsets, lines, sizes), for counting."""
    return re.split(r" \(| at |: ", reason, maxsplit=1)[0]


@dataclass
class Outcome:
    """What became of one source: a payload for the writer, or the reason it failed."""

    source: str
    ref: str | None = None
    payload: str | bytes | None = None
    read_as_text: bool = False
    error: str | None = None


class Tally:
    """Where each source of a job ends: in the output or the failures file, counted in the
    summary, one tick of `progress`. Both engines (local, Ray) record through it."""

    def __init__(
        self, writer: Writer, summary: Summary, progress: Callable[[int], Any] | None = None
    ) -> None:
        self.writer, self.summary, self.progress = writer, summary, progress

    def record(self, outcome: Outcome) -> None:
        if outcome.error:
            self.fail(outcome.source, outcome.error)
            return
        self.writer.write(outcome.source, outcome.ref, outcome.payload)  # type: ignore[arg-type]
        self.summary.annotated += 1
        self.summary.read_as_text += int(outcome.read_as_text)
        self.tick()

    def fail(self, source: str, reason: str) -> None:
        kind = reason_kind(reason)
        self.summary.failed += 1
        self.summary.failures_by_reason[kind] = self.summary.failures_by_reason.get(kind, 0) + 1
        self.writer.fail(source, reason)
        self.tick()

    def tick(self, n: int = 1) -> None:
        if self.progress:
            self.progress(n)


# --------------------------------------------------------------------------- inputs


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


def encoded(
    nlp: Language, items: Iterable[Item], fmt: str, n_process: int = 1, batch_size: int = 16
) -> Iterator[Outcome]:
    """`annotate_docs`, each doc encoded for the writer of `fmt` where it is (a pipeline error
    or a doc the format cannot hold is a failed outcome)."""
    for context, doc, error in annotate_docs(nlp, items, n_process, batch_size):
        source = context["source"]
        if doc is None:
            yield Outcome(source, error=error or "pipeline error")
            continue
        try:
            ref, payload = encode(doc, fmt)
        except ValueError as err:
            yield Outcome(source, error=f"cannot write {fmt}: {err}")
            continue
        yield Outcome(source, ref, payload, read_as_text=bool(doc._.cable.skipped))


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
    quantize: str | None = None,
) -> dict:
    """Annotate every cable in `inputs` with `model` into `output`; return the summary.

    `progress` is called with 1 for each file accounted for (annotated, resumed or failed).
    `quantize` ("int8") quantizes the transformer first (`cable_ner.quantize`); each record
    says so.
    """
    nlp = model if isinstance(model, Language) else load_pipeline(model, n_process)
    prepare_pipeline(nlp, n_process, batch_size)
    quantize_pipeline(nlp, quantize)
    summary = Summary()
    start = time.perf_counter()
    with open_writer(output, fmt, resume=resume, shard_size=shard_size) as writer:
        tally = Tally(writer, summary, progress)
        sources = _count_resumed(iter_sources(inputs), summary, tally)
        items = iter_items(sources, writer.done, tally.fail, summary, nlp.max_length)
        for outcome in encoded(nlp, items, fmt, n_process, batch_size):
            tally.record(outcome)
    summary.seconds = time.perf_counter() - start
    return summary.to_dict()


def _count_resumed(sources: Iterable[Source], summary: Summary, tally: Tally) -> Iterator[Source]:
    """Pass sources through, ticking the progress bar for the ones resume will skip."""
    resumed = summary.resumed
    for source in sources:
        yield source
        if summary.resumed > resumed:
            tally.tick(summary.resumed - resumed)
        resumed = summary.resumed
