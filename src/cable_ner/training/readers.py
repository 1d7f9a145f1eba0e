"""`cable_ner.SentenceChunkCorpus.v1` (`[corpora]` reader).

spaCy's `Corpus` with `max_length` splits a long doc into one example *per sentence*, calling
`Span.as_doc()` for each, and every call converts the whole doc to an array: quadratic in the
cable's length (profiled on the shared corpus: 47% of reading time, minutes per pass). This reader
instead packs consecutive sentences into examples of at most `max_length` tokens, with one array
per doc: linear, and each example keeps cross-sentence context and sentence starts inside it (for
the NER's windows and the senter). A sentence longer than `max_length` is kept as its own example,
never dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from spacy.tokens import Doc
from spacy.training import Corpus, Example
from spacy.util import registry


def sentence_chunks(doc: Doc, max_length: int) -> Iterator[Doc]:
    """Consecutive sentences of `doc` packed into docs of at most `max_length` tokens.

    The doc itself when it is short enough (or `max_length` is 0) or has no sentence
    boundaries; a single sentence longer than `max_length` comes out alone.
    """
    if max_length <= 0 or len(doc) <= max_length or not doc.has_annotation("SENT_START"):
        yield doc
        return
    array_head = doc._get_array_attrs()
    array = doc.to_array(array_head)
    start = end = 0
    for sent in doc.sents:
        if end > start and sent.end - start > max_length:
            yield doc[start:end].as_doc(array_head=array_head, array=array)
            start = end
        end = sent.end
    if end > start:
        yield doc[start:end].as_doc(array_head=array_head, array=array)


class SentenceChunkCorpus(Corpus):
    """`spacy.Corpus` whose long docs become sentence-aligned chunks (see the module doc).

    The predicted side is `nlp.make_doc(text)` as in spaCy, minus the cable reader's blocked
    header tokens: the reference already marks the header as missing annotation, which is what
    training should see, while the reader's header parse of the clean text can end a few tokens
    after the converter's mask; a blocked token whose reference is O (or an entity) leaves
    spaCy's NER oracle without a valid move (E024, 2 of 1,903 dev chunks of the real corpus).
    """

    def make_examples(self, nlp, reference_docs) -> Iterator[Example]:
        for reference in reference_docs:
            for chunk in sentence_chunks(reference, self.max_length):
                if len(chunk):
                    example = self._make_example(nlp, chunk, False)
                    if example.predicted.has_annotation("ENT_IOB"):
                        example.predicted.set_ents([], default="missing")
                    yield example


@registry.readers("cable_ner.SentenceChunkCorpus.v1")
def create_sentence_chunk_corpus(
    path: Path | None,
    max_length: int = 0,
    limit: int = 0,
    augmenter=None,
    shuffle: bool = False,
) -> SentenceChunkCorpus:
    """`max_length` tokens per example (0: whole docs); `limit`: at most this many docs per
    DocBin file (spaCy's Corpus counts per file; 0: all)."""
    return SentenceChunkCorpus(
        path, max_length=max_length, limit=limit, augmenter=augmenter, shuffle=shuffle
    )
