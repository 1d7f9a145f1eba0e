"""Making the gold layer: draw cables, give annotators scratch copies, check and build records.

The gold layer (`gold/gold.jsonl`, read by `cable_ner.gold`) is made by hand-correcting corpus
cables in a scratch folder outside the repository. This module owns every step of that work:

- `cable_ner.gold_sample` (its own module): the seeded, stratified choice of cables to correct
  and their gold split;
- `scratch_copy`: the annotator's copy of a cable, with the tagger's brackets (the first pass) or
  without them (`blind`, the independent second pass of the agreement study);
- `apply_fixes`: corrected lines (`N: line`) written into a scratch copy, refusing any line whose
  text differs from the original's;
- `check_scratch`: text unchanged, entities on whole tokens, a doubts file present;
- `build_record`: one gold record from a corrected copy; `bracket` is the inverse that writes a
  record back into the bracket form (to extend or revise the layer);
- `agreement`: F between two independent passes, and how much the tagger's brackets anchor one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from .gold import GOLD_LABELS, GOLD_SPLITS, text_sha256
from .header import parse_header
from .markup import ENTITY_CLOSE, Markup, parse_markup
from .scoring import is_upper_case

_NOTE = re.compile(r"^\s*(?:(\d+)(?:\s*-\s*(\d+))?|(all))\b[^:]*:\s*(.+)$")
_FIX = re.compile(r"^(\d+):[ ]?(.*)$")
_BRACKET = re.compile(r"\[(PER|LOC|ORG|MISC) |  \]")


class GoldWorkError(ValueError):
    """A scratch copy, fix file or sample that cannot be used; the message names the file."""


# ------------------------------------------------------------------------- scratch copies


def strip_brackets(source: str) -> str:
    """The source with every entity bracket removed and nothing else changed (stray `  ]` that
    close no entity are text and stay)."""
    out, pos, open_ = [], 0, False
    for m in _BRACKET.finditer(source):
        is_open = m.group(1) is not None
        if is_open == open_:  # a stray closer (or an opener inside an entity: left to the parser)
            continue
        out.append(source[pos : m.start()])
        pos, open_ = m.end(), is_open
    out.append(source[pos:])
    return "".join(out)


def bracket(source: str, entities: Iterable[tuple[int, int, str]], keep_before: int = 0) -> str:
    """Write `entities` (offsets into the clean text of `source`) as brackets into `source`,
    replacing its own brackets after clean offset `keep_before` (those before it stay)."""
    entities = sorted(entities)
    parsed = parse_markup(source)
    head_ents = [e for e in parsed.entities if e[0] < keep_before]
    bare = strip_brackets(source)
    plain = parse_markup(bare)
    if plain.text != parsed.text:
        raise GoldWorkError("removing the brackets changed the clean text")
    inserts: list[tuple[int, str]] = []
    for start, end, label in head_ents + [e for e in entities if e[0] >= keep_before]:
        s, e = plain.to_source(start, end)
        inserts += [(s, f"[{label} "), (e, ENTITY_CLOSE)]
    out = bare
    for at, piece in sorted(inserts, key=lambda x: x[0], reverse=True):
        out = out[:at] + piece + out[at:]
    return out


def scratch_copy(original: Path, blind: bool = False) -> str:
    """An annotator's starting copy: the corpus file, or without any brackets (`blind`)."""
    source = original.read_text(encoding="utf-8")
    return strip_brackets(source) if blind else source


def body_lines(source: str) -> tuple[list[str], int]:
    """The lines of a scratch copy and the index of the first body line."""
    parsed = parse_markup(source)
    body_start = parse_header(parsed.text).header.header_end
    src_body = parsed.to_source(body_start, body_start)[0]
    lines = source.split("\n")
    pos = 0
    for i, line in enumerate(lines):
        if pos + len(line) >= src_body:
            return lines, i
        pos += len(line) + 1
    return lines, len(lines)


def first_difference(a: str, b: str) -> int:
    """The first offset where two texts differ (the shorter's length if one extends the other)."""
    pairs = enumerate(zip(a, b, strict=False))
    return next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))


