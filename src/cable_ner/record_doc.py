"""One cable record → its reference spaCy Doc: tokens, sentences, entities, the header masked.

`record_to_doc` is what the converter writes for each cable and what scoring reads a tagged folder
with: the tagged form tokenized on its spaces (the tagger's tokens), other text with spaCy's English
tokenizer (`english_tokenizer`); sentences over `MAX_SENTENCE_TOKENS` split where no entity is cut;
header tokens given missing NER annotation; the metadata in user_data (`cable.store_record`).
`project_onto_raw` moves a tagged cable's entities and sentences onto the natural text of its raw
twin.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy
from spacy.attrs import IS_SPACE, SENT_START
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc
from spacy.vocab import Vocab

from .cable import PARAGRAPHS_GROUP, header_span, paragraph_spans, store_record
from .filters import FilterRule, match_filter
from .reader import CableRecord

MAX_SENTENCE_TOKENS = 128  # the transformer sees 128-wordpiece windows; see configs/trf.cfg
_SPLIT_AFTER = frozenset({";", ",", ":", "--", "-", ")", "."})


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
