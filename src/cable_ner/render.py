"""displaCy's entity view of a cable under a block with its metadata.

    from cable_ner.render import render
    html = render(nlp(text))                                # a whole HTML page
    IPython.display.HTML(render(doc, page=False))           # a fragment, in Jupyter
"""

from __future__ import annotations

import html
import warnings

from spacy import displacy
from spacy.tokens import Doc

from . import cable as _cable  # noqa: F401  (registers doc._.cable)

__all__ = ["render"]

_META_ROWS = (
    ("Reference", "reference_id"), ("Classification", "classification"),
    ("WikiLeaks classification", "page_classification"), ("Post", "post"),
    ("Created", "created"), ("TAGS", "tags"), ("Subject", "subject"),
    ("Classified by", "classified_by"), ("Reasons", "reasons"), ("Source", "source"),
)  # fmt: skip


def render(doc: Doc, page: bool = True, options: dict | None = None) -> str:
    """displaCy's entity view of `doc` under a block with the cable's metadata (escaped).

    page=True gives a whole HTML page; page=False a fragment (in Jupyter:
    `IPython.display.HTML(render(doc, page=False))`).
    """
    cable = doc._.cable
    meta = cable.to_dict()
    rows = []
    for title, key in _META_ROWS:
        value = meta.get(key)
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        if value:
            rows.append(f"<tr><th>{html.escape(title)}</th><td>{html.escape(str(value))}</td></tr>")
    counts = ", ".join(f"{html.escape(k)} {v}" for k, v in cable.label_counts.items())
    rows.append(f"<tr><th>Paragraphs</th><td>{len(cable.paragraphs)}</td></tr>")
    rows.append(f"<tr><th>Entities</th><td>{counts or 'none'}</td></tr>")
    if cable.skipped:
        rows.append(f"<tr><th>Not read as a cable</th><td>{html.escape(cable.skipped)}</td></tr>")
    block = (
        '<table class="cable-metadata" style="border-collapse:collapse;margin-bottom:1em;'
        'font-family:sans-serif;font-size:14px;text-align:left">' + "".join(rows) + "</table>"
    )
    with warnings.catch_warnings():  # W006 (no entities): the metadata block is still worth it
        warnings.filterwarnings("ignore", message=r"\[W006\]")
        ents = displacy.render(doc, style="ent", page=False, jupyter=False, options=options or {})
    body = block + ents
    if not page:
        return f'<div class="cable">{body}</div>'
    title = html.escape(cable.reference_id or cable.source or "cable")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n'
        f'<head><meta charset="utf-8"><title>{title}</title></head>\n'
        f'<body style="margin:0 2em;font-family:sans-serif">{body}</body>\n</html>\n'
    )
