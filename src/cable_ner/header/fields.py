"""The labelled header fields: E.O. and DECL, TAGS, SUBJECT and REF.

Each parser takes the header zone and returns its value and where the value ends (0 without the
label), so that `parse_header` can tell where the header's fields end.
"""

from __future__ import annotations

import re

from .text import detok, line_end, norm
from .zone import Label, Zone

_SUBJ_STOP_RE = re.compile(
    r"\n[ \t]*\n|¶\s?\d|(?<![A-Za-z])(?:BEGIN\s)?SUMMARY\s?[:.\-]|\bSUMMARY\s{0,3}\n"
    r"|SENSITIVE BUT UNCLASSIFIED\s?,?\s?PLEASE|(?<=\.\.\.)\s",
    re.I,
)
_REF_LETTER_FMT = r"(?<![A-Za-z0-9.])(?:\(\s?{L}\s?\)|{L}\s?[.)](?=\s|[A-Z]))"
_REF_LETTER_RES = {
    ch: re.compile(_REF_LETTER_FMT.replace("{L}", ch)) for ch in "ABCDEFGHIJKLMNOPQRST"
}

_TAG_TOKEN_RE = re.compile(r"[A-Za-z0-9][\w\-/&.]{0,30}(?:\s?\([^()\n]{0,60}\))?")
_DECL_VALUE_RE = re.compile(
    r"\s{0,3}(\d{1,4}\s?[/.\-]\s?\d{1,2}\s?[/.\-]\s?\d{2,4}|OADR|N/A|[A-Za-z][^\n]{0,60}?)"
    r"(?=\s{0,3}(?:TAG[SE]\b|SUBJ|\n|$)|\s{2})",
    re.I,
)
_EO_TAIL_RE = re.compile(r"\s{0,3}(N\s?/\s?A|OADR|GDS[^\n]{0,50}|\d{1,2}/\d{1,2}/\d{2,4})", re.I)

_REF_BODY_STOP_RE = re.compile(
    r"(?<=[\d)])\s{1,3}(?=[A-Z][a-z]+\s{1,3}[a-z]{2,}|(?:On|In|The|During|At|As|This|Per|We"
    r"|Following|According|Post|Embassy|Summary|SUMMARY)\b)"
)


_REF_STOP_RE = re.compile(
    r"\n[ \t]*\n|(?<![A-Za-z])(?:BEGIN\s)?SUMMARY\s?[:.\-]|\(\s?[USC]\s?\)\s"
    r"|SENSITIVE BUT UNCLASSIFIED", re.I)
_REF_NEXT_RE = re.compile(r"\s{1,8}¶?\(?[B-T]\s?[.)]\s")

_TAG_CONT_RE = re.compile(r"[ \t]{0,4}(?:[A-Z]{2,4}[ \t,]{0,3}){1,30}")
_PROSE_WORDS = frozenset("SUMMARY AND OF THE FOR WITH S AN ARE FROM".split())


def eo_decl(z: Zone) -> tuple[str | None, str | None, int]:
    """(E.O. number, declassification, end): `E.O. 12958: DECL: 2020/02/02`, `E.O. 12958: N/A`,
    `DECL: OADR`."""
    zone, first = z.zone, z.first
    eo = decl = None
    end = 0
    if "eo" in first:
        lb = first["eo"]
        eo = lb.value
        end = lb.end
        if "decl" not in first or first["decl"].start > lb.end + 20:
            tm = _EO_TAIL_RE.match(zone, lb.end)
            if tm:
                decl = norm(tm.group(1)).replace(" / ", "/").replace("N /A", "N/A")
                if decl.upper().replace(" ", "") == "N/A":
                    decl = "N/A"
                end = max(end, tm.end())
    if "decl" in first:
        lb = first["decl"]
        dm = _DECL_VALUE_RE.match(zone, lb.end, min(len(zone), lb.end + 80))
        if dm:
            decl = norm(dm.group(1))
            end = max(end, dm.end())
        else:
            end = max(end, lb.end)
    return eo, decl, end


