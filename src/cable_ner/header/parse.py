"""`parse_header`: the header zone is scanned once, then each field parser reads its value."""

from __future__ import annotations

from . import banner, body, classified, fields
from .model import CableHeader, Paragraph, ParsedHeader
from .paragraphs import ANCHOR_PARA_RE, paragraphs
from .zone import header_end, scan_zone


def parse_header(text: str) -> ParsedHeader:
    """The header and metadata of a cable's clean text, and its numbered paragraphs. Never
    raises."""
    if not isinstance(text, str):
        text = str(text)
    z = scan_zone(text)
    top = banner.banner(z)
    eo, decl, eo_end = fields.eo_decl(z)
    tags, tags_end = fields.tags(z)
    subject, subject_end = fields.subject(z)
    refs, refs_end = fields.refs(z)
    (cb, cb_name, cb_title), reasons, cb_end = classified.classified_by_and_reasons(z)
    fields_end = max(eo_end, tags_end, subject_end, refs_end, cb_end)
    if fields_end == 0 and top.end is not None:  # a banner line only
        fields_end = banner.serial_end(z.zone, top.end, top.serial)
    end = header_end(fields_end, z.para1, text)
    paras = paragraphs(text, z.para1)
    header = CableHeader(
        classification=top.classification,
        section=top.section,
        post=top.post,
        serial=top.serial,
        captions=banner.captions(z, top.classification, subject, end),
        action=banner.action(z, top.end, top.serial),
        eo=eo,
        decl=decl,
        tags=tags,
        subject=subject,
        refs=refs,
        classified_by=cb,
        classified_by_name=cb_name,
        classified_by_title=cb_title,
        reasons=reasons,
        summary=body.summary(text, paras, end),
        signer=body.signer(text),
        header_end=end,
    )
    return ParsedHeader(header, paras)


def find_paragraphs(text: str) -> list[Paragraph]:
    """Numbered paragraphs of a cable's clean text, with their portion marks. Never raises."""
    if not isinstance(text, str):
        text = str(text)
    if ANCHOR_PARA_RE.search(text):
        return paragraphs(text, None)
    return paragraphs(text, scan_zone(text).para1)