def _clean_line(line: str) -> str:
    return parse_markup(line).text


def apply_fixes(scratch: Path, fixes: Path) -> int:
    """Write the corrected lines of `fixes` (`N: line`, N 0-based as `show` prints it) into the
    scratch copy. Each corrected line must have the same text as the line it replaces once the
    brackets are removed; otherwise nothing is written and the error names the fix line."""
    lines = scratch.read_text(encoding="utf-8").split("\n")
    changed = 0
    for n, raw in enumerate(fixes.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        m = _FIX.match(raw)
        if not m:
            raise GoldWorkError(f"{fixes}, line {n}: not `N: corrected line`: {raw[:60]!r}")
        i = int(m.group(1))
        if i >= len(lines):
            raise GoldWorkError(f"{fixes}, line {n}: {scratch} has no line {i}")
        # the line's own leading and trailing whitespace is kept, whatever the fix has there
        old = lines[i]
        core = old.strip()
        lead = old[: len(old) - len(old.lstrip())]
        new = lead + m.group(2).strip() + old[len(lead) + len(core) :]
        try:
            new_text = _clean_line(new)
        except ValueError as err:
            raise GoldWorkError(f"{fixes}, line {n}: bad brackets: {err}") from err
        old_text = _clean_line(lines[i])
        if new_text != old_text:
            at = first_difference(new_text, old_text)
            raise GoldWorkError(
                f"{fixes}, line {n}: the text of line {i} changed at column {at}: "
                f"{new_text[max(0, at - 20):at + 20]!r} vs {old_text[max(0, at - 20):at + 20]!r}"
            )
        if lines[i] != new:
            lines[i] = new
            changed += 1
    scratch.write_text("\n".join(lines), encoding="utf-8")
    return changed


# ------------------------------------------------------------------------------ the records


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for piece in text.split("\n"):
        spans.append((pos, pos + len(piece)))
        pos += len(piece) + 1
    return spans


def read_doubts(notes: Path, text: str, body_start: int) -> list[dict]:
    """Doubt lines `N: note`, `N-M: note`, `N,M and passim: note`, `all: note` -> body char spans.

    N is the 0-based line (sentence) of the bracketed file, the same line of the clean text.
    """
    if not notes.is_file():
        return []
    lines = _line_spans(text)
    out = []
    for raw in notes.read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        m = _NOTE.match(raw)
        if not m or m.group(3):
            start, end = body_start, len(text.rstrip())
            note = m.group(4) if m else raw.strip()
        else:
            first = min(int(m.group(1)), len(lines) - 1)
            last = min(int(m.group(2) or first), len(lines) - 1)
            start, end = max(lines[first][0], body_start), max(lines[last][1], body_start)
            note = m.group(4)
        out.append({"start": start, "end": end, "note": note.strip()})
    return out


def on_token_boundaries(text: str, start: int, end: int) -> bool:
    return (start == 0 or text[start - 1].isspace()) and (end == len(text) or text[end].isspace())


def compare_text(rid: str, corrected: Markup, original: Markup, where: Path) -> None:
    if corrected.text != original.text:
        a, b = corrected.text, original.text
        at = first_difference(a, b)
        raise GoldWorkError(
            f"{rid}: the corrected clean text differs from {where} at offset {at}: "
            f"{a[max(0, at - 30) : at + 30]!r} vs {b[max(0, at - 30) : at + 30]!r}"
        )


def build_record(corrected: Path, original: Path, split: str, how: str | None = None) -> dict:
    """One gold record from a corrected scratch copy and its corpus original (text must match)."""
    rid = corrected.stem
    try:
        gold = parse_markup(corrected.read_text(encoding="utf-8"))
    except ValueError as err:
        raise GoldWorkError(f"{corrected}: {err}") from err
    orig = parse_markup(original.read_text(encoding="utf-8"))
    compare_text(rid, gold, orig, original)
    if split not in GOLD_SPLITS:
        raise GoldWorkError(f"{rid}: split {split!r} is not one of {GOLD_SPLITS}")
    text = gold.text
    header = parse_header(text).header
    body_start = header.header_end
    ents = sorted((s, e, lab) for s, e, lab in gold.entities if s >= body_start)
    for s, e, lab in ents:
        if lab not in GOLD_LABELS or not on_token_boundaries(text, s, e):
            raise GoldWorkError(
                f"{rid}: entity {(s, e, lab)} {text[s:e]!r} is not on token "
                "boundaries or has an unknown label"
            )
    silver_body = [x for x in orig.entities if x[0] >= body_start]
    how = how or (
        "Hand-corrected from the tagger's silver brackets by reading every body sentence "
        "(guidelines: docs/gold-guidelines.md)"
    )
    return {
        "reference_id": rid,
        "split": split,
        "text_sha256": text_sha256(text),
        "body_start": body_start,
        "entities": [[s, e, lab] for s, e, lab in ents],
        "doubts": read_doubts(corrected.with_suffix(".notes"), text, body_start),
        "annotator_note": (
            f"{how}; silver body entities {len(silver_body)}, gold body entities {len(ents)}."
        ),
        "classification": header.classification,
        "sbu": header.wikileaks_classification == "UNCLASSIFIED//FOR OFFICIAL USE ONLY",
        "post": header.post,
        "year": rid[:2],
        "upper_case": is_upper_case(text, body_start),
    }


def check_scratch(corrected: Path, original: Path) -> dict:
    """What an annotator's copy holds, or a GoldWorkError naming what is wrong with it."""
    rec = build_record(corrected, original, "train")
    notes = corrected.with_suffix(".notes")
    if not notes.is_file() or not notes.read_text(encoding="utf-8").strip():
        raise GoldWorkError(f"{corrected.stem}: no doubts file {notes} (write `all: none` if none)")
    return rec


# ------------------------------------------------------------------------------- agreement


def _prf(both: int, second: int, first: int) -> dict:
    """P/R/F of the second pass read against the first (F is the same either way)."""
    return {"p": both / second if second else 0.0, "r": both / first if first else 0.0,
            "f": 2 * both / (first + second) if first + second else 0.0,
            "first": first, "second": second, "both": both}  # fmt: skip


def agreement(
    first: dict[str, list], second: dict[str, list], silver: dict[str, list]
) -> dict:
    """Exact-span agreement of two passes over the same cables ({id: [[s, e, label], ...]}):
    F overall and per label (F is symmetric; `p` reads the second pass against the first), and
    the anchoring of the first pass by the tagger: among its entities that keep a silver entity
    and among those that do not, the share the second pass does not have."""
    a_all: Counter = Counter()
    b_all: Counter = Counter()
    tp: Counter = Counter()
    kept = Counter()
    per_cable = {}
    for rid in sorted(first):
        a = {tuple(x) for x in first[rid]}
        b = {tuple(x) for x in second[rid]}
        sil = {tuple(x) for x in silver.get(rid, [])}
        for lab in GOLD_LABELS:
            a_all[lab] += sum(1 for x in a if x[2] == lab)
            b_all[lab] += sum(1 for x in b if x[2] == lab)
            tp[lab] += sum(1 for x in a & b if x[2] == lab)
        for x in a:
            group = "kept_silver" if x in sil else "not_silver"
            kept[group] += 1
            kept[group + "_disagreed"] += x not in b
        per_cable[rid] = _prf(len(a & b), len(b), len(a))["f"]
    out = {
        "all": _prf(sum(tp.values()), sum(b_all.values()), sum(a_all.values())),
        "per_label": {lab: _prf(tp[lab], b_all[lab], a_all[lab]) for lab in GOLD_LABELS},
        "per_cable": per_cable,
        "anchoring": {
            group: {
                "first_pass_entities": kept[group],
                "second_pass_lacks": kept[group + "_disagreed"],
                "share": kept[group + "_disagreed"] / kept[group] if kept[group] else None,
            }
            for group in ("kept_silver", "not_silver")
        },
    }
    return out
