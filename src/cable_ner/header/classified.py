"""CLASSIFIED BY (who, with their title) and the classification reasons (`1.4 ( B ) , ( D )`)."""

from __future__ import annotations

import re

from .text import detok, line_end
from .zone import Zone

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


def classified_by_and_reasons(
    z: Zone,
) -> tuple[tuple[str | None, str | None, str | None], tuple[str, ...], int]:
    """((classified by, name, title), reasons, end). The classified-by value stops at a REASON
    label, an inline `1.4 (b)` or a blank line; without a classified-by label, a REASON label's
    reasons alone."""
    zone, first = z.zone, z.first
    if "cby" not in first:
        lb = first.get("reason")
        rb = _reason_block(zone, lb.end, len(zone)) if lb is not None else None
        return (None, None, None), (rb[0] if rb else ()), (rb[1] if rb else 0)
    lb = first["cby"]
    limit = min(lb.end + 400, len(zone))
    if z.para1 is not None and lb.start < z.para1:
        limit = min(limit, z.para1)
    rl = next((x for x in z.labels_all if x.kind == "reason" and lb.end <= x.start < limit), None)
    end = limit if rl is None else rl.start
    im = _REASON_INLINE_RE.search(zone, lb.end, end)
    if im:
        end = im.start()
    bm = _CB_STOP_RE.search(zone, lb.end, end)
    if bm:
        end = bm.start()
    if rl is None and not im and end == limit:
        end = line_end(zone, lb.end, limit)  # tagged spacing: the sentence ends the line
    who = _classified_by(zone[lb.end : end])
    rpos = rl.end if rl is not None and rl.start == end else end
    rb = _reason_block(zone, rpos, len(zone))
    if rb is None and im:
        rb = _reason_block(zone, im.start(), len(zone))
    if rb is None and rl is not None:
        rb = _reason_block(zone, rl.end, len(zone))
    if rb is None:
        return who, (), max(end, line_end(zone, end, len(zone)))
    return who, rb[0], max(end, rb[1])


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
    v = detok(value)
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
