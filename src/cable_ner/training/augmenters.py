"""`cable_ner.UpperCase.v1` (`[corpora.train.augmenter]`): some training examples in upper case.

About 1.5% of the cables are written wholly in upper case, and a pipeline that learned names from
their capital letters misses them there. spaCy ships the opposite augmenter (`spacy.lower_case.v1`);
this one replaces an example, with probability `level`, by the same example with every token's
text upper-cased. The reference keeps its sentence starts and its entities token for token,
missing annotation included (the header's tokens stay unannotated, which spaCy's
`Example.to_dict` round trip would turn into "no entity").
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from functools import partial

from spacy.attrs import ENT_IOB, ENT_TYPE, SENT_START
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import registry

_KEPT = [SENT_START, ENT_IOB, ENT_TYPE]


@registry.augmenters("cable_ner.UpperCase.v1")
def create_upper_case_augmenter(level: float) -> Callable[..., Iterator[Example]]:
    """Upper-case a share `level` (0-1) of the training examples."""
    if not 0.0 <= level <= 1.0:
        raise ValueError(f"cable_ner.UpperCase.v1: level must be between 0 and 1, got {level}")
    return partial(upper_case_augmenter, level=level)


def upper_case_augmenter(nlp, example: Example, *, level: float) -> Iterator[Example]:
    if level <= 0.0 or random.random() >= level:
        yield example
    else:
        yield upper_cased(nlp, example)


def upper_cased(nlp, example: Example) -> Example:
    """`example` with its text in upper case, its reference annotation unchanged."""
    ref = example.reference
    reference = Doc(
        ref.vocab,
        words=[t.text.upper() for t in ref],
        spaces=[bool(t.whitespace_) for t in ref],
    )
    reference.from_array(_KEPT, ref.to_array(_KEPT))
    predicted = nlp.make_doc(reference.text)
    if predicted.has_annotation("ENT_IOB"):  # the cable reader's blocked header tokens
        predicted.set_ents([], default="missing")
    return Example(predicted, reference)
