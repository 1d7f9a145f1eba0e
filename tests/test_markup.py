import pytest
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc

from cable_ner.markup import MarkupError, has_markup, parse_markup, write_tagged
from cable_ner.record_doc import whitespace_words

TAGGED = (
    "<code><pre>CLASSIFIED BY: [PER Richard Schmierer  ] , Ambassador ; \n"
    "( C ) A recent [ORG New York Time  ] 's ( [MISC NYT  ] ) article &amp; [ sic ] . \n"
    "End . </pre></code>"
)


def ents(m):
    return [(m.text[s:e], label) for s, e, label in m.entities]


def test_parse_tagged_entities_and_offsets():
    m = parse_markup(TAGGED)
    assert m.text.startswith("CLASSIFIED BY: Richard Schmierer , Ambassador ;")
    assert ents(m) == [("Richard Schmierer", "PER"), ("New York Time", "ORG"), ("NYT", "MISC")]
    assert "article & [ sic ] ." in m.text  # references decoded, other brackets are text
    for s, e, _ in m.entities:
        a, b = m.to_source(s, e)
        assert TAGGED[a:b] == m.text[s:e]
    s = m.text.index("&")
    assert TAGGED[slice(*m.to_source(s, s + 1))] == "&amp;"
    assert [m.text[a:b] for a, b in m.lines][2] == "End ."


def test_clean_text_passes_through_unchanged():
    text = "Oman's close partnership with the U.S. [sic] ( see 1.4 (b) ) ]"
    assert not has_markup(text)
    m = parse_markup(text)
    assert m.text == text and m.entities == [] and m.to_source(3, 7) == (3, 7)


def test_unknown_label_and_stray_closer_are_text():
    m = parse_markup("a [FOO bar  ] b  ] c")
    assert m.text == "a [FOO bar  ] b  ] c" and m.entities == []


def test_page_newline_references():
    m = parse_markup("UNCLAS MINSK 000851 &#x000A;SUBJECT: X&#x000A;<a href='#par1'>¶</a>1.")
    assert m.text == "UNCLAS MINSK 000851 \nSUBJECT: X\n¶1."


@pytest.mark.parametrize(
    "source,reason,line,column",
    [
        ("ok\n[PER a [LOC b  ]  ]", "nested entity bracket inside [PER", 2, 8),
        ("ok\nx [ORG a b \nc  ]", "[ORG entity is not closed on its line", 2, 3),
        ("[MISC a", "[MISC entity is not closed", 1, 1),
        ("x [PER   ] y", "empty [PER entity", 1, 3),
    ],
)
def test_markup_errors_name_line_and_column(source, reason, line, column):
    with pytest.raises(MarkupError) as info:
        parse_markup(source)
    assert (info.value.reason, info.value.line, info.value.column) == (reason, line, column)


def test_closer_inside_split_anchor_ends_the_entity():
    # The tagger split `<a id=...>` into tokens and closed the entity inside it.
    m = parse_markup("The [ORG Left <a  ] id='par14' href='#par14'>¶</a>14 . \n")
    assert ents(m) == [("Left", "ORG")]
    assert m.text == "The Left ¶14 . \n"


nlp = spacy.blank("en")
WORD = st.text(
    st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc"), blacklist_characters="<&"),
    min_size=1,
    max_size=6,
).filter(lambda w: not has_markup(w) and w not in {"[PER", "[LOC", "[ORG", "[MISC"})


@st.composite
def tagged_docs(draw):
    words = draw(st.lists(WORD, min_size=1, max_size=40))
    n = len(words)
    starts = [True] + [draw(st.booleans()) for _ in range(n - 1)]
    doc = Doc(nlp.vocab, words=words, sent_starts=starts)
    spans, i = [], 0
    while i < n:
        length = draw(st.integers(0, 3))
        end = min(i + length, n)
        # an entity stays inside its sentence (one line), as in the format
        if length and not any(starts[i + 1 : end]) and draw(st.booleans()):
            spans.append(doc.char_span(doc[i].idx, doc[end - 1].idx + len(doc[end - 1]),
                                       label=draw(st.sampled_from(["PER", "LOC", "ORG", "MISC"]))))
            i = end
        else:
            i += 1
    doc.ents = spans
    return doc


@settings(max_examples=300, deadline=None)
@given(tagged_docs())
def test_write_then_parse_gives_same_words_sentences_and_entities(doc):
    m = parse_markup(write_tagged(doc))
    words, spaces = whitespace_words(m.text)
    again = Doc(nlp.vocab, words=words, spaces=spaces)
    tokens = [t.text for t in again if not t.is_space]
    assert tokens == [t.text for t in doc]
    line_starts = [again.char_span(a, b, alignment_mode="expand")[0].text for a, b in m.lines]
    assert line_starts == [s[0].text for s in doc.sents]
    assert ents(m) == [(e.text, e.label_) for e in doc.ents]


@pytest.mark.parametrize("word", ["[PER", "<a", "&amp;", "a b"])
def test_writer_refuses_tokens_it_cannot_carry(word):
    doc = Doc(nlp.vocab, words=["x", word])
    with pytest.raises(ValueError, match="cannot be written"):
        write_tagged(doc)
