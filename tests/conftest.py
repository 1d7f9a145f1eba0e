import os
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
