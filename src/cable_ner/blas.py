"""Thinc's CPU matrix products through numpy's BLAS instead of blis.

Thinc's `NumpyOps` multiplies matrices with blis, on one thread; with `use_blis=False` it calls
numpy, whose OpenBLAS runs faster on one thread and uses every core the process may use. On 100
shared raw cables on 2 cores, `cnn_gold` ran 21,350 words/s against 11,284 with blis, at the same
gold F (reports/benchmarks.md "Sorted windows and numpy's BLAS"); a transformer pipeline's heads
take the same path. The vectors differ from blis's by rounding only.

`cable_ner.numpy_blas.v1` is an `[nlp.after_pipeline_creation]` callback, so a pipeline whose
config names it gets it from `spacy.load` and from a `spacy package` wheel; the annotate job
applies `use_numpy_blas` to any pipeline it loads. Pipelines on a GPU (not `NumpyOps`) are left
as they are.
"""

from __future__ import annotations

from spacy.language import Language
from spacy.util import registry
from thinc.api import NumpyOps


def use_numpy_blas(nlp: Language, numpy_blas: bool = True) -> Language:
    """Give every thinc model of `nlp` that runs on `NumpyOps` numpy's BLAS (idempotent);
    `numpy_blas=False` gives them blis again, thinc's default (to compare the two)."""
    ops = NumpyOps(use_blis=not numpy_blas)
    for _, pipe in nlp.components:
        model = getattr(pipe, "model", None)
        for node in model.walk() if hasattr(model, "walk") else ():
            if type(node.ops) is NumpyOps:
                node.ops = ops
    return nlp


@registry.callbacks("cable_ner.numpy_blas.v1")
def create_numpy_blas():
    return use_numpy_blas
