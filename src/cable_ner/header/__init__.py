"""Cable header / metadata parser and paragraph finder.

    header, paragraphs = parse_header(text)

Works on the *clean text* of a cable (markup removed), in any of the three spacings the
project meets: the tagger's (single spaces, one sentence a line, the whole header on the
first line), the raw cable's natural spacing, and WikiLeaks page bodies.

How a header is read (`parse.parse_header`): `zone` scans the head of the text once (page lines
masked, field labels found, paragraph 1 located); then one parser per field reads its value
from that zone: `banner` (classification, post, serial, captions, action lines), `fields`
(E.O./DECL, TAGS, SUBJECT, REF), `classified` (CLASSIFIED BY and reasons) and `body` (summary,
signer); `paragraphs` finds the numbered paragraphs and their portion marks.

Design rules:
- every regex is precompiled and linear (bounded repetitions, no nested quantifiers over
  the same characters), and the header fields are looked for only in the first
  ``zone.SCAN`` characters, so parsing is cheap and never hangs on garbage;
- ``header_end`` is defined in one place, :func:`zone.header_end`;
- nothing here raises on any input string.
"""

from .banner import starts_like_a_cable
from .model import CableHeader, Paragraph, ParsedHeader, paragraph_lookup
from .parse import find_paragraphs, parse_header

__all__ = [
    "CableHeader",
    "Paragraph",
    "ParsedHeader",
    "find_paragraphs",
    "paragraph_lookup",
    "parse_header",
    "starts_like_a_cable",
]
