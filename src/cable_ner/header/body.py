"""Fields of the cable's body: the summary (`Summary:` ... `End Summary`) and the signer."""

from __future__ import annotations

import re

from .model import Paragraph

_SUMMARY_END_RE = re.compile(r"\bEND\s{1,3}(?:OF\s{1,3})?SUMMARY\b", re.I)
_SUMMARY_START_RE = re.compile(
    r"(?<![A-Za-z])(?:BEGIN\s{1,3})?SUMMARY(?:\s{1,3}AND\s{1,3}(?:COMMENT|INTRODUCTION|ACTION"
    r"\s{1,3}REQUEST))?(?:\s{0,3}[:.\-]+|\s{0,3}\n|(?=\s{1,3}[A-Z(]))",
    re.I,
)

_NAME_PARTICLES = frozenset("van von de del da di al el le la bin du der den ten".split())
_SIGNER_STOP = frozenset(
    "END COMMENT NOTE BT NNNN MINIMIZE CONSIDERED UNQUOTE QUOTE TEXT SUMMARY CONFIDENTIAL "
    "SECRET UNCLASSIFIED UNCLAS SIPDIS NOFORN THE AND OF TO FOR IN A IS Comment End".split()
)


def summary(text: str, paragraphs: list[Paragraph], header_end: int) -> tuple[int, int] | None:
    """The summary's span: from `Summary:` to `End Summary`, or a first paragraph that opens
    with `Summary:`."""
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


def signer(text: str) -> str | None:
    """The name on the cable's last line (`SCHMIERER`), if it reads like one."""
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