def tags(z: Zone) -> tuple[tuple[str, ...], int]:
    """(TAGS, end): one line, continued while it ends with a comma or the next line holds only
    tag codes (raw spacing)."""
    lb = z.first.get("tags")
    if lb is None:
        return (), 0
    zone = z.zone
    limit = min(z.next_label(lb.start), lb.end + 400, z.end)
    pos, single_line = lb.end, True
    while True:
        le = line_end(zone, pos, limit)
        if le >= limit:
            end = limit
            break
        single_line = False
        nxt = line_end(zone, le + 1, limit)
        if not (zone[pos:le].rstrip().endswith(",") or _TAG_CONT_RE.fullmatch(zone, le + 1, nxt)):
            end = le
            break
        pos = le + 1
    subject = z.first.get("subject")
    trim = single_line and not (subject is not None and subject.start == end)
    return _parse_tags(zone[lb.end : end], trim_prose=trim), end


def subject(z: Zone) -> tuple[str | None, int]:
    """(SUBJECT, end), without a trailing portion mark or underline."""
    lb = z.first.get("subject")
    if lb is None:
        return None, 0
    end = z.value_end(lb, _SUBJ_STOP_RE, 600)
    # don't cut a leading portion mark "SUBJECT: (C) ..."; cut a later one in tagged text
    s = detok(z.zone[lb.end : end])
    s = re.sub(r"\s*-{3,}.*$", "", s)
    s = re.sub(r"\s?\(\s?(?:U|C|S|SBU|S/NF|S//NF|C/NF|C//NF)\s?\)$", "", s)
    return s.strip(" ,;") or None, end


def refs(z: Zone) -> tuple[tuple[str, ...], int]:
    """(REF, end): one reference, or lettered ones (`A. RIYADH 1579 B. STATE 12345`)."""
    lb = z.first.get("ref")
    if lb is None:
        return (), 0
    zone = z.zone
    end = z.value_end(lb, _REF_STOP_RE, 1500)
    # raw spacing: lettered refs may be separated by blank lines
    while end < len(zone) and _REF_NEXT_RE.match(zone, end):
        nxt = z.value_end(Label("ref", end, end), _REF_STOP_RE, 400)
        if nxt <= end:
            break
        end = nxt
    bs = _REF_BODY_STOP_RE.search(zone, lb.end, end)
    if bs:
        end = bs.start()
    return _parse_refs(zone[lb.end : end]), end


def _parse_refs(value: str) -> tuple[str, ...]:
    v = value.replace("¶", " ")
    v = detok(v)
    if not v:
        return ()
    starts: list[tuple[str, int, int]] = []
    pos = 0
    for ch in "ABCDEFGHIJKLMNOPQRST":
        m = _REF_LETTER_RES[ch].search(v, pos)
        if not m:
            break
        if ch == "A" and m.start() > 3:
            break
        starts.append((ch, m.start(), m.end()))
        pos = m.end()
    if len(starts) < 2 and not (starts and starts[0][1] == 0 and len(v) > starts[0][2] + 3):
        return (v.strip(" ,;."),)
    out = []
    for i, (ch, _s, e) in enumerate(starts):
        end = starts[i + 1][1] if i + 1 < len(starts) else len(v)
        body = v[e:end].strip(" ,;")
        if body.endswith(" AND") or body.endswith(" and"):
            body = body[:-4]
        if body:
            out.append(f"{ch}. {body.strip(' ,;')}")
    return tuple(out)


def _parse_tags(value: str, trim_prose: bool = False) -> tuple[str, ...]:
    toks = [detok(m.group(0)).strip(".").upper() for m in _TAG_TOKEN_RE.finditer(value)]
    if trim_prose:
        # tagged spacing, no SUBJECT label: the subject runs on after the tags; cut at the first
        # prose word or number and drop the long words before it (tag codes are short)
        for i, t in enumerate(toks):
            if t in _PROSE_WORDS or t.isdigit():
                j = i
                while j > 0 and len(toks[j - 1]) >= 5 and "-" not in toks[j - 1]:
                    j -= 1
                toks = toks[:j]
                break
    out: list[str] = []
    for t in toks:
        if t and t not in out:
            out.append(t)
    return tuple(out)
