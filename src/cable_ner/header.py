"""Cable header / metadata parser and paragraph finder.

Works on the *clean text* of a cable (markup removed), in any of the three spacings the
project meets: the tagger's (single spaces, one sentence a line, the whole header on the
first line), the raw cable's natural spacing, and WikiLeaks page bodies.

Design rules:
- every regex is precompiled and linear (bounded repetitions, no nested quantifiers over
  the same characters), and the header fields are looked for only in the first
  ``_SCAN`` characters, so parsing is cheap and never hangs on garbage;
- ``header_end`` is defined in one place, :func:`_header_end`;
- nothing here raises on any input string.
"""

from __future__ import annotations

import re
from dataclasses import MISSING, asdict, dataclass, fields

__all__ = ["CableHeader", "Paragraph", "parse_header", "find_paragraphs"]

_SCAN = 10000  # characters of the cable looked at for header fields


# --------------------------------------------------------------------------- data classes


@dataclass(frozen=True)
class CableHeader:
    classification: str | None
    section: tuple[int, int] | None
    post: str | None
    serial: str | None
    captions: tuple[str, ...]
    action: tuple[str, ...]
    eo: str | None
    decl: str | None
    tags: tuple[str, ...]
    subject: str | None
    refs: tuple[str, ...]
    classified_by: str | None
    classified_by_name: str | None
    classified_by_title: str | None
    reasons: tuple[str, ...]
    summary: tuple[int, int] | None
    signer: str | None
    header_end: int
    reference_id: str | None = None
    created: str | None = None
    released: str | None = None
    origin: str | None = None
    page_classification: str | None = None  # the page table's link text, as WikiLeaks names it

    def to_dict(self) -> dict:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> CableHeader:
        """Inverse of to_dict; missing keys get empty values (None, () or 0)."""
        kw = {}
        for f in fields(cls):
            v = d.get(f.name)
            if isinstance(v, list):
                v = tuple(v)
            if v is None and f.default is MISSING:
                v = 0 if f.name == "header_end" else () if "tuple[str" in str(f.type) else None
            kw[f.name] = v
        return cls(**kw)

    @property
    def wikileaks_classification(self) -> str | None:
        """The classification as WikiLeaks' metadata table names it."""
        c = self.classification
        if c is None:
            return None
        if c in ("UNCLASSIFIED", "SENSITIVE BUT UNCLASSIFIED"):
            if (c == "SENSITIVE BUT UNCLASSIFIED" or "SENSITIVE" in self.captions
                    or "NOFORN" in self.captions):
                return "UNCLASSIFIED//FOR OFFICIAL USE ONLY"
            return "UNCLASSIFIED"
        if c in ("CONFIDENTIAL", "SECRET") and "NOFORN" in self.captions:
            return c + "//NOFORN"
        return c


@dataclass(frozen=True)
class Paragraph:
    number: int
    portion: str | None
    start: int
    end: int

    def to_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- regexes


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

