"""Seconds per training step of one config under settings that change its cost, side by side.

    python benchmarks/benchmark_train_step.py configs/trf.cfg --train corpus/dev.spacy \
        --setting base= \
        --setting stride128=components.transformer.model.get_spans.stride=128 \
        --setting frozen3=components.transformer.model.frozen_layers=3 \
        [--steps 12] [--warmup 2] [--threads 1] [--output reports/benchmark_train_step.json]

Each `--setting NAME=KEY=VALUE[,KEY=VALUE...]` is a set of config overrides (`NAME=` alone: the
config as it is). One pipeline per setting is built with spaCy's own `init_nlp` from the config
and `--train`, and the same batches (the config's reader and batcher, same seed) are fed to
each. Steps run in round robin (setting 1, 2, ..., 1, 2, ...) so a change in machine load
hits them all, and each is what spaCy's training loop does: `nlp.update(sgd=False)`, then
`finish_update` per trainable component. The first `--warmup` steps are not timed. Printed:
median seconds per step, words per second (non-space tokens of the batches) and the ratio of
each setting's speed to the first's.
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

import typer
from tqdm import tqdm
from wasabi import msg

app = typer.Typer(add_completion=False)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def parse_setting(text: str) -> tuple[str, dict[str, object]]:
    """'frozen3=components.transformer.model.frozen_layers=3' -> ('frozen3', {key: 3})."""
    from spacy.cli._util import parse_config_overrides

    name, sep, rest = text.partition("=")
    if not sep or not name:
        raise typer.BadParameter(f"--setting {text!r}: expected NAME=KEY=VALUE[,KEY=VALUE...]")
    args = []
    for pair in filter(None, rest.split(",")):
        key, sep, value = pair.partition("=")
        if not sep:
            raise typer.BadParameter(f"--setting {text!r}: {pair!r} has no '=VALUE'")
        args += [f"--{key}", value]
    return name, parse_config_overrides(args)


class Trainer:
    """One initialised pipeline and its batches; `step()` runs and times one update."""

    def __init__(self, config_path: Path, overrides: dict, steps: int) -> None:
        from spacy.training.initialize import init_nlp
        from spacy.util import fix_random_seed, load_config, registry, resolve_dot_names

        config = load_config(config_path, overrides=overrides, interpolate=False).interpolate()
        fix_random_seed(config["training"]["seed"])
        self.nlp = init_nlp(config)
        training = registry.resolve(config["training"])
        (train_corpus,) = resolve_dot_names(config, [training["train_corpus"]])
        fix_random_seed(config["training"]["seed"])
        batches = training["batcher"](train_corpus(self.nlp))
        self.batches = [list(batch) for batch, _ in zip(batches, range(steps), strict=False)]
        if len(self.batches) < steps:
            raise ValueError(f"{steps} steps asked, the train corpus gives {len(self.batches)}")
        self.optimizer = training["optimizer"]
        self.dropout = training["dropout"]
        self.trainable = [
            proc
            for name, proc in self.nlp.pipeline
            if name not in training["frozen_components"] and getattr(proc, "is_trainable", False)
        ]
        self.exclude = training["frozen_components"]
        self.annotating = training["annotating_components"]

    def step(self, i: int) -> tuple[float, int]:
        batch = self.batches[i]
        start = time.perf_counter()
        self.nlp.update(batch, drop=self.dropout, sgd=False, losses={},
                        exclude=self.exclude, annotates=self.annotating)  # fmt: skip
        for proc in self.trainable:
            if hasattr(proc, "finish_update"):
                proc.finish_update(self.optimizer)
        self.optimizer.step_schedules()
        words = sum(1 for eg in batch for token in eg.reference if not token.is_space)
        return time.perf_counter() - start, words


@app.command()
def main(
    config_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="A training config"),
    train: Path = typer.Option(
        Path("corpus/train.spacy"), "--train", exists=True, help="Corpus the batches come from"
    ),
    setting: list[str] = typer.Option(
        ["base="], "--setting", "-s", help="NAME=KEY=VALUE[,KEY=VALUE...] (repeatable)"
    ),
    steps: int = typer.Option(12, "--steps", min=1, help="Timed steps per setting"),
    warmup: int = typer.Option(2, "--warmup", min=0, help="Untimed steps per setting first"),
    threads: int = typer.Option(1, "--threads", min=1, help="torch threads"),
    output: Path | None = typer.Option(None, "--output", help="Write the figures as JSON"),
) -> None:
    """Median seconds per training step of CONFIG_PATH under each --setting, side by side."""
    import torch

    torch.set_num_threads(threads)
    settings = [parse_setting(s) for s in setting]
    names = [name for name, _ in settings]
    if len(set(names)) != len(names):
        raise typer.BadParameter(f"--setting names must differ: {names}")
    trainers = {}
    for name, overrides in settings:
        msg.info(f"{name}: initialising {config_path} {overrides or '(as it is)'}")
        trainers[name] = Trainer(config_path, {"paths.train": str(train), **overrides},
                                 warmup + steps)  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in names}
    words: dict[str, int] = dict.fromkeys(names, 0)
    rounds = tqdm(range(warmup + steps), desc=f"steps (x {len(names)} settings)", disable=None)
    for i in rounds:
        for name in names:
            seconds, n_words = trainers[name].step(i)
            if i >= warmup:
                times[name].append(seconds)
                words[name] += n_words
    base = names[0]
    rows, results = [], {}
    for name, overrides in settings:
        wps = words[name] / sum(times[name])
        results[name] = {
            "overrides": overrides,
            "median_seconds_per_step": round(statistics.median(times[name]), 3),
            "words_per_second": round(wps, 1),
            "speed_vs_" + base: round(wps / (words[base] / sum(times[base])), 3),
        }
        rows.append((name, f"{statistics.median(times[name]):.2f}", f"{wps:,.0f}",
                     f"{results[name]['speed_vs_' + base]:.2f}x"))  # fmt: skip
    msg.table(rows, header=("setting", "s/step (median)", "words/s", f"vs {base}"), divider=True)
    if output:
        report = {"command": " ".join(["python", *sys.argv]), "config": str(config_path),
                  "train": str(train), "threads": threads, "steps": steps, "warmup": warmup,
                  "settings": results}  # fmt: skip
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, indent=2) + "\n")
        msg.good(f"Wrote {output}")


if __name__ == "__main__":
    app()
