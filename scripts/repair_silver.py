"""Repair the silver labels of a converted corpus with rules learned from gold train: drop or
relabel the tagger's systematic errors (cable_ner.repair), optionally leaving out upper-case
cables. Writes OUTPUT/{train,dev}.spacy and OUTPUT/repairs.json (the rules, the counts, and the
silver labels' P/R/F against gold train and gold dev before and after)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from tqdm import tqdm

from cable_ner.gold import load_gold
from cable_ner.gold_score import filtered_tagger_predict
from cable_ner.relabel import corpus_gold_ids
from cable_ner.repair import learn_repairs, repair_corpus, rules_to_json, silver_precision

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    corpus: Path = typer.Argument(..., exists=True, file_okay=False, help="Converted corpus"),
    output: Path = typer.Argument(..., help="Folder for the repaired corpus"),
    gold: Path = typer.Option(Path("gold/gold.jsonl"), exists=True, help="The gold layer"),
    cables_dir: Path = typer.Option(..., exists=True, file_okay=False,
                                    help="The tagged corpus the gold layer refers to"),
    min_count: int = typer.Option(2, min=1, help="A rule needs this many silver entities"),
    min_share: float = typer.Option(0.6, min=0.0, max=1.0, help="...of which this share wrong"),
    drop_upper_case: bool = typer.Option(False, help="Leave out upper-case cables"),
    splits: str = typer.Option("train,dev", help="Comma-separated DocBins of CORPUS to repair"),
) -> None:
    train, dev = load_gold(gold, cables_dir, "train"), load_gold(gold, cables_dir, "dev")
    silver = {}
    for cables in (train, dev):
        predict = filtered_tagger_predict(cables)
        silver.update({c.text: predict(c.text) for c in cables})
    rules = learn_repairs(train, silver, min_count, min_share)
    summary = {
        "rules_learned_on": f"gold train ({len(train)} cables)",
        "min_count": min_count, "min_share": min_share, "drop_upper_case": drop_upper_case,
        "n_rules": len(rules),
        "silver_vs_gold": {"train": silver_precision(train, silver, rules),
                           "dev": silver_precision(dev, silver, rules)},
        "corpus": {},
    }
    typer.echo(f"{len(rules)} rules; silver vs gold {json.dumps(summary['silver_vs_gold'])}")
    for split in [s.strip() for s in splits.split(",") if s.strip()]:
        bar = lambda total, s=split: tqdm(total=total, desc=f"{s} shards")  # noqa: E731
        summary["corpus"][split] = repair_corpus(corpus / f"{split}.spacy",
                                                 output / f"{split}.spacy", rules,
                                                 drop_upper_case, bar, corpus_gold_ids(corpus))
        typer.echo(f"{split}: {json.dumps(summary['corpus'][split])}")
    summary["rules"] = rules_to_json(rules)
    output.mkdir(parents=True, exist_ok=True)
    (output / "repairs.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    app()