# things that are noise inside a header: masked with blanks (offsets are kept)
_MASK_RE = re.compile(
    r"(?:(?:UNCLASSIFIED|CONFIDENTIAL|SECRET|LIMITED OFFICIAL USE)\s{1,4})?"
    r"PAGE\s{1,3}\d{2,3}\s{1,3}[A-Z][A-Z ]{0,25}?\s{1,3}\d{3,6}(?:\s{1,3}\d{2}\s{1,3}OF\s{1,3}"
    r"\d{2})?\s{1,3}\d{6}Z"
    r"|[A-Z][A-Z ]{0,25}?[ ]\d{8}\s{1,3}\d{3}(?:\.\d)?\s{1,3}OF\s{1,3}\d{3}"
    r"|^\s{0,5}(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\s?,\s?\d{1,2}\s\w{3,9}\s\d{4}\s?,"
    r"\s?\d{1,2}:\d{2}"
    r"|Cable dated:\s?\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d)?"
    r"|C\sO\sR\sR\sE\sC\sT\sE\sD\s{1,3}C\sO\sP\sY",
    re.M,
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


# field labels
_LABEL_RE = re.compile(
    # the leading boundary + first-letter lookahead lets the engine skip most positions fast
    r"(?<![A-Za-z])(?=[EDTSRCF])(?:"
    r"(?P<eo>(?<![A-Za-z])E\s?\.?\s?[O0]\s?\.?\s?:?\s?(?P<eonum>1[1-3]\d{3})\b\s?:?)"
    r"|(?P<decl>(?<![A-Za-z])DECL(?![A-Za-z])\s?:?)"
    r"|(?P<tags>(?<![A-Za-z])TAG[SE](?![A-Za-z])\s?:?)"
    r"|(?P<subject>(?<![A-Za-z])SUBJ(?:ECT)?\s?:)"
    r"|(?P<ref>(?<![A-Za-z])(?:REFS?|REFTELS?|REFERENCES?)\s?:)"
    r"|(?P<cby>(?<![A-Za-z])CLASSIFIED\s{1,3}BY(?![A-Za-z])\s?:?)"
    r"|(?P<reason>(?<![A-Za-z])(?:FOR\s{1,3})?REASONS?(?![A-Za-z])\s?:?(?=\s{0,4}1\s?\.\s?\d)))"
    # glued text ("FOR REAPE.O. 12958")
    r"|(?P<eo2>E\.[O0]\.\s?(?P<eonum2>1[1-3]\d{3})\b\s?:?)",
    re.I,
)
_ANCHOR_PARA_RE = re.compile(r"¶\s?(\d{1,3})(?!\d)")
# unanchored paragraph number: at a line start, at the end of a (tagged) line, or before a
# portion mark
_PORTION_CORE = (
    r"(?:SBU|TS|LOU|U|C|S)(?:\s?(?:/{1,2}|-)\s?[A-Z][A-Za-z0-9 ,/\-]{0,40}?"
    r"|\s?-\s?ENTIRE\s?TEXT)?"
)
_PORTION_RE = re.compile(r"\s{0,3}[.)]?\s{0,3}\(\s?(" + _PORTION_CORE + r")\s?\)", re.I)
_NUM_PARA_RE = re.compile(
    r"(?:^|(?<=\n))[ \t]{0,8}(\d{1,3})\s?[.)](?=[ \t]{0,4}(?:\n|\(|[A-Z]))"
    r"|(?<=\s)(\d{1,3})[ ]?[.)][ \t]{0,3}(?=\n|\(\s?(?:SBU|TS|U|C|S)\s?[)/])"
)

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

_REASON_BLOCK_RE = re.compile(
    r"1\s{0,3}\.\s{0,3}\d(?![\d])\.?"
    r"(?:[ \t\n,;&/()]|\b(?:a\s?nd|or)\b|\b1\s{0,3}\.\s{0,3}\d(?!\d)\.?"
    r"|\b[a-hA-H]\b(?=\s?[),;&/]|\s{1,3}(?:a\s?nd|or)\b|\s{0,3}(?:\.|$|\n|¶)|\s{1,3}\d))*",
    re.I,
)
_REASON_TOK_RE = re.compile(r"(a\s?nd|or)\b|(1)\s{0,3}\.\s{0,3}(\d)|([a-h])\b", re.I)
# where the classified-by text stops: "for reasons", "reasons:", or an inline "1.4 (b)"
_REASON_INLINE_RE = re.compile(
    r"(?:[,;.]\s{0,3})?(?:\bfor\s{1,3})?"
    r"(?:\brea\s{0,3}so\s{0,3}ns?\b\s{0,3}:?"
    r"|(?:\(\s?)?\b1\s{0,3}\.\s{0,3}[4-6]\.?\s{0,3}\(?\s{0,3}[A-Ha-h]\b)",
    re.I,
)
_CB_STOP_RE = re.compile(r"\n[ \t]*\n|(?<=\.\.\.)\s")
_REASON_NUM_RE = re.compile(r"1\s{0,3}\.\s{0,3}\d")

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

_SUMMARY_END_RE = re.compile(r"\bEND\s{1,3}(?:OF\s{1,3})?SUMMARY\b", re.I)
_SUMMARY_START_RE = re.compile(
    r"(?<![A-Za-z])(?:BEGIN\s{1,3})?SUMMARY(?:\s{1,3}AND\s{1,3}(?:COMMENT|INTRODUCTION|ACTION"
    r"\s{1,3}REQUEST))?(?:\s{0,3}[:.\-]+|\s{0,3}\n|(?=\s{1,3}[A-Z(]))",
    re.I,
)

_TITLE_WORDS = frozenset(
    """ambassador amb ambassador-designate dcm cda charge chargé d'affaires d’affaires a.i.
    a.i deputy chief of mission political pol polcouns polcounselor econcouns ecopol econ
    economic minister counselor counsellor mincouns polmincouns minister-counselor consul
    general cg acting officer section a/dcm poloff econoff polchief econchief principal
    officer assistant secretary director polmiloff political/economic political-economic
    pol/econ pol-econ external internal affairs public rso chief deputy head
    management consular unit the for pao i/a d/pol a/pol coordinator pol/c com polc
    """.split()
)
_NAME_PARTICLES = frozenset("van von de del da di al el le la bin du der den ten".split())
_SIGNER_STOP = frozenset(
    "END COMMENT NOTE BT NNNN MINIMIZE CONSIDERED UNQUOTE QUOTE TEXT SUMMARY CONFIDENTIAL "
    "SECRET UNCLASSIFIED UNCLAS SIPDIS NOFORN THE AND OF TO FOR IN A IS Comment End".split()
)
_WS_RE = re.compile(r"\s+")
_DETOK_RE = re.compile(r"\s+([,.;:!?)\]])|([(\[])\s+|\s+('s|’s|n't)\b")


# --------------------------------------------------------------------------- helpers


def _norm(s: str) -> str:
    return _WS_RE.sub(" ", s).strip()


def _detok(s: str) -> str:
    """Collapse whitespace and undo the tagger's spacing around punctuation."""
    s = _norm(s)
    if "]" in s and "[" not in s:  # stray closers left by the tagger's markup
        s = _norm(s.replace("]", ""))
    return _DETOK_RE.sub(lambda m: m.group(1) or m.group(2) or m.group(3), s)


def _mask(head: str) -> str:
    """Blank out page lines, date prefixes and corrected-copy banners, keeping offsets."""
    return _MASK_RE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), head)


