"""The `release_memory` pipeline component: factory, class and default together.

The annotate job adds it last to every pipeline it runs (`annotate.prepare_pipeline`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

from spacy.language import Language
from spacy.tokens import Doc


class ReleaseMemory:
    """Pipeline component: every `every` docs, return the heap's free memory to the OS.

    A long annotate run frees as much as it allocates, but glibc's malloc keeps freed memory
    mapped when it is fragmented between live blocks (the transformer's activations differ in
    size with every batch). Measured with the transformer pipeline, n_process 2, over the first
    400 shared raw cables (`benchmarks/benchmark_memory.py`): the workers' own memory (USS) grows
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
