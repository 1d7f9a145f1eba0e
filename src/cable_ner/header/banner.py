"""The banner line and what follows it before the first field: classification, section, post and
serial, captions (SIPDIS, NOFORN, ...) and action lines (`DEPT FOR NEA/MAG`)."""

from __future__ import annotations

import re
from typing import NamedTuple

from .text import detok, norm
from .zone import Zone


def _spaced(word: str) -> str:
    """A word whose letters may be separated by up to 3 blanks (spaced banners)."""
    return r"\s{0,3}".join(re.escape(ch) for ch in word)


def _spaced_opt_first(word: str) -> str:
    """As _spaced, but the first letter may be missing (``E C R E T``)."""
    return "(?:" + re.escape(word[0]) + r"\s{0,3})?" + _spaced(word[1:])


_BANNERS: tuple[tuple[str, str], ...] = (
    ("TOP SECRET", _spaced("TOP") + r"\s{1,3}" + _spaced("SECRET") + r"(?!\s?AR)"),
    ("SENSITIVE BUT UNCLASSIFIED", r"SENSITIVE\s{1,3}BUT\s{1,3}UNCLASSIFIED"),
    ("LIMITED OFFICIAL USE", _spaced("LIMITED") + r"\s{1,3}" + _spaced("OFFICIAL") + r"\s{1,3}"
     + _spaced("USE")),
    ("CONFIDENTIAL", _spaced_opt_first("CONFIDENTIAL") + r"(?!\s?IT)"),
    ("SECRET", _spaced_opt_first("SECRET") + r"(?!\s?AR)"),
    ("UNCLASSIFIED", r"U?NCLAS(?:SIFIED)?(?![A-Z])"),
)
# left boundary, then up to two stray letters (``SS E C R E T``, ``CSE C R E T``)
_BANNER_RE = re.compile(
    r"(?<![A-Za-z])[A-Za-z]{0,2}?(?:"
    + "|".join(f"(?P<b{i}>{p})" for i, (_, p) in enumerate(_BANNERS))
    + r")",
    re.I,
)
_PAGE_BANNER_RE = re.compile(
    r"(?<![A-Za-z])(UNCLASSIFIED|CONFIDENTIAL|SECRET)\s{1,4}PAGE\s\d{2}\b")

_BAD_POST_RE = re.compile(
    r"\b(?:SIPDIS|NOFORN|SENSITIVE|EXDIS|NODIS|E\.O|TAGS|DECL|OFFICIAL|FOR|SUBJECT|PAGE)\b"
    r"|\bSECTION\b(?! \d)"
)
_POST_SERIAL_RE = re.compile(
    r"[\s/]{0,6}(?:NOFORN\s{1,3}|E\s?F\s?T\s?O\s{1,3})?(?:SECTION\s{1,3}(\d{1,2})\s{1,3}OF\s{1,3}(\d{1,2})\s{1,6})?"
    r"([A-Z][A-Z.'\-]{0,25}(?:[ ][A-Z][A-Z.'\-]{0,25}){0,3})[ \t\]]{1,5}(\d{1,6})(?!\d)",
    re.I,
)

# what may stand before a cable's banner: nothing, or a date line / "Cable dated:" stamp
_CABLE_START_RE = re.compile(
    r"\s{0,5}(?:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\s?,\s?\d{1,2}\s\w{3,9}\s\d{4}\s?,"
    r"\s?\d{1,2}:\d{2}\s{0,5}|Cable dated:\s?\S{10,25}\s{0,5})?"
)


def starts_like_a_cable(text: str) -> bool:
    """Whether `text` opens with an upper-case classification banner, as every cable does (after
    an optional date line). Lets plain text that merely mentions SUBJECT or Secret go unparsed."""
    start = _CABLE_START_RE.match(text)
    m = _BANNER_RE.match(text, start.end() if start else 0)
    return m is not None and m.group().isupper()

_CAPTION_RE = re.compile(
    r"SIPDIS|NOFORN|EXDIS|NODIS|STADIS|NOTAL|LIMDIS|ROGER|SENSITIVE|DISSENT\s+CHANNEL"
    r"|FOR\s+OFFICIAL\s+USE\s+ONLY|E\sF\sT\sO|EFTO(?![A-Z])|CHEROKEE|SPECAT|NOCONTRACT|ORCON|PROPIN|EYES\s+ONLY",
)
_CAPTION_NORM = {"FOR OFFICIAL USE ONLY": "SENSITIVE", "E F T O": "EFTO"}

_ACTION_SPLIT_RE = re.compile(
    r"\b(?:(?:PLEASE\s)?PASS\s(?:TO\s)?[A-Z][A-Z/&.\-]{1,20}\s(?:ALSO\s)?FOR"
    r"|[A-Z][A-Z/&.\-]{1,20}\s(?:ALSO\s)?FOR)\b"
)
_ACTION_LINE_RE = re.compile(r"\b(?:FOR|PASS|ATTN|FROM)\b", re.I)


