"""Every name the package registers with spaCy or thinc has an entry point in pyproject.toml, under
its registry's group, pointing at the registered object: spaCy resolves a name through its entry
point when nothing has imported the module yet (a config's callback, a saved pipeline's factory).
"""

import ast
import importlib
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest
from spacy.util import registry

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "cable_ner"
# Registered in src/ today; the scan below must find at least these.
KNOWN = {
    ("factories", "cable_metadata"),
    ("factories", "release_memory"),
    ("tokenizers", "cable_ner.cable_reader.v1"),
    ("readers", "cable_ner.SentenceChunkCorpus.v1"),
    ("augmenters", "cable_ner.UpperCase.v1"),
    ("architectures", "cable_ner.TransformerModel.v1"),
    ("optimizers", "cable_ner.Adam.v1"),
    ("loggers", "cable_ner.ThroughputLogger.v1"),
    ("callbacks", "cable_ner.warm_start_ner.v1"),
}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def _kind(call: ast.Call) -> str | None:
    """The registry a decorator call registers with: `registry.<kind>(...)`,
    `registry.<kind>.register(...)` (any prefix before `registry`), `Language.factory/component`."""
    parts = _dotted(call.func).split(".")
    if parts[-2:] in (["Language", "factory"], ["Language", "component"]):
        return "factories"
    if parts[-1] == "register":
        parts = parts[:-1]
    if len(parts) >= 2 and parts[-2] == "registry":
        return parts[-1]
    return None


def registered_names() -> set[tuple[str, str, str, str]]:
    """(registry kind, name, module, object) for every registering decorator in src/cable_ner."""
    found = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.ClassDef):
                continue
            for decorator in node.decorator_list:
                if not isinstance(decorator, ast.Call) or not (kind := _kind(decorator)):
                    continue
                arg = decorator.args[0]
                name = arg.value if isinstance(arg, ast.Constant) else constants[arg.id]
                found.add((kind, name, module, node.name))
    return found


def entry_point_groups() -> dict[str, dict[str, str]]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["entry-points"]


def group_of(kind: str) -> str:
    """The entry point group catalogue reads for a registry (`spacy_readers`, ...)."""
    if kind == "factories":  # every Language loads this group (spaCy's own registry of them)
        return registry._entry_point_factories.entry_point_namespace
    return getattr(registry, kind).entry_point_namespace


def test_every_registered_name_has_an_entry_point_to_its_object():
    found = registered_names()
    assert KNOWN <= {(kind, name) for kind, name, _, _ in found}
    groups = entry_point_groups()
    for kind, name, module, obj in sorted(found):
        group = group_of(kind)
        target = groups.get(group, {}).get(name)
        assert target == f"{module}:{obj}", f"{name}: [project.entry-points.{group}] has {target}"
        imported = getattr(importlib.import_module(module), obj)
        assert callable(imported) and imported.__name__ == obj, target


def test_every_entry_point_names_a_registered_object():
    """No entry point is left behind by a move or a rename."""
    registered = {(group_of(kind), name) for kind, name, _, _ in registered_names()}
    for group, entries in entry_point_groups().items():
        for name, target in entries.items():
            assert (group, name) in registered, f"[project.entry-points.{group}] {name} = {target}"
            module, _, obj = target.partition(":")
            assert callable(getattr(importlib.import_module(module), obj)), target


RESOLVE = """
import json, sys
from spacy.language import Language
from spacy.util import registry
resolved = {}
for kind, name in json.loads(sys.argv[1]):
    before = sorted(m for m in sys.modules if m.startswith("cable_ner"))
    if kind == "factories":  # what each new Language does, for this one entry point
        func = registry._entry_point_factories.get(name)
        assert Language.has_factory(name), name
    else:
        func = registry.get(kind, name)
    resolved[name] = [func.__module__, func.__name__, before]
print(json.dumps(resolved))
"""


def test_each_name_resolves_through_the_installed_entry_points_alone():
    """In a fresh process that imports nothing of cable_ner, spaCy finds each name (callbacks
    first: the warm start must not depend on the reader having been resolved before it). This
    reads the installed package's metadata: after a change to the entry points, reinstall
    (`pip install -e .`)."""
    installed = {
        (ep.group, ep.name): ep.value
        for ep in importlib.metadata.distribution("cable-ner").entry_points
    }
    groups = entry_point_groups()
    declared = {(g, n): t for g, entries in groups.items() for n, t in entries.items()}
    assert installed == declared, "installed entry points differ from pyproject.toml: reinstall"
    found = sorted(registered_names(), key=lambda r: (r[0] != "callbacks", r[0], r[1]))
    pairs = [(kind, name) for kind, name, _, _ in found]
    result = subprocess.run(
        [sys.executable, "-c", RESOLVE, json.dumps(pairs)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    resolved = json.loads(result.stdout)
    first = found[0][1]
    assert found[0][0] == "callbacks" and resolved[first][2] == [], resolved[first]
    for _, name, module, obj in found:
        assert resolved[name][:2] == [module, obj], name