def _line_end(s: str, pos: int, limit: int) -> int:
    i = s.find("\n", pos, limit)
    return limit if i < 0 else i


@dataclass
class _Label:
    kind: str
    start: int
    end: int
    value: str | None = None  # the EO number


def _find_labels(zone: str) -> list[_Label]:
    out: list[_Label] = []
    for m in _LABEL_RE.finditer(zone):
        kind = m.lastgroup
        if kind in ("eonum", "eonum2"):  # pragma: no cover - lastgroup is the outer group
            kind = "eo"
        if kind == "eo2":
            kind = "eo"
        value = None
        if kind == "eo":
            value = m.group("eonum") or m.group("eonum2")
        out.append(_Label(kind or "", m.start(), m.end(), value))
    return out


def _first_anchor(text: str, limit: int) -> int | None:
    m = _ANCHOR_PARA_RE.search(text, 0, limit)
    return m.start() if m else None


# --------------------------------------------------------------------------- classification


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
    post = _norm(m.group(3)).upper()
    serial = m.group(4)
    # the section may come after the post (rare) or the words may be captions
    if _BAD_POST_RE.search(post):
        return section, None, None
    sm = re.match(r"SECTION (\d{1,2}) OF (\d{1,2})$", post)
    if sm:
        return (int(sm.group(1)), int(sm.group(2))), None, None
    return section, post, serial


# --------------------------------------------------------------------------- reasons


def _parse_reasons(block: str) -> tuple[str, ...]:
    out: list[str] = []
    base: str | None = None
    base_used = True
    for m in _REASON_TOK_RE.finditer(block):
        if m.group(1):
            continue
        if m.group(2):
            if base is not None and not base_used:
                out.append(base)
            base = f"1.{m.group(3)}"
            base_used = False
        elif m.group(4) and base is not None:
            out.append(f"{base}({m.group(4).upper()})")
            base_used = True
    if base is not None and not base_used:
        out.append(base)
    seen: list[str] = []
    for r in out:
        if r not in seen:
            seen.append(r)
    return tuple(seen)


