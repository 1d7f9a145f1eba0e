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
PKG = ROOT / "src" / "cable_ner"
# Code a command loads besides its script's imports, through the entry points its input names:
# a training config (configs/) resolves the tokenizer, components and training functions of
# cable_ner.pipeline and cable_ner.training; a trained pipeline (model-best) the first two.
LOADED_BY = {"configs/": {"pipeline", "training"}, "model-best": {"pipeline"}}


def package_imports(path: Path) -> set[str]:
    """The cable_ner modules a file imports, absolutely or relatively (from its syntax tree)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 1 and module:
                names.add(module.split(".")[0])
            elif (node.level == 1 and not module) or module == "cable_ner":
                names.update(alias.name for alias in node.names)
            elif module.startswith("cable_ner."):
                names.add(module.split(".")[1])
        elif isinstance(node, ast.Import):
            dotted = (alias.name.split(".") for alias in node.names)
            names.update(parts[1] for parts in dotted if parts[0] == "cable_ner" and len(parts) > 1)
    return {name for name in names if (PKG / f"{name}.py").is_file()}


def imports_closure(modules: set[str]) -> set[str]:
    seen, todo = set(), list(modules)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(package_imports(PKG / f"{module}.py"))
    return seen


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
        roots = set()
        for dep in deps:
            roots |= package_imports(ROOT / dep) if dep.startswith("scripts/") else set()
            roots |= {m for key, mods in LOADED_BY.items() if key in dep for m in mods}
        if "pyproject.toml" in deps:  # it builds the wheel: the whole package
            roots = {p.stem for p in PKG.glob("*.py")}
        needed = {f"src/cable_ner/{m}.py" for m in imports_closure(roots)}
        assert needed <= listed, f"{cmd['name']} lacks {sorted(needed - listed)}"


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
    log = [json.loads(line) for line in (project / "training" / "trf" / "log.jsonl").open()]
    assert [r["step"] for r in log] == [0, 1, 2]
    nlp = spacy.load(model)
    assert nlp.pipe_names == ["transformer", "senter", "ner", "cable_metadata"]
    assert nlp.meta["cable_ner"]["filtered"] == report["filtered"]
    text = (project / "assets" / "sample" / "tagged" / "07MUSCAT412.txt").read_text()
    doc = nlp(text)
    assert doc._.cable.post == "MUSCAT" and doc._.cable.classification == "CONFIDENTIAL"
    wheels = sorted(p.name for p in (project / "packages").glob("*.whl"))
    assert wheels == ["cable_ner-0.1.0-py3-none-any.whl", "en_cable_ner_trf-0.1.0-py3-none-any.whl"]
