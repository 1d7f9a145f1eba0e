"""Build two wheels into OUTPUT: our own package and the trained pipeline, which requires it.

    python scripts/package.py training/trf/model-best packages --name cable_ner --version 0.1.0

1. `pip wheel --no-deps .` builds `cable_ner-<v>-py3-none-any.whl`: the reader, the `cable_metadata`
   factory and the `cable_ner.cable_reader.v1` tokenizer, registered by entry points.
2. `spacy package --build none` writes the pipeline package `en_<name>-<version>/`; its
   requirements get `cable-ner>=<v>,<next minor>` (spaCy adds the packages the config references
   too). No `--code` copy: the factories come from the installed `cable-ner`, and a second copy
   would register them twice (E004).
   The packaged config names `cable_ner.numpy_blas.v1` as its `[nlp] after_pipeline_creation`
   callback (`cable_ner.blas`: thinc's matrix products through numpy's BLAS, about twice as fast
   for a CNN), unless the pipeline's config names another callback there.
3. `pip wheel --no-deps` turns that folder into `en_<name>-<version>-py3-none-any.whl`, so neither
   step needs the `build` package or the network (`--no-build-isolation` uses the installed
   setuptools, which must meet pyproject.toml's [build-system]; a build that fails says so).

Install both with `pip install OUTPUT/cable_ner-*.whl OUTPUT/en_<name>-*.whl`; then
`spacy.load("en_<name>")` works in a fresh process.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import typer
from wasabi import msg

ROOT = Path(__file__).resolve().parents[1]
app = typer.Typer(add_completion=False)


def run(*args: str) -> None:
    msg.text(" ".join(args))
    subprocess.run(args, check=True)


def project_version() -> str:
    from importlib.metadata import version

    return version("cable-ner")


def installed(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


NUMPY_BLAS = {"@callbacks": "cable_ner.numpy_blas.v1"}


def use_numpy_blas_on_load(package_dir: Path) -> None:
    """Name cable_ner.numpy_blas.v1 as the packaged pipeline's after_pipeline_creation callback."""
    from spacy.util import load_config

    (path,) = package_dir.glob("*/*/config.cfg")  # en_<name>/en_<name>-<version>/config.cfg
    config = load_config(path, interpolate=False)
    current = config["nlp"].get("after_pipeline_creation")
    if current and current != NUMPY_BLAS:
        msg.warn(f"{path}: [nlp] after_pipeline_creation is {current}; left as it is, so the "
                 "pipeline multiplies matrices with blis (cable_ner.blas)")  # fmt: skip
        return
    config["nlp"]["after_pipeline_creation"] = NUMPY_BLAS
    config.to_disk(path, interpolate=False)


@app.command()
def main(
    model: Path = typer.Argument(..., exists=True, file_okay=False, help="Trained pipeline folder"),
    output: Path = typer.Argument(..., help="Folder for both wheels and the package source"),
    name: str = typer.Option("cable_ner", help="Pipeline package name (without en_)"),
    version: str = typer.Option("0.1.0", help="Pipeline package version"),
) -> None:
    """Build the cable-ner wheel and the pipeline wheel that depends on it."""
    from spacy.util import get_minor_version_range

    output.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    wheel_args = ["--no-deps", "--no-build-isolation", "-q", "-w", str(output)]
    try:
        run(py, "-m", "pip", "wheel", *wheel_args, str(ROOT))
    except subprocess.CalledProcessError:
        msg.fail(
            f"pip could not build the cable-ner wheel from {ROOT} (its output is above). The build "
            f"uses this environment's setuptools ({installed('setuptools')}), not an isolated "
            f"one; {ROOT / 'pyproject.toml'} [build-system] says which it needs. Upgrade with "
            f"`{py} -m pip install -U setuptools` and run this again.",
            exits=1,
        )
    ours = project_version()
    meta = json.loads((model / "meta.json").read_text())
    requirement = f"cable-ner{get_minor_version_range(ours)}"
    meta["requirements"] = [
        r for r in meta.get("requirements", []) if not r.startswith("cable-ner")
    ] + [requirement]
    with tempfile.TemporaryDirectory() as tmp:
        meta_path = Path(tmp) / "meta.json"
        meta_path.write_text(json.dumps(meta, indent=2))
        run(
            py, "-m", "spacy", "package", str(model), str(output), "--name", name,
            "--version", version, "--meta-path", str(meta_path), "--build", "none", "--force",
        )  # fmt: skip
    package_dir = output / f"{meta['lang']}_{name}-{version}"
    use_numpy_blas_on_load(package_dir)
    run(py, "-m", "pip", "wheel", *wheel_args, str(package_dir))
    wheels = sorted(p.name for p in output.glob("*.whl"))
    msg.good(f"Wheels in {output}: {', '.join(wheels)} (pipeline requires {requirement})")


if __name__ == "__main__":
    app()