def _reason_block(zone: str, pos: int, limit: int) -> tuple[tuple[str, ...], int] | None:
    """Reasons starting at the first ``1.x`` at/after pos (within 12 chars)."""
    m = _REASON_NUM_RE.search(zone, pos, min(limit, pos + 24))
    if not m:
        return None
    b = _REASON_BLOCK_RE.match(zone, m.start(), min(limit, m.start() + 120))
    if not b:
        return None
    block = b.group(0)
    # trim trailing blanks / open parens / separators
    stripped = block.rstrip(" \t\n,;&/(")
    if stripped.count("(") > stripped.count(")") and block[len(stripped):].startswith(")"):
        stripped += ")"
    end = m.start() + len(stripped)
    return _parse_reasons(stripped), end


# --------------------------------------------------------------------------- classified by


def _split_title(s: str) -> tuple[str | None, str | None]:
    """'DCM EARL IRVING' -> ('DCM', 'EARL IRVING')."""
    words = s.split()
    i = 0
    while i < len(words) and words[i].lower().strip(",.;:") in _TITLE_WORDS:
        i += 1
    # 'for' / 'the' are not a title's last word
    while i > 0 and words[i - 1].lower() in ("for", "the", "of"):
        i -= 1
    title = " ".join(words[:i]) or None
    name = " ".join(words[i:]) or None
    return title, name


def _clean_name(n: str | None) -> str | None:
    if not n:
        return None
    n = n.strip(" ,;:")
    if n.endswith(".") and len(n.split()[-1]) > 2:
        n = n[:-1]
    n = n.strip()
    return n or None


def _classified_by(value: str) -> tuple[str | None, str | None, str | None]:
    v = _detok(value)
    v = re.sub(r"^(?:\(\s?U\s?\)\s?)?(?:CLASSIFIED\s+BY\s?:?\s?)+", "", v, flags=re.I)
    v = re.sub(r"(?:[,;.]?\s*(?:for|FOR|For)\s*)$", "", v)
    v = re.sub(r"\s*E\.?\s?O\.?\s?1\d{4}\s*$", "", v)
    v = v.strip(" ,;:")
    if v.endswith(".") and not re.search(r"\b[A-Z]\.$", v) and not v.endswith("a.i."):
        v = v[:-1].rstrip(" ,;")
    if not v:
        return None, None, None
    parts = [p.strip() for p in re.split(r"[,;]", v) if p.strip()]
    first = re.sub(r"\s+(?:for|FOR)$", "", parts[0]) if parts else ""
    title, name = _split_title(first)
    if name and re.search(r"\b(?:for|FOR)\b", name):
        name = re.split(r"\s+(?:for|FOR)\s+", name)[0]
    if name and not title and len(parts) > 1:
        title = parts[1]
    name = _clean_name(name)
    if name and not re.search(r"[A-Za-z]{2}", name):
        name = None
    return v, name, (title.strip(" ,;.") if title else None)


# --------------------------------------------------------------------------- refs, tags


_REF_BODY_STOP_RE = re.compile(
    r"(?<=[\d)])\s{1,3}(?=[A-Z][a-z]+\s{1,3}[a-z]{2,}|(?:On|In|The|During|At|As|This|Per|We"
    r"|Following|According|Post|Embassy|Summary|SUMMARY)\b)"
)


_REF_STOP_RE = re.compile(
    r"\n[ \t]*\n|(?<![A-Za-z])(?:BEGIN\s)?SUMMARY\s?[:.\-]|\(\s?[USC]\s?\)\s"
    r"|SENSITIVE BUT UNCLASSIFIED", re.I)
_REF_NEXT_RE = re.compile(r"\s{1,8}¶?\(?[B-T]\s?[.)]\s")


def _parse_refs(value: str) -> tuple[str, ...]:
    v = value.replace("¶", " ")
    v = _detok(v)
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


