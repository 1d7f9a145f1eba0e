"""The real `spacy project run all` path on the shipped sample, with training capped at 2 steps."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import spacy

ROOT = Path(__file__).resolve().parents[1]


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
