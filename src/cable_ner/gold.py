"""The gold layer: hand-corrected entities for shared cables in train/dev/test splits, and scoring.

The silver labels in the corpus are the old tagger's guesses; agreement with silver cannot tell a
better model from one that copies the tagger's mistakes. `gold/gold.jsonl` holds standoff
annotations, corrected by hand to the project's guidelines (`docs/gold-guidelines.md`), one line
per cable:

    {"reference_id": "10MUSCAT71", "split": "test", "text_sha256": "...", "body_start": 295,
     "entities": [[start, end, "LOC"], ...],
     "doubts": [{"start": .., "end": .., "note": ".."}], ...}

with character offsets into the clean text that `markup.parse_markup` makes of the corpus file
`<reference_id>.txt`. No cable text is stored: `load_gold` reads each cable from the corpus folder
and refuses one whose clean text does not hash to `text_sha256`. Only the body (from `body_start`,
the header parser's `header_end` when the gold was built) is annotated and scored.

Scoring against the layer is `cable_ner.gold_score`'s.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .markup import parse_markup

Span = tuple[int, int, str]
Predict = Callable[[str], Iterable[Sequence]]

GOLD_LABELS = ("PER", "LOC", "ORG", "MISC")
GOLD_SPLITS = ("train", "dev", "test")


class GoldError(ValueError):
    """The gold file is malformed or does not match the corpus it refers to."""


@dataclass
class GoldCable:
    reference_id: str
    path: Path
    text: str
    body_start: int
    entities: list[Span]
    silver: list[Span] = field(repr=False, default_factory=list)
    doubts: list[dict] = field(repr=False, default_factory=list)
    meta: dict = field(repr=False, default_factory=dict)

    @property
    def silver_body(self) -> list[Span]:
        return [e for e in self.silver if e[0] >= self.body_start]


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def default_gold_path() -> Path:
    """`gold/gold.jsonl` of the source checkout (the gold layer is versioned with the code)."""
    return Path(__file__).resolve().parents[2] / "gold" / "gold.jsonl"


def read_gold_records(path: str | Path | None = None) -> list[dict]:
    path = Path(path) if path is not None else default_gold_path()
    records = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                for key in ("reference_id", "text_sha256", "body_start", "entities"):
                    if key not in rec:
                        raise KeyError(key)
            except (json.JSONDecodeError, KeyError) as err:
                raise GoldError(f"{path}, line {n}: not a gold record: {err!r}") from err
            records.append(rec)
    return records


def gold_pins(path: str | Path | None = None) -> dict[str, str]:
    """reference_id -> text_sha256 of the gold test and dev cables (the converter pins them to
    silver test, so nothing is trained or chosen on them)."""
    splits = gold_splits(path)
    return {**splits["test"], **splits["dev"]}


def record_split(rec: dict) -> str:
    """A record's gold split; the layer's first cables were made for testing and have none."""
    return rec.get("split", "test")


def gold_splits(path: str | Path | None = None) -> dict[str, dict[str, str]]:
    """split -> {reference_id: text_sha256}: what the converter keeps out of silver training
    (test, dev) and trains on with gold labels (train)."""
    out: dict[str, dict[str, str]] = {s: {} for s in GOLD_SPLITS}
    for rec in read_gold_records(path):
        out[record_split(rec)][rec["reference_id"]] = rec["text_sha256"]
    return out


def gold_labels(
    path: str | Path | None = None, splits: Sequence[str] = ("train",)
) -> dict[str, tuple[str, list[Span]]]:
    """text_sha256 -> (split, body entities) of the gold cables in `splits`: the converter puts
    each in its split with these labels in place of the tagger's."""
    return {
        rec["text_sha256"]: (
            record_split(rec), [(int(s), int(e), str(lab)) for s, e, lab in rec["entities"]]
        )
        for rec in read_gold_records(path)
        if record_split(rec) in splits
    }


def load_gold(
    path: str | Path | None, cables_dir: str | Path, split: str | None = None
) -> list[GoldCable]:
    """Read the gold standoff layer and attach it to the corpus cables it refers to.

    `split` keeps one gold split (`train`, `dev`, `test`); None or "all" keeps every cable.
    Each `<reference_id>.txt` in `cables_dir` is parsed with `markup.parse_markup`; its clean text
    must hash to the record's `text_sha256`, otherwise a GoldError names the id and the file.
    """
    if split not in (None, "all", *GOLD_SPLITS):
        raise GoldError(f"unknown gold split {split!r}: one of {', '.join(GOLD_SPLITS)} or all")
    cables_dir = Path(cables_dir)
    out = []
    for rec in read_gold_records(path):
        if split not in (None, "all") and record_split(rec) != split:
            continue
        rid = rec["reference_id"]
        file = cables_dir / f"{rid}.txt"
        if not file.is_file():
            raise GoldError(f"gold cable {rid}: {file} not found")
        parsed = parse_markup(file.read_text(encoding="utf-8"))
        digest = text_sha256(parsed.text)
        if digest != rec["text_sha256"]:
            raise GoldError(
                f"gold cable {rid}: the clean text of {file} has sha256 {digest}, the gold layer "
                f"was made for {rec['text_sha256']}: the file or the markup parser changed, so "
                "the gold offsets no longer apply"
            )
        text = parsed.text
        body_start = int(rec["body_start"])
        ents: list[Span] = []
        for item in rec["entities"]:
            start, end, label = int(item[0]), int(item[1]), str(item[2])
            if not (body_start <= start < end <= len(text)) or label not in GOLD_LABELS:
                raise GoldError(
                    f"gold cable {rid}: bad entity {item!r} (body starts at {body_start})"
                )
            ents.append((start, end, label))
        ents.sort()
        meta = {k: v for k, v in rec.items() if k not in ("entities", "doubts")}
        out.append(
            GoldCable(
                rid,
                file,
                text,
                body_start,
                ents,
                list(parsed.entities),
                list(rec.get("doubts", [])),
                meta,
            )
        )
    return out
