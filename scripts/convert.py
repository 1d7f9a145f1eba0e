"""Convert tagged cables into spaCy DocBin train/dev/test shards and a report."""

import sys
from pathlib import Path

# thinc imports torch eagerly whenever it is installed (~180 MB in every process); converting needs
# none of it, so this process and its workers keep it out.
sys.modules.setdefault("torch", None)

import typer  # noqa: E402  (after the torch guard above)
from tqdm import tqdm  # noqa: E402
from wasabi import msg  # noqa: E402

from cable_ner.convert import SPLITS, ConvertOptions, convert  # noqa: E402
from cable_ner.gold import GOLD_SPLITS, GoldError, gold_labels, gold_pins, read_gold_records  # noqa: E402
from cable_ner.reader import iter_sources  # noqa: E402

app = typer.Typer(add_completion=False)


def read_pins(path: Path, gold_only: bool, gold_train: bool) -> tuple[frozenset[str], dict]:
    """Reference ids (and text hashes) to pin to test, and the gold cables to convert with their
    gold labels. From the gold .jsonl: its test and dev cables are pinned, its train cables
    trained on with their gold labels (pinned too without `gold_train`: a silver corpus that
    holds out every gold cable); with `gold_only`, every gold cable goes to its own gold split
    with its gold labels. From a file of one id per line: the ids are pinned."""
    if path.suffix == ".jsonl":
        try:
            if gold_only:
                return frozenset(), gold_labels(path, GOLD_SPLITS)
            if not gold_train:
                pins = {r["reference_id"]: r["text_sha256"] for r in read_gold_records(path)}
                return frozenset(pins) | frozenset(pins.values()), {}
            pins = gold_pins(path)
            return frozenset(pins) | frozenset(pins.values()), gold_labels(path, ("train",))
        except GoldError as err:
            msg.fail(str(err), exits=1)
    if gold_only:
        msg.fail(f"--gold-only needs the gold layer (.jsonl), got {path}", exits=1)
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#")), {}


def gold_inputs(gold: Path, inputs: list[str]) -> list[str]:
    """The inputs (files, or files inside the folders and globs given) that are gold cables; a
    warning names the layer's cables that are not among them, and none at all is an error."""
    ids = {rec["reference_id"] for rec in read_gold_records(gold)}
    try:
        found = {s.stem: str(s.path) for s in iter_sources(inputs) if s.stem in ids}
    except FileNotFoundError as err:
        msg.fail(str(err), exits=1)
    if not found:
        msg.fail(f"none of the {len(ids)} cables of {gold} is among the inputs", exits=1)
    missing = sorted(ids - set(found))
    if missing:
        msg.warn(f"{len(missing)} of the {len(ids)} gold cables are not among the inputs: "
                 f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}")  # fmt: skip
    return sorted(found.values())


@app.command()
def main(
    inputs: list[str] = typer.Argument(..., help="Cable files, folders, globs or .gz files"),
    output: Path = typer.Option(Path("corpus"), "--output", "-o", help="Output folder"),
    split: str = typer.Option("0.8,0.1,0.1", help="train,dev,test fractions"),
    pin_test: Path = typer.Option(
        None, help="Gold .jsonl (test/dev cables pinned to test, train cables with gold labels) "
        "or a list of ids to pin to test"
    ),
    gold_only: bool = typer.Option(
        False, help="Convert only the gold cables of --pin-test, each into its gold split with "
        "its gold labels (the gold corpus)"
    ),
    gold_train: bool = typer.Option(
        True, help="Train the gold train cables of --pin-test with their gold labels; "
        "--no-gold-train pins them to test too (a purely silver training split)"
    ),
    filters: str = typer.Option(None, help="Silver filter rules (JSON); 'none' to keep all"),
    raw_dir: str = typer.Option("", help="Project the entities onto these raw twins' text"),
    max_sentence_tokens: int = typer.Option(128, help="Split longer sentences (tokens)"),
    n_process: int = typer.Option(1, "--n-process", "-n", help="Worker processes"),
    chunk_size: int = typer.Option(64, help="Files per worker task and per shard"),
):
    """Convert the tagged cables in INPUTS into OUTPUT/{train,dev,test}.spacy (DocBin shards) and
    OUTPUT/report.json (what was converted, skipped or filtered, and why)."""
    try:
        fractions = tuple(float(x) for x in split.split(","))
    except ValueError:
        fractions = ()
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        msg.fail(f"--split must be three fractions summing to 1, got {split!r}", exits=1)
    raw = Path(raw_dir) if raw_dir else None  # "" (the project var's default) means no projection
    for path in (pin_test, raw):
        if path is not None and not path.exists():
            msg.fail(f"not found: {path}", exits=1)
    pins, gold = read_pins(pin_test, gold_only, gold_train) if pin_test else (frozenset(), {})
    if gold_only:
        if pin_test is None:
            msg.fail("--gold-only needs --pin-test with the gold layer", exits=1)
        inputs = gold_inputs(pin_test, inputs)
    try:
        total = sum(1 for _ in iter_sources(inputs))
    except FileNotFoundError as err:
        msg.fail(str(err), exits=1)
    options = ConvertOptions(
        split=fractions,
        pins=pins,
        gold=gold,
        filters=filters,
        max_sentence_tokens=max_sentence_tokens,
        raw_dir=str(raw) if raw else None,
        chunk_size=chunk_size,
    )
    with tqdm(total=total, unit="cable", desc="convert", file=sys.stderr) as bar:
        try:
            report = convert(inputs, output, options, n_process=n_process, progress=bar.update)
        except ValueError as err:
            msg.fail(str(err), exits=1)
    print_report(report, output)


def print_report(report: dict, output: Path) -> None:
    msg.divider("Conversion report")
    msg.info(
        f"read {report['files_read']} files: {report['converted']} converted, "
        f"{report['skipped']} skipped, {len(report['duplicates'])} duplicates"
    )
    rows = [(s, *(report["splits"][s].get(k, 0) for k in ("cables", "tokens", "entities")))
            for s in SPLITS]  # fmt: skip
    msg.table(rows, header=("split", "cables", "tokens", "entities"), divider=True)
    msg.table(list(report["entities"].items()), header=("label", "entities"), divider=True)
    if report["skipped_by_reason"]:
        msg.table(list(report["skipped_by_reason"].items()), header=("skipped", "files"))
        for row in report["skipped_files"][:10]:
            line = f":{row['line']}" if row.get("line") else ""
            msg.text(f"  {row['file']}{line}: {row['reason']}")
    msg.text("encodings: " + ", ".join(f"{k} {v}" for k, v in report["encodings"].items()))
    if report["encoding_fallbacks"]:
        fallbacks = report["encoding_fallbacks"]
        msg.warn(f"{len(fallbacks)} files are not valid UTF-8 and were read as cp1252:")
        for name in fallbacks[:10]:
            msg.text(f"  {name}")
    if report["filtered"]:
        msg.table(list(report["filtered"].items()), header=("filtered rule/label", "entities"))
    if report["gold_labels"]:
        msg.text(f"cables with their gold labels: {len(report['gold_labels'])}")
    cov = report["header_coverage"]
    msg.text("header coverage: " + ", ".join(f"{k} {v:.1%}" for k, v in cov.items()))
    if report["projection"]:
        msg.text(f"projection onto raw text: {report['projection']}")
    msg.good(f"wrote {output}/{{train,dev,test}}.spacy and {output}/report.json")


if __name__ == "__main__":
    app()
