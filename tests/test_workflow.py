"""project.yml: every script is a command whose deps name the code it runs, and the real
`spacy project run all` path on the shipped sample, with training capped at 2 steps."""

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import spacy

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PKG = SRC / "cable_ner"


def module_file(dotted: str) -> Path | None:
    """The source file of a cable_ner module (`cable_ner.training.readers`), or None."""
    base = SRC.joinpath(*dotted.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _module_name(path: Path) -> list[str]:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def package_imports(path: Path) -> set[Path]:
    """The cable_ner source files a file imports, absolutely or relatively (from its syntax
    tree): `from .x import y` names x, or y where y is itself a module."""
    here = _module_name(path) if path.is_relative_to(SRC) else []
    if path.name != "__init__.py" and here:
        here = here[:-1]  # the package a module sits in
    files = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if not module.startswith("cable_ner"):
                continue
            parts = module.split(".")
            for i in range(2, len(parts) + 1):  # a submodule import runs its packages' __init__
                found = module_file(".".join(parts[:i]))
                if found:
                    files.add(found)
            for alias in node.names:
                found = module_file(f"{module}.{alias.name}")
                if found:
                    files.add(found)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                for i in range(2, len(parts) + 1):
                    if parts[0] == "cable_ner" and (found := module_file(".".join(parts[:i]))):
                        files.add(found)
    return files


def imports_closure(files: set[Path]) -> set[Path]:
    seen, todo = set(), list(files)
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo.extend(package_imports(path))
    return seen


def entry_point_modules(groups: set[str] | None = None) -> set[Path]:
    """The files of the entry points in pyproject.toml (all groups, or these), which a config
    or a saved pipeline loads by name whatever its command imports."""
    import tomllib

    eps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    return {module_file(target.split(":")[0]) for group, names in eps.items()
            if groups is None or group in groups for target in names.values()}


# Code a command loads besides its script's imports, through the entry points its input names:
# a training config (configs/) resolves every registered function; a trained pipeline
# (model-best) its tokenizer and components.
LOADED_BY = {"configs/": None, "model-best": {"spacy_factories", "spacy_tokenizers"}}


def project_commands() -> list[dict]:
    from weasel.util import load_project_config

    return load_project_config(ROOT)["commands"]


def test_every_script_is_a_project_command_that_depends_on_it():
    commands = project_commands()
    scripts = {f"scripts/{p.name}" for p in (ROOT / "scripts").glob("*.py")}
    run = set()
    for cmd in commands:
        ran = {word for line in cmd["script"] for word in line.split() if word in scripts}
        assert ran and ran <= set(cmd["deps"]), f"{cmd['name']} runs {ran}, deps {cmd['deps']}"
        run |= ran
    assert run == scripts


def test_commands_depend_on_the_package_modules_they_run():
    for cmd in project_commands():
        deps = cmd["deps"]
        assert not [d for d in deps if ", " in d], f"{cmd['name']}: weasel joined items {deps}"
        listed = {d for d in deps if d.startswith("src/")}
        assert all((ROOT / d).is_file() for d in listed), f"{cmd['name']}: {sorted(listed)}"
        roots: set[Path] = set()
        for dep in deps:
            roots |= package_imports(ROOT / dep) if dep.startswith("scripts/") else set()
            for key, groups in LOADED_BY.items():
                roots |= entry_point_modules(groups) if key in dep else set()
        if "pyproject.toml" in deps:  # it builds the wheel: the whole package
            roots = set(PKG.rglob("*.py"))
        needed = {str(p.relative_to(ROOT)) for p in imports_closure(roots)}
        assert needed <= listed, f"{cmd['name']} lacks {sorted(needed - listed)}"


def test_import_resolution_follows_subpackages_and_relative_imports():
    # report/__init__.py imports its siblings relatively; markdown.py imports ..format and more
    report = package_imports(PKG / "report" / "__init__.py")
    assert {PKG / "report" / f"{m}.py" for m in ("markdown", "page", "plots", "write")} <= report
    markdown = package_imports(PKG / "report" / "markdown.py")
    assert PKG / "report" / "format.py" in markdown
    assert PKG / "report" / "__init__.py" in markdown  # importing a submodule runs it first
    # an absolute import of a submodule runs its package's __init__ too
    scorer = package_imports(ROOT / "scripts" / "evaluate.py")
    assert {PKG / "report" / "__init__.py", PKG / "gold.py", PKG / "scoring.py"} <= scorer
    # the entry points name real files (pyproject.toml is the registry's one list)
    assert PKG / "training" / "readers.py" in entry_point_modules({"spacy_readers"})


@pytest.mark.slow
def test_project_run_all_on_the_sample(tmp_path):
    pytest.importorskip("spacy_transformers")
    tracked = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
        text=True, check=True,
    ).stdout.split()  # fmt: skip
    project = tmp_path / "project"
    for name in tracked:
        if (ROOT / name).is_file():
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, project / name)
    env = {
        **os.environ,
        "SPACY_CONFIG_OVERRIDES": "--training.max_steps=2 --training.eval_frequency=1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "spacy", "project", "run", "all", str(project)],
        cwd=project, env=env, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

    report = json.loads((project / "corpus" / "report.json").read_text())
    assert report["files_read"] == report["converted"] == 40
    for split in ("train", "dev", "test"):
        assert list((project / "corpus" / f"{split}.spacy").glob("*.spacy"))
    model = project / "training" / "trf" / "model-best"
    assert spacy.load(model).meta["cable_ner"]["filtered"] == report["filtered"]
    log = [json.loads(line) for line in (project / "training" / "trf" / "log.jsonl").open()]
    assert [r["step"] for r in log] == [0, 1, 2]
    # the gold stage: the sample's gold cables converted to their splits, fine-tuned, scored
    assert report["gold_labels"] == sorted(
        rec["reference_id"] for rec in map(json.loads, (project / "assets" / "sample" /
                                                         "gold.jsonl").open())
        if rec["split"] == "train")
    for split in ("train", "dev", "test"):
        assert list((project / "corpus" / "gold" / f"{split}.spacy").glob("*.spacy"))
    training = project / "training"
    for name in ("trf_gold", "distill_cnn", "distill_cnn_gold"):
        log = training / name / "log.jsonl"
        assert [json.loads(line)["step"] for line in log.open()] == [0, 1, 2], name
    # the student learns from the teacher's labels: every train and dev cable relabelled, the
    # gold train cables kept as they are
    relabelled = json.loads((project / "corpus" / "relabelled" / "relabel.json").read_text())
    header = project / "corpus" / "relabelled_header"  # what the student trains on
    assert json.loads((header / "relabel.json").read_text()) == relabelled
    assert list((header / "train.spacy").glob("*.spacy"))
    assert relabelled["train"]["model"] == "training/trf_gold/model-best"
    assert relabelled["train"]["docs"] + relabelled["dev"]["docs"] == (
        report["splits"]["train"]["docs_written"] + report["splits"]["dev"]["docs_written"])
    assert relabelled["train"]["kept_gold"] == len(report["gold_labels"])
    # the default pipeline is the distilled student's gold stage: scored, packaged
    metrics = json.loads((training / "distill_cnn_gold" / "eval" / "metrics.json").read_text())
    assert (metrics["gold"]["split"], metrics["gold"]["n_cables"]) == ("test", 2)
    student = json.loads((training / "distill_cnn" / "model-best" / "meta.json").read_text())
    assert student["cable_ner"]["relabelled_by"] == "training/trf_gold/model-best"
    text = (project / "assets" / "sample" / "tagged" / "07MUSCAT412.txt").read_text()
    for path, pipes in ((model, ["transformer", "senter", "ner", "cable_metadata"]),
                        (training / "distill_cnn_gold" / "model-best",
                         ["tok2vec", "ner", "senter", "cable_metadata"])):  # fmt: skip
        nlp = spacy.load(path)
        assert nlp.pipe_names == pipes
        doc = nlp(text)
        assert doc._.cable.post == "MUSCAT" and doc._.cable.classification == "CONFIDENTIAL"
    wheels = sorted(p.name for p in (project / "packages").glob("*.whl"))
    assert wheels == ["cable_ner-0.1.0-py3-none-any.whl", "en_cable_ner-0.1.0-py3-none-any.whl"]