_TAG_CONT_RE = re.compile(r"[ \t]{0,4}(?:[A-Z]{2,4}[ \t,]{0,3}){1,30}")
_PROSE_WORDS = frozenset("SUMMARY AND OF THE FOR WITH S AN ARE FROM".split())


def _parse_tags(value: str, trim_prose: bool = False) -> tuple[str, ...]:
    toks = [_detok(m.group(0)).strip(".").upper() for m in _TAG_TOKEN_RE.finditer(value)]
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


def _action_lines(region: str) -> tuple[str, ...]:
    lines: list[str] = []
    chunks = [c for c in region.split("\n") if c.strip()]
    if len(chunks) <= 1 and region.strip():
        one = _norm(region)
        cuts = [m.start() for m in _ACTION_SPLIT_RE.finditer(one)]
        if cuts and cuts[0] > 0:
            cuts.insert(0, 0)
        if not cuts:
            cuts = [0]
        chunks = [one[a:b] for a, b in zip(cuts, cuts[1:] + [len(one)], strict=True)]
    for c in chunks:
        c = _detok(c)
        c = _CAPTION_RE.sub(" ", c)
        c = _norm(c).strip(" ,;")
        if len(c) < 3 or not _ACTION_LINE_RE.search(c):
            continue
        if c.upper().startswith(("DECLASSIFIED", "ORIGINAL TELEGRAM", "E.O.")):
            continue
        lines.append(c)
    return tuple(lines[:20])


# --------------------------------------------------------------------------- summary, signer


def _summary(text: str, paragraphs: list[Paragraph], header_end: int) -> tuple[int, int] | None:
    limit = min(len(text), 30000)
    em = _SUMMARY_END_RE.search(text, header_end, limit)
    if em:
        lo = max(header_end, em.start() - 8000)
        start_m = None
        for sm in _SUMMARY_START_RE.finditer(text, lo, em.start()):
            if sm.group(0).upper().lstrip().startswith("END"):
                continue
            start_m = sm
            break
        if start_m is None:
            return None
        a = start_m.end()
        while a < em.start() and text[a] in " \t\n-:.":
            a += 1
        b = em.start()
        while b > a and text[b - 1] in " \t\n.-(":
            b -= 1
        return (a, b) if b > a else None
    # no end marker: a paragraph that opens with "Summary:"
    for p in paragraphs[:2]:
        sm = _SUMMARY_START_RE.search(text, p.start, min(p.end, p.start + 40))
        if sm and sm.group(0).rstrip().endswith((":", ".", "-")):
            a = sm.end()
            while a < p.end and text[a] in " \t\n":
                a += 1
            b = p.end
            while b > a and text[b - 1] in " \t\n":
                b -= 1
            return (a, b) if b > a else None
    return None


_SIGNER_TOKEN_RE = re.compile(r"^(?:[A-Z][A-Za-z'’\-]*\.?|[A-Z]\.)$")


def _signer(text: str) -> str | None:
    tail = text[-400:].rstrip()
    if not tail:
        return None
    line = tail.rsplit("\n", 1)[-1].strip()
    toks = line.split()
    # drop trailing routing junk: NNNN ..., '>', dates, banners
    for i, t in enumerate(toks):
        if t == "NNNN":
            toks = toks[:i]
            break
    while toks and (re.fullmatch(r"[>\d/:\-.]+", toks[-1])
                    or toks[-1] in ("CONFIDENTIAL", "SECRET", "UNCLASSIFIED", "UNCLAS")):
        toks.pop()
    if not toks:
        return None
    toks[-1] = toks[-1].rstrip(".")
    run: list[str] = []
    for t in reversed(toks):
        if t in _SIGNER_STOP:
            break
        if t.endswith(".") and run and not re.fullmatch(r"[A-Z]\.|JR\.|Jr\.|SR\.|Sr\.", t):
            break
        if _SIGNER_TOKEN_RE.match(t) or (t.lower() in _NAME_PARTICLES and run):
            run.append(t)
            if len(run) > 4:
                return None
            continue
        break
    if not run:
        return None
    run.reverse()
    while run and run[0].lower() in _NAME_PARTICLES and not run[0][0].isupper() and len(run) == 1:
        return None
    if len(run) == len(toks) and len(run) > 3:
        return None
    preceding = toks[len(toks) - len(run) - 1] if len(toks) > len(run) else None
    if preceding is not None:
        # glued to the last sentence: only after sentence punctuation or a non-name word
        if preceding.isupper() and preceding.isalpha() and len(preceding) > 1:
            return None
    name = " ".join(run)
    if not re.search(r"[A-Za-z]{2}", name):
        return None
    return name


