"""Which cables the gold layer corrects: a catalogue of the corpus and a seeded, stratified draw.

`catalogue` reads every corpus cable once (reference id, year, post, classification group, body
length, silver entities, case); `draw_sample` chooses cables to correct with years, classifications
and body lengths spread as the corpus spreads them, upper-case cables at a set share, and gives
each its gold split. `scripts/build_gold.py sample` writes the draw to `gold/sample.json`.
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from .convert import DEFAULT_SPLIT, assign_split
from .gold import text_sha256
from .gold_build import GoldWorkError
from .reader import Skipped, Source, read_cable
from .scoring import cable_year, is_upper_case

CABLE_ID = re.compile(r"^\d{2}[A-Z]+\d+$")


# ----------------------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class CatalogueEntry:
    reference_id: str
    year: int  # four digits
    post: str | None
    classification: str
    body_tokens: int
    silver_body_entities: int
    upper_case: bool
    text_sha256: str
    silver_split: str  # the converter's split of the cable when no gold layer pins it


def _class_group(classification: str | None) -> str:
    c = (classification or "").upper()
    if "SECRET" in c:
        return "SECRET"
    if "CONFIDENTIAL" in c:
        return "CONFIDENTIAL"
    return "UNCLASSIFIED" if c else "unknown"


def catalogue(cables_dir: str | Path, progress=None) -> tuple[list[CatalogueEntry], Counter]:
    """Every usable cable of the tagged corpus (one per text), and why the others were left out."""
    entries: list[CatalogueEntry] = []
    left_out: Counter = Counter()
    seen: set[str] = set()
    for path in sorted(Path(cables_dir).glob("*.txt")):
        if progress:
            progress(1)
        if not CABLE_ID.match(path.stem):
            left_out["not a reference id"] += 1
            continue
        record = read_cable(Source(path.name, path), form="tagged")
        if isinstance(record, Skipped):
            left_out[record.reason.split(":")[0]] += 1
            continue
        digest = text_sha256(record.text)
        if digest in seen:
            left_out["duplicate text"] += 1
            continue
        seen.add(digest)
        body_start = record.header.header_end
        body = record.text[body_start:]
        entries.append(
            CatalogueEntry(
                reference_id=path.stem,
                year=int(cable_year(path.stem)),
                post=record.header.post,
                classification=_class_group(record.header.classification),
                body_tokens=len(body.split()),
                silver_body_entities=sum(1 for e in record.entities if e[0] >= body_start),
                upper_case=is_upper_case(record.text, body_start),
                text_sha256=digest,
                silver_split=assign_split(record.text_hash(), DEFAULT_SPLIT),
            )
        )
    return entries, left_out


# --------------------------------------------------------------------------------- the sample


def _period(year: int) -> str:
    if year < 2000:
        return "before 2000"
    if year < 2006:
        return "2000-2005"
    return str(min(year, 2010))


def _length_band(tokens: int, cuts: Sequence[int]) -> int:
    return sum(tokens > c for c in cuts)


def _allocate(sizes: dict, n: int) -> dict:
    """Proportional allocation of n draws over strata (largest remainder, ties by name)."""
    total = sum(sizes.values())
    exact = {k: n * v / total for k, v in sizes.items()}
    alloc = {k: int(x) for k, x in exact.items()}
    rest = sorted(sizes, key=lambda k: (-(exact[k] - alloc[k]), str(k)))
    for k in rest[: n - sum(alloc.values())]:
        alloc[k] += 1
    return alloc


def draw_sample(
    entries: Sequence[CatalogueEntry],
    n: int,
    seed: int,
    exclude: Iterable[str] = (),
    upper_share: float = 0.05,
    split_sizes: dict[str, int] | None = None,
    held_out_only: bool = False,
) -> list[dict]:
    """Draw `n` cables, stratified by period x classification x length tercile in proportion to
    the corpus, with `round(upper_share * n)` of them upper case (drawn the same way from the
    upper-case cables), and give each a gold split: `split_sizes` (test, dev) cables go to those
    splits, stratified by case, the rest to train. With `held_out_only`, only cables the converter
    already puts in its test split are drawn, so adding them to gold dev or test leaves the silver
    train and dev splits (and every silver model) as they are. Same seed and catalogue, same
    draw."""
    rng = random.Random(seed)
    excluded = set(exclude)
    pool = sorted((e for e in entries if e.reference_id not in excluded
                   and (not held_out_only or e.silver_split == "test")),
                  key=lambda e: e.reference_id)  # fmt: skip
    lengths = sorted(e.body_tokens for e in pool)
    cuts = [lengths[len(lengths) // 3], lengths[2 * len(lengths) // 3]]

    def stratum(e: CatalogueEntry) -> tuple:
        return (_period(e.year), e.classification, _length_band(e.body_tokens, cuts))

    n_upper = round(upper_share * n)
    chosen: list[CatalogueEntry] = []
    for upper, k in ((True, n_upper), (False, n - n_upper)):
        groups: dict[tuple, list[CatalogueEntry]] = defaultdict(list)
        for e in pool:
            if e.upper_case == upper:
                groups[stratum(e)].append(e)
        if sum(map(len, groups.values())) < k:
            raise GoldWorkError(f"only {sum(map(len, groups.values()))} cables to draw {k} from")
        alloc = _allocate({s: len(g) for s, g in groups.items()}, k)
        for s in sorted(groups):
            chosen.extend(rng.sample(groups[s], min(alloc[s], len(groups[s]))))
    chosen.sort(key=lambda e: e.reference_id)
    sizes = split_sizes or {"test": 15, "dev": 14}
    splits: dict[str, str] = {}
    for upper in (True, False):
        group = [e.reference_id for e in chosen if e.upper_case == upper]
        rng.shuffle(group)
        share = len(group) / len(chosen)
        pos = 0
        for split in ("test", "dev"):
            take = round(sizes[split] * share)
            for rid in group[pos : pos + take]:
                splits[rid] = split
            pos += take
        for rid in group[pos:]:
            splits[rid] = "train"
    return [
        {**asdict(e), "stratum": list(map(str, stratum(e))), "split": splits[e.reference_id]}
        for e in chosen
    ]
