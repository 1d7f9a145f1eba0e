"""`spacy train`, with the environment a cable model must train in: nothing leaves the machine.

    python scripts/train.py configs/trf.cfg training/trf --paths.train corpus/train.spacy \
        --paths.dev corpus/dev.spacy [--training.max_steps=2 ...] [--wandb-online]

Extra `--section.key value` arguments and SPACY_CONFIG_OVERRIDES are read exactly as
`spacy train` reads them (`spacy.cli._util.parse_config_overrides`): where both set a key, the
environment variable wins, which lets a smoke test cap any run.
The environment is set here, not in project.yml, because weasel runs commands without a shell:
- WANDB_MODE=offline unless the user opts in with --wandb-online or CABLE_NER_WANDB=online
  (WANDB_MODE=disabled is kept: it is stricter still); runs go to OUTPUT/wandb/.
- WANDB_SILENT, WANDB_DISABLE_CODE and WANDB_DISABLE_GIT default to true.
- HF_HUB_OFFLINE=1 and TRANSFORMERS_OFFLINE=1 unless already set, so the transformer comes
  from a local folder (scripts/export_transformer.py) and never from the hub.
- paths.log defaults to OUTPUT/log.jsonl, so each run keeps its own log.
"""

import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import typer
from wasabi import msg

app = typer.Typer(add_completion=False)


def set_environment(output_path: Path, wandb_online: bool) -> str:
    """Set the variables wandb and transformers read; return the wandb mode."""
    online = wandb_online or os.environ.get("CABLE_NER_WANDB", "").lower() == "online"
    if online:
        os.environ["WANDB_MODE"] = "online"
    elif os.environ.get("WANDB_MODE") != "disabled":
        os.environ["WANDB_MODE"] = "offline"
    os.environ.setdefault("WANDB_SILENT", "true")
    # Even an opted-in run sends scores and the config only: no code, no git remote/diff.
    os.environ.setdefault("WANDB_DISABLE_CODE", "true")
    os.environ.setdefault("WANDB_DISABLE_GIT", "true")
    os.environ["WANDB_DIR"] = str(output_path.resolve())
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    return os.environ["WANDB_MODE"]


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def main(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="Training config"),
    output_path: Path = typer.Argument(..., help="Folder for model-best, model-last, log, wandb"),
    wandb_online: bool = typer.Option(
        False, "--wandb-online", help="Send the run to wandb (default: offline, stays local)"
    ),
    code_path: Path | None = typer.Option(
        None, "--code", "-c", exists=True, help="Python file with registered functions"
    ),
    use_gpu: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, or -1 for CPU"),
) -> None:
    """Train a pipeline from CONFIG into OUTPUT, offline by default."""
    output_path.mkdir(parents=True, exist_ok=True)
    mode = set_environment(output_path, wandb_online)
    # Imported after the environment is set: transformers reads HF_HUB_OFFLINE on import.
    from spacy.cli._util import import_code, parse_config_overrides
    from spacy.cli.train import train

    overrides = parse_config_overrides(ctx.args)
    overrides.setdefault("paths.log", str(output_path / "log.jsonl"))
    import_code(code_path)
    msg.info(f"wandb mode: {mode} (runs under {output_path / 'wandb'})")
    # Before training: the commit and corpus the run starts from, not whatever HEAD is at the end.
    provenance = training_provenance(config_path, overrides)
    train(config_path, output_path, use_gpu=use_gpu, overrides=overrides)
    for model in ("model-best", "model-last"):
        meta_path = output_path / model / "meta.json"
        if meta_path.exists():
            meta = json.loads(meta_path.read_text())
            meta["cable_ner"] = provenance
            meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    commit, corpus = provenance["git_commit"], provenance["corpus_sha256"][:12]
    msg.good(f"provenance in meta.json: commit {commit}, corpus sha256 {corpus}")


def training_provenance(config_path: Path, overrides: dict) -> dict:
    """What a trained pipeline was made from: the git commit, a hash of the corpus shards, the
    converter's filters (from the corpus report next to the training data) and, for a corpus
    `relabel.py` wrote, the pipeline whose labels it holds."""
    from spacy.util import load_config

    config = load_config(config_path, overrides=overrides, interpolate=True)
    digest = hashlib.sha256()
    corpus_files = []
    for key in ("train", "dev"):
        path = Path(config["paths"][key])
        files = sorted(path.rglob("*.spacy")) if path.is_dir() else [path]
        for f in files:
            digest.update(f.name.encode())
            digest.update(f.read_bytes())
        corpus_files.append(str(path))
    report_path = Path(config["paths"]["train"]).parent / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    relabel_path = report_path.with_name("relabel.json")  # a student's labels: its teacher's
    relabel = json.loads(relabel_path.read_text()) if relabel_path.exists() else {}
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                    capture_output=True, text=True).stdout.strip())  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, None
    return {
        "command": shlex.join(["python", *sys.argv]),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git_commit": commit,
        "git_dirty": dirty,
        "config": str(config_path),
        "corpus": corpus_files,
        "corpus_sha256": digest.hexdigest(),
        "filters": report.get("options", {}).get("filters"),
        "filtered": report.get("filtered"),
        "header_masked": report.get("header_masked"),
        "relabelled_by": (relabel.get("train") or {}).get("model"),
    }


if __name__ == "__main__":
    app()