# --------------------------------------------------------------------------- header extent


def _header_end(fields_end: int, para1: int | None, text: str) -> int:
    """THE definition of the header extent.

    From 0 to the first paragraph marker when the header fields run up to it (only headings,
    dashes or at most a short line lie between); otherwise (no paragraph, or body text before
    the first numbered paragraph) the end of the last header field.
    """
    if para1 is None:
        return max(0, min(fields_end, len(text)))
    if fields_end >= para1:
        return para1
    gap = text[fields_end:para1]
    if len(_norm(gap)) <= 120:
        return para1
    return fields_end


# --------------------------------------------------------------------------- main parse


def _header_scan(text: str) -> dict:
    anchor = _first_anchor(text, _SCAN)
    # classified-by may sit inside paragraph 1: look a little past the first anchor
    head = text[: _SCAN if anchor is None else min(_SCAN, anchor + 1000)]
    zone = _mask(head)
    labels_all = _find_labels(zone)

    # banner zone: before the first header field label
    first_field = next((lb.start for lb in labels_all if lb.kind in ("eo", "tags", "subject")),
                       None)
    ban_limit = min(len(zone), max(first_field or 0, 0) or 1500, 2500)
    if first_field is not None and first_field < 40:
        ban_limit = min(len(zone), 1500)
    classification, banner_end = _classification(zone, ban_limit)
    section = post = serial = None
    if classification is not None:
        for m in _BANNER_RE.finditer(zone, 0, ban_limit):
            sec, post, serial = _post_serial(zone, m.end())
            section = section or sec
            if post:
                section = sec or section
                break
    if classification is None:
        pm = _PAGE_BANNER_RE.search(zone)
        if pm:
            classification = pm.group(1)

    # the header field chain: labels before the first anchored paragraph (classified-by may
    # sit inside paragraph 1), contiguous (gaps below 1500 chars)
    labels: list[_Label] = []
    last = 0
    for lb in labels_all:
        if anchor is not None and lb.start >= anchor:
            if lb.kind in ("cby", "reason") and lb.start < anchor + 800:
                if not any(x.kind == lb.kind for x in labels):
                    labels.append(lb)
            continue
        if lb.start - last > 1500 and labels:
            break
        labels.append(lb)
        last = lb.start
    # keep the first label of each kind (reason: the first after classified-by too)
    first: dict[str, _Label] = {}
    for lb in labels:
        first.setdefault(lb.kind, lb)

    # unanchored paragraph 1: after the last label
    para1 = anchor
    if anchor is None:
        after = max((lb.end for lb in labels), default=0)
        if labels:
            for m in _NUM_PARA_RE.finditer(zone, after):
                num = m.group(1) or m.group(2)
                if num == "1":
                    para1 = m.start(1) if m.group(1) else m.start(2)
                    break
    zone_end = len(zone) if para1 is None else para1

    starts = sorted(lb.start for lb in labels)

    def next_label(pos: int) -> int:
        for s in starts:
            if s > pos:
                return s
        return len(zone)

    def value_end(lb: _Label, stop_re: re.Pattern | None, line_only: bool, cap: int) -> int:
        lim = min(next_label(lb.start), lb.end + cap)
        if para1 is not None and lb.start < para1:
            lim = min(lim, para1)
        end = lim
        if stop_re is not None:
            sm = stop_re.search(zone, lb.end, lim)
            if sm:
                end = sm.start()
        if line_only:
            end = min(end, _line_end(zone, lb.end, end))
        return end

    fields_end = 0
    eo = decl = None
    if "eo" in first:
        lb = first["eo"]
        eo = lb.value
        fields_end = max(fields_end, lb.end)
        if "decl" not in first or first["decl"].start > lb.end + 20:
            tm = _EO_TAIL_RE.match(zone, lb.end)
            if tm:
                decl = _norm(tm.group(1)).replace(" / ", "/").replace("N /A", "N/A")
                if decl.upper().replace(" ", "") == "N/A":
                    decl = "N/A"
                fields_end = max(fields_end, tm.end())
    if "decl" in first:
        lb = first["decl"]
        dm = _DECL_VALUE_RE.match(zone, lb.end, min(len(zone), lb.end + 80))
        if dm:
            decl = _norm(dm.group(1))
            fields_end = max(fields_end, dm.end())
        else:
            fields_end = max(fields_end, lb.end)

    tags: tuple[str, ...] = ()
    if "tags" in first:
        lb = first["tags"]
        lim = min(next_label(lb.start), lb.end + 400, zone_end)
        end = lim
        # raw spacing: a line, continued while it ends with a comma
        pos = lb.end
        single_line = True
        while True:
            le = _line_end(zone, pos, lim)
            if le >= lim:
                end = lim
                break
            single_line = False
            nxt = _line_end(zone, le + 1, lim)
            if not (zone[pos:le].rstrip().endswith(",")
                    or _TAG_CONT_RE.fullmatch(zone, le + 1, nxt)):
                end = le
                break
            pos = le + 1
        tags = _parse_tags(zone[lb.end:end],
                           trim_prose=single_line and not (
                               "subject" in first and first["subject"].start == end))
        fields_end = max(fields_end, end)

    subject = None
    if "subject" in first:
        lb = first["subject"]
        end = value_end(lb, _SUBJ_STOP_RE, False, 600)
        # don't cut a leading portion mark "SUBJECT: (C) ..."; cut a later one in tagged text
        s = _detok(zone[lb.end:end])
        s = re.sub(r"\s*-{3,}.*$", "", s)
        s = re.sub(r"\s?\(\s?(?:U|C|S|SBU|S/NF|S//NF|C/NF|C//NF)\s?\)$", "", s)
        subject = s.strip(" ,;") or None
        fields_end = max(fields_end, end)

    refs: tuple[str, ...] = ()
    if "ref" in first:
        lb = first["ref"]
        end = value_end(lb, _REF_STOP_RE, False, 1500)
        # raw spacing: lettered refs may be separated by blank lines
        while end < len(zone) and _REF_NEXT_RE.match(zone, end):
            nxt = value_end(_Label("ref", end, end), _REF_STOP_RE, False, 400)
            if nxt <= end:
                break
            end = nxt
        bs = _REF_BODY_STOP_RE.search(zone, lb.end, end)
        if bs:
            end = bs.start()
        refs = _parse_refs(zone[lb.end:end])
        fields_end = max(fields_end, end)

    classified_by = cb_name = cb_title = None
    reasons: tuple[str, ...] = ()
    reason_lb = first.get("reason")
    if "cby" in first:
        lb = first["cby"]
        lim = min(lb.end + 400, len(zone))
        if para1 is not None and lb.start < para1:
            lim = min(lim, para1)
        # the value stops at a REASON label, an inline "1.4 (b)", a blank line
        rl = next((x for x in labels_all if x.kind == "reason" and lb.end <= x.start < lim), None)
        end = lim
        if rl is not None:
            end = rl.start
        im = _REASON_INLINE_RE.search(zone, lb.end, end)
        if im:
            end = im.start()
        bm = _CB_STOP_RE.search(zone, lb.end, end)
        if bm:
            end = bm.start()
        if rl is None and not im and end == lim:
            end = _line_end(zone, lb.end, lim)
            # tagged spacing: the classified-by sentence ends the line
        classified_by, cb_name, cb_title = _classified_by(zone[lb.end:end])
        fields_end = max(fields_end, end)
        rpos = rl.end if rl is not None and rl.start == end else end
        if rl is not None:
            reason_lb = rl
        rb = _reason_block(zone, rpos, len(zone))
        if rb is None and im:
            rb = _reason_block(zone, im.start(), len(zone))
        if rb is None and rl is not None:
            rb = _reason_block(zone, rl.end, len(zone))
        if rb is not None:
            reasons, rend = rb
            fields_end = max(fields_end, rend)
        else:
            fields_end = max(fields_end, _line_end(zone, end, len(zone)))
    elif reason_lb is not None:
        rb = _reason_block(zone, reason_lb.end, len(zone))
        if rb is not None:
            reasons, rend = rb
            fields_end = max(fields_end, rend)
    if fields_end == 0 and banner_end is not None:
        fields_end = banner_end
        if serial:
            sm = re.search(re.escape(serial), zone[banner_end:banner_end + 150])
            if sm:
                fields_end = banner_end + sm.end()

    header_end = _header_end(fields_end, para1, text)

    # captions: from the banner to the first field label (plus '//NOFORN' banners)
    cap_end = min(x for x in (first_field, header_end, 3000) if x is not None)
    if "subject" in first and first["subject"].start > cap_end:
        cap_end = first["subject"].start
    captions: list[str] = []
    for m in _CAPTION_RE.finditer(zone, 0, max(cap_end, 0)):
        c = _norm(m.group(0))
        c = _CAPTION_NORM.get(c, c)
        if c not in captions:
            captions.append(c)
    if classification == "SENSITIVE BUT UNCLASSIFIED" and "SENSITIVE" not in captions:
        captions.append("SENSITIVE")
    if subject and re.search(r"SENSITIVE BUT UNCLASSIFIED", zone[:header_end]) and \
            "SENSITIVE" not in captions:
        captions.append("SENSITIVE")

    # action lines: after banner/serial, before the first field label
    action: tuple[str, ...] = ()
    if first_field is not None:
        a0 = banner_end or 0
        if serial:
            sm = re.search(re.escape(serial), zone[a0:a0 + 150])
            if sm:
                a0 += sm.end()
        if a0 < first_field:
            action = _action_lines(zone[a0:first_field])

    return {
        "classification": classification,
        "section": section,
        "post": post,
        "serial": serial,
        "captions": tuple(captions),
        "action": action,
        "eo": eo,
        "decl": decl,
        "tags": tags,
        "subject": subject,
        "refs": refs,
        "classified_by": classified_by,
        "classified_by_name": cb_name,
        "classified_by_title": cb_title,
        "reasons": reasons,
        "header_end": header_end,
        "para1": para1,
    }


