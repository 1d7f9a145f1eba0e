"""WikiLeaks "Cable Viewer" pages: the cable's body and the page's metadata table.

Read with a real HTML parser, not regular expressions; offsets are into the page's text, so the
clean text of a page maps back to it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["read_page"]


class _PageParser(HTMLParser):
    """Collects the cable metadata table's cells and the offsets of the `<pre>` blocks."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=False)
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.cells: list[str] = []
        self.pres: list[tuple[int, int]] = []
        self._in_table = 0
        self._cell: list[str] | None = None
        self._pre_start: int | None = None

    def _offset(self) -> int:
        line, col = self.getpos()
        return self._line_starts[line - 1] + col

    def handle_starttag(self, tag, attrs):
        if tag == "table" and ("class", "cable") in attrs:
            self._in_table += 1
        elif self._in_table and tag == "td":
            self._cell = []
        elif tag == "pre" and self._pre_start is None:
            self._pre_start = self._offset() + len(self.get_starttag_text() or "")

    def handle_endtag(self, tag):
        if tag == "table" and self._in_table:
            self._in_table -= 1
        elif tag == "td" and self._cell is not None:
            self.cells.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "pre" and self._pre_start is not None:
            self.pres.append((self._pre_start, self._offset()))
            self._pre_start = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def read_page(text: str) -> tuple[str, int, dict] | None:
    """The body `<pre>` of a WikiLeaks page, its offset in the page, and the metadata table's
    cells (reference_id, created, released, classification, origin); None without a body."""
    parser = _PageParser(text)
    parser.feed(text)
    parser.close()
    if not parser.pres:
        return None
    start, end = parser.pres[-1]  # the routing header comes first, the body last
    keys = ("reference_id", "created", "released", "classification", "origin")
    meta = dict(zip(keys, parser.cells[:5], strict=False)) if len(parser.cells) >= 5 else {}
    return text[start:end], start, meta
