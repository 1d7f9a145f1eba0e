"""report.html: one self-contained page from jinja2 templates (`templates/`, autoescaped): the
report's markdown rendered by markdown-it-py, the PNGs as base64 data URIs, and error samples as
displaCy HTML with the cable's metadata block (`cable_ner.render.render`). No external link,
script, font or CDN: the page opens offline."""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from markupsafe import Markup

from ..cable import USER_DATA_KEY
from .format import COLORS
from .markdown import markdown_report


@cache
def _templates():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("cable_ner.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@cache
def _markdown():
    """CommonMark with tables; raw HTML is escaped, and links, images and link definitions stay
    text, so nothing in the report's text can reach outside the page."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    return md.disable(["link", "image", "autolink", "reference"])


def markdown_to_html(text: str) -> Markup:
    """The report's markdown as HTML (user text in it escaped)."""
    return Markup(_markdown().render(text))


def _window_doc(doc, start_char: int, end_char: int, cable_data: dict | None, width: int):
    """The tokens of `doc` within `width` characters of [start_char, end_char), as a new Doc
    with the cable's metadata (paragraphs clipped and shifted to the window)."""
    a = max(0, start_char - width)
    b = min(len(doc.text), end_char + width)
    span = doc.char_span(a, b, alignment_mode="expand")
    window = span.as_doc()
    if cable_data is not None:
        data = json.loads(json.dumps(cable_data))
        off = span.start_char
        data["paragraphs"] = [
            {**p, "start": max(p["start"], off) - off, "end": min(p["end"], span.end_char) - off}
            for p in data.get("paragraphs", [])
            if p["start"] < span.end_char and p["end"] > off
        ]
        data.get("header", {})["header_end"] = 0
        window.user_data[USER_DATA_KEY] = data
    return window


def _describe(e: dict | None, what: str) -> str:
    if not e:
        return f"{what}: none"
    where = f", paragraph {e['paragraph']}" if e.get("paragraph") is not None else ""
    portion = f" ({e['portion']})" if e.get("portion") else ""
    return f"{what}: {e['label']} “{e['text']}”{where}{portion}"


def render_errors(examples: Sequence, samples: Sequence[dict], width: int = 100) -> list[str]:
    """HTML for each error sample: the model's entities around the error with the cable's
    metadata (`cable_ner.render.render`), then the reference's entities there (displaCy)."""
    from spacy import displacy

    from ..render import render

    options = {"colors": COLORS}
    template = _templates().get_template("error_sample.html.j2")
    out = []
    for s in samples:
        eg = examples[s["cable"]]
        ents = [e for e in (s["gold"], s["pred"]) if e]
        start = min(e["start_char"] for e in ents)
        end = max(e["end_char"] for e in ents)
        cable_data = eg.reference.user_data.get(USER_DATA_KEY)
        pred = _window_doc(eg.predicted, start, end, cable_data, width)
        gold = _window_doc(eg.reference, start, end, None, width)
        gold.user_data.clear()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"\[W006\]")
            gold_html = displacy.render(gold, style="ent", page=False, jupyter=False,
                                        options=options)  # fmt: skip
        out.append(Markup(template.render(
            kind=s["kind"].replace("_", " "), cable=str(s["reference_id"] or s["cable"]),
            reference=_describe(s["gold"], "reference"), model=_describe(s["pred"], "model"),
            model_html=Markup(render(pred, page=False, options=options)),  # escaped by spaCy
            reference_html=Markup(gold_html),
        )))  # fmt: skip
    return out


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def html_report(metrics: dict, images: dict[str, Path], errors: dict[str, list[str]],
                compare: Sequence[dict] = ()) -> str:  # fmt: skip
    """One self-contained page: inline CSS, PNGs as data URIs, displaCy error samples
    (`render_errors`' blocks, taken as HTML), the rest from `markdown_report`."""
    body = markdown_report(metrics, {}, compare).split("\n", 2)[2]  # its own title is the page's
    page = _templates().get_template("report.html.j2")
    return page.render(
        title=f"Evaluation of {metrics['model']}",
        figures=[{"name": name, "uri": _data_uri(path)} for name, path in images.items()],
        body=markdown_to_html(body),
        errors={split: [Markup(b) for b in blocks] for split, blocks in errors.items()},
    )