def parse_header(text: str) -> CableHeader:
    """Parse the header and metadata of a cable's clean text. Never raises."""
    if not isinstance(text, str):
        text = str(text)
    d = _header_scan(text)
    para1 = d.pop("para1")
    paragraphs = _paragraphs(text, para1)
    summary = _summary(text, paragraphs, d["header_end"])
    return CableHeader(summary=summary, signer=_signer(text), **d)


# --------------------------------------------------------------------------- paragraphs


def _portion(text: str, pos: int) -> str | None:
    m = _PORTION_RE.match(text, pos, min(len(text), pos + 70))
    if not m:
        return None
    p = re.sub(r"\s+", "", m.group(1)).upper()
    return p or None


def _paragraphs(text: str, para1: int | None) -> list[Paragraph]:
    marks: list[tuple[int, int, int]] = []  # (start, number, end of the number)
    if "¶" in text:
        for m in _ANCHOR_PARA_RE.finditer(text):
            marks.append((m.start(), int(m.group(1)), m.end()))
    if not marks and para1 is not None:
        expected = 1
        for m in _NUM_PARA_RE.finditer(text, para1):
            g = 1 if m.group(1) else 2
            if int(m.group(g)) != expected:
                continue
            marks.append((m.start(g), expected, m.end()))
            expected += 1
    out: list[Paragraph] = []
    for i, (s, n, e) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else len(text)
        out.append(Paragraph(number=n, portion=_portion(text, e), start=s, end=end))
    return out


def find_paragraphs(text: str) -> list[Paragraph]:
    """Numbered paragraphs of a cable's clean text, with their portion marks. Never raises."""
    if not isinstance(text, str):
        text = str(text)
    if _ANCHOR_PARA_RE.search(text):
        return _paragraphs(text, None)
    d = _header_scan(text)
    return _paragraphs(text, d["para1"])