class Banner(NamedTuple):
    classification: str | None
    end: int | None  # where the banner ends (None without one)
    section: tuple[int, int] | None
    post: str | None
    serial: str | None


def banner(z: Zone) -> Banner:
    """The classification banner before the first field label, and the post and serial after
    it (`C O N F I D E N T I A L SECTION 01 OF 03 MUSCAT 000071`)."""
    zone = z.zone
    limit = min(len(zone), max(z.first_field or 0, 0) or 1500, 2500)
    if z.first_field is not None and z.first_field < 40:
        limit = min(len(zone), 1500)
    classification, end = _classification(zone, limit)
    section = post = serial = None
    if classification is not None:
        for m in _BANNER_RE.finditer(zone, 0, limit):
            sec, post, serial = _post_serial(zone, m.end())
            section = section or sec
            if post:
                section = sec or section
                break
    else:
        pm = _PAGE_BANNER_RE.search(zone)
        if pm:
            classification = pm.group(1)
    return Banner(classification, end, section, post, serial)


def serial_end(zone: str, start: int, serial: str | None) -> int:
    """Where `serial` ends if it follows `start` closely, else `start`."""
    if serial:
        m = re.search(re.escape(serial), zone[start : start + 150])
        if m:
            return start + m.end()
    return start


def captions(
    z: Zone, classification: str | None, subject: str | None, header_end: int
) -> tuple[str, ...]:
    """Captions from the banner to the first field label (SUBJECT at the latest)."""
    zone = z.zone
    cap_end = min(x for x in (z.first_field, header_end, 3000) if x is not None)
    if "subject" in z.first and z.first["subject"].start > cap_end:
        cap_end = z.first["subject"].start
    found: list[str] = []
    for m in _CAPTION_RE.finditer(zone, 0, max(cap_end, 0)):
        c = norm(m.group(0))
        c = _CAPTION_NORM.get(c, c)
        if c not in found:
            found.append(c)
    if classification == "SENSITIVE BUT UNCLASSIFIED" and "SENSITIVE" not in found:
        found.append("SENSITIVE")
    if subject and re.search(r"SENSITIVE BUT UNCLASSIFIED", zone[:header_end]) and \
            "SENSITIVE" not in found:
        found.append("SENSITIVE")
    return tuple(found)


def action(z: Zone, banner_end: int | None, serial: str | None) -> tuple[str, ...]:
    """Action lines: after the banner and serial, before the first field label."""
    if z.first_field is None:
        return ()
    start = serial_end(z.zone, banner_end or 0, serial)
    return _action_lines(z.zone[start : z.first_field]) if start < z.first_field else ()


def _classification(zone: str, limit: int) -> tuple[str | None, int | None]:
    """Earliest banner in zone[:limit]: (normalised name, end offset)."""
    for m in _BANNER_RE.finditer(zone, 0, limit):
        for i, (name, _) in enumerate(_BANNERS):
            if m.group(f"b{i}") is not None:
                return name, m.end()
    return None, None


def _post_serial(zone: str, banner_end: int | None):
    if banner_end is None:
        return None, None, None
    m = _POST_SERIAL_RE.match(zone, banner_end, min(len(zone), banner_end + 120))
    if not m:
        return None, None, None
    section = None
    if m.group(1) and m.group(2):
        section = (int(m.group(1)), int(m.group(2)))
    post = norm(m.group(3)).upper()
    serial = m.group(4)
    # the section may come after the post (rare) or the words may be captions
    if _BAD_POST_RE.search(post):
        return section, None, None
    sm = re.match(r"SECTION (\d{1,2}) OF (\d{1,2})$", post)
    if sm:
        return (int(sm.group(1)), int(sm.group(2))), None, None
    return section, post, serial


def _action_lines(region: str) -> tuple[str, ...]:
    lines: list[str] = []
    chunks = [c for c in region.split("\n") if c.strip()]
    if len(chunks) <= 1 and region.strip():
        one = norm(region)
        cuts = [m.start() for m in _ACTION_SPLIT_RE.finditer(one)]
        if cuts and cuts[0] > 0:
            cuts.insert(0, 0)
        if not cuts:
            cuts = [0]
        chunks = [one[a:b] for a, b in zip(cuts, cuts[1:] + [len(one)], strict=True)]
    for c in chunks:
        c = detok(c)
        c = _CAPTION_RE.sub(" ", c)
        c = norm(c).strip(" ,;")
        if len(c) < 3 or not _ACTION_LINE_RE.search(c):
            continue
        if c.upper().startswith(("DECLASSIFIED", "ORIGINAL TELEGRAM", "E.O.")):
            continue
        lines.append(c)
    return tuple(lines[:20])
