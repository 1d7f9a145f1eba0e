"""scripts/evaluate.py end to end on the sample, with a rule-based pipeline (nothing trained).

The pipeline is the cable reader, an `entity_ruler` (some patterns right, some with the wrong
label or boundaries, so every error kind occurs) and `cable_metadata`. The sample is converted
with the project's converter; the report's figures must equal spaCy's own scorer
(`Language.evaluate`) on the same docs, its PNGs must be valid, and its HTML must render in
headless Chromium with the network off (skipped where Chromium is not installed:
`apt-get install -y chromium`).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import spacy

from cable_ner.convert import ConvertOptions, convert
from cable_ner.gold_score import SILVER_GOLD_KINDS
from cable_ner.report import (
    build_reference,
    compare_rows,
    html_report,
    plot_compare,
    read_throughput,
    render_errors,
)
from cable_ner.scoring import reference_examples

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "assets" / "sample" / "tagged"
PATTERNS = [
    ("PER", "Harthy"), ("LOC", "Sohar"), ("ORG", "Judges' Club"), ("LOC", "Cairo"),
    ("PER", "Zaki"), ("LOC", "China"), ("LOC", "Iran"), ("ORG", "MFA"), ("LOC", "U.S."),
    ("MISC", "Iranian"), ("LOC", "European"), ("PER", "Helene"), ("ORG", "Security Council"),
    ("ORG", "Reuters"), ("LOC", "Havana"), ("LOC", "Russia"), ("MISC", "French"),
    ("ORG", "Ministry"), ("PER", "Hmoud"), ("LOC", "Moscow"), ("ORG", "NDP"),
]  # fmt: skip
LOG = [
    {"epoch": 0, "step": 0, "losses": {"ner": 40.0}, "scores": {"ents_f": 0.0, "ents_p": 0.0,
     "ents_r": 0.0}, "score": 0.0},
    {"epoch": 1, "step": 200, "losses": {"ner": 900.5}, "scores": {"ents_f": 41.2, "ents_p": 50.0,
     "ents_r": 35.0}, "score": 0.412},
    {"epoch": 2, "step": 400, "losses": {"ner": 300.1}, "scores": {"ents_f": 58.3, "ents_p": 61.0,
     "ents_r": 55.8}, "score": 0.583},
]  # fmt: skip
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def ruler_nlp():
    nlp = spacy.blank(
        "en", config={"nlp": {"tokenizer": {"@tokenizers": "cable_ner.cable_reader.v1"}}}
    )
    nlp.add_pipe("entity_ruler").add_patterns([{"label": lab, "pattern": p} for lab, p in PATTERNS])
    nlp.add_pipe("cable_metadata")
    return nlp


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("evaluate")
    model = tmp / "training" / "ruler" / "model-best"
    model.parent.mkdir(parents=True)
    ruler_nlp().to_disk(model)
    convert([SAMPLE], tmp / "corpus", ConvertOptions(split=(0.0, 0.3, 0.7)))
    log = tmp / "training" / "ruler" / "log.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in LOG), encoding="utf-8")
    out = tmp / "training" / "ruler" / "eval"
    cmd = [
        sys.executable, str(ROOT / "scripts" / "evaluate.py"), str(model), str(out),
        "--test", str(tmp / "corpus" / "test.spacy"), "--dev", str(tmp / "corpus" / "dev.spacy"),
        "--gold", str(ROOT / "gold" / "gold.jsonl"), "--gold-cables-dir", str(SAMPLE),
        "--log", str(log), "--n-bootstrap", "200",
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    return {"tmp": tmp, "model": model, "out": out, "metrics": metrics, "stdout": proc.stdout}


def test_figures_equal_spacy_scorer(run):
    nlp = spacy.load(run["model"])
    for split in ("test", "dev"):
        examples = reference_examples(nlp, run["tmp"] / "corpus" / f"{split}.spacy")
        spacy_scores = nlp.evaluate(examples)
        ours = run["metrics"]["splits"][split]
        assert ours["n_docs"] == len(examples) > 0
        for key in ("ents_p", "ents_r", "ents_f", "ents_per_type"):
            assert ours[key] == spacy_scores[key], (split, key)
        assert ours["taxonomy"]["ALL"]["correct"] == ours["counts"]["ALL"]["tp"] > 0
        gold_outcomes = sum(v for k, v in ours["taxonomy"]["ALL"].items() if k != "spurious")
        assert gold_outcomes == ours["n_gold"]
        lo, hi = ours["ci"]["ents_f"]
        assert lo <= ours["ents_f"] <= hi
    test = run["metrics"]["splits"]["test"]
    kinds = {k for k, v in test["taxonomy"]["ALL"].items() if v}
    assert {"correct", "wrong_label", "missed", "spurious"} <= kinds
    assert set(test["slices"]) == {"classification", "post", "year", "portion", "case"}
    # the sample has none of the gold layer's cables: that section is skipped with a note
    assert "not scored" in " ".join(run["metrics"]["notes"])
    assert "test" in run["stdout"] and "F 95% CI" in run["stdout"]
    assert run["metrics"]["config"] == "ruler"
    assert run["metrics"]["training"]["best_step"] == 400


def test_plots_are_valid_pngs(run):
    import matplotlib.image
    from PIL import Image

    names = ["per_label.png", "taxonomy.png", "slices.png", "training.png"]
    for name in names:
        path = run["out"] / name
        assert path.read_bytes()[:8] == PNG_MAGIC, name
        with Image.open(path) as im:
            im.verify()
        assert matplotlib.image.imread(path).shape[0] > 100


def test_report_files_are_self_contained(run):
    page = (run["out"] / "report.html").read_text(encoding="utf-8")
    import re

    refs = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", page, flags=re.I)
    assert refs and all(r.startswith("data:image/png;base64,") for r in refs), refs[:5]
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page and "<script" not in page and "@import" not in page
    assert page.count('class="cable-metadata"') >= 1  # error samples carry the metadata
    assert "Error taxonomy" in page and "Worst cables" in page
    md = (run["out"] / "report.md").read_text(encoding="utf-8")
    f = run["metrics"]["splits"]["test"]["ents_f"]
    assert f"**{100 * f:.1f}**" in md


def test_html_escapes_user_text_and_links_nowhere(run):
    """Cable ids and entity texts reach report.html escaped (jinja2 autoescape, markdown-it with
    raw HTML off), and markdown links in any text stay text: nothing points outside the page."""
    from spacy.training import Example

    hostile = "<script>alert(1)</script>"
    metrics = json.loads(json.dumps(run["metrics"]))
    test = metrics["splits"]["test"]
    test["worst_cables"][0]["reference_id"] = hostile
    metrics["notes"] = ["see [the tagger](https://example.org/x) and <img src=x>"]
    nlp = ruler_nlp()
    text = "Ambassador Zaki met officials in Cairo ."
    ref = nlp.make_doc(text)
    ref.ents = [ref.char_span(11, 15, label="ORG")]
    sample = {"cable": 0, "kind": "wrong_label", "reference_id": hostile,
              "gold": {"label": "ORG", "text": "Zaki & <b>co</b>", "start_char": 11,
                       "end_char": 15},
              "pred": {"label": "PER", "text": "Zaki", "start_char": 11, "end_char": 15,
                       "paragraph": 1, "portion": "S//NF"}}  # fmt: skip
    blocks = render_errors([Example(nlp(text), ref)], [sample])
    page = html_report(metrics, {}, {"test": blocks})
    assert "<script" not in page and "<img" not in page and "<b>co" not in page
    assert "href" not in page and "<a " not in page  # the link stays text
    assert "see [the tagger](https://example.org/x) and &lt;img src=x&gt;" in page
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert f"<td>{escaped}</td>" in page  # the worst cables table is still a table
    caption = (f"<b>wrong label</b> in {escaped}: reference: ORG “Zaki &amp; "
               "&lt;b&gt;co&lt;/b&gt;”; model: PER “Zaki”, paragraph 1 (S//NF)")  # fmt: skip
    assert caption in page
    assert page.count('class="cable-metadata"') == 1


def test_scripts_describe_themselves_without_machine_paths():
    """--help gives a description, and no default points into this machine's folders."""
    env = {**os.environ, "COLUMNS": "300"}
    for script, words in (("evaluate.py", "writes metrics.json, report.md"),
                          ("score_gold.py", "against the hand-corrected gold layer")):  # fmt: skip
        proc = subprocess.run([sys.executable, str(ROOT / "scripts" / script), "--help"],
                              capture_output=True, text=True, env=env)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert words in proc.stdout.lower()
        assert str(ROOT.parent) not in proc.stdout and "shared/data" not in proc.stdout


def test_reference_and_configs_side_by_side(run, tmp_path):
    other = tmp_path / "training" / "cnn" / "eval" / "metrics.json"
    other.parent.mkdir(parents=True)
    shutil.copy(run["out"] / "metrics.json", other)
    data = json.loads(other.read_text())
    data["config"] = None
    data["provenance"] = {"command": "python scripts/train.py configs/cnn.cfg training/cnn"}
    data["training"] = {"log": "log.jsonl", "n_evaluations": 2, "last_step": 9, "best_score": 0.5,
                        "best_step": 9, "best_scores": {}, "train_words": 12_000,
                        "train_seconds": 60.0, "train_words_per_second": 200.0,
                        "train_peak_rss_mb": 2_345}  # fmt: skip
    other.write_text(json.dumps(data))
    reference = build_reference([run["out"] / "metrics.json", other], default="cnn")
    assert set(reference["configs"]) == {"ruler", "cnn"} and reference["default"] == "cnn"
    with pytest.raises(ValueError, match="'trf_gold' is none of the configs: ruler, cnn"):
        build_reference([run["out"] / "metrics.json", other], default="trf_gold")
    entry = reference["configs"]["ruler"]
    assert entry["test"]["ents_f"] == run["metrics"]["splits"]["test"]["ents_f"]
    assert entry["dev"]["ents_per_type"] == run["metrics"]["splits"]["dev"]["ents_per_type"]
    assert entry["command"].startswith("python ") and entry["test"]["words_per_second"] > 0
    rows = compare_rows({"ruler": run["metrics"], "cnn": data})
    png = plot_compare(rows, tmp_path / "compare.png")
    assert png.read_bytes()[:8] == PNG_MAGIC
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "reference_report.py"),
         str(run["out"] / "metrics.json"), str(other), "--output", str(tmp_path / "reports"),
         "--default", "cnn"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    written = json.loads((tmp_path / "reports" / "reference.json").read_text())
    assert written == json.loads(json.dumps(reference))
    md = (tmp_path / "reports" / "reference.md").read_text()
    assert "| ruler |" in md
    assert "(`spacy project run evaluate`, `package`, `annotate`): **cnn**." in md
    table = [line for line in md.splitlines() if line.startswith("| ")]
    table += [line for line in md.splitlines() if line.startswith("|---")]
    assert len({line.count("|") for line in table}) == 1, "ragged table"
    assert table[0].startswith("| config | gold P | gold R | gold F (95% CI) |")
    assert "| 200 | 2,345 |" in md  # the CNN's training words/s and peak RSS
    assert "trained with `python scripts/train.py configs/cnn.cfg training/cnn`" in md
    assert "12,000 words in 1.0 min" in md


def test_gold_section_splits_the_models_silver_errors(run, shared_data, tmp_path):
    """With the gold cables found, the report splits the model's silver agreement and errors by
    gold; every model and silver entity lands in one kind, and the right ones are spaCy's gold
    true positives. score_gold.py prints the same section."""
    out = tmp_path / "eval"
    cmd = [
        sys.executable, str(ROOT / "scripts" / "evaluate.py"), str(run["model"]), str(out),
        "--test", str(run["tmp"] / "corpus" / "test.spacy"), "--gold", str(ROOT / "gold" /
        "gold.jsonl"), "--gold-cables-dir", str(shared_data / "cables" / "annotated"),
        "--n-bootstrap", "50",
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    gold = json.loads((out / "metrics.json").read_text(encoding="utf-8"))["gold"]
    split, scores = gold["silver_vs_gold"], gold["systems"]["model"]
    assert split["silver"] == "tagger + filters"
    model, c = split["model"]["all"], split["model"]["all"]["counts"]
    n_pred = scores["n_pred"]
    # gold test by default, with its interval, and mixed and upper case apart
    assert gold["split"] == "test" and scores["n_cables"] == gold["n_cables"] >= 30
    lo, hi = scores["ci"]["ents_f"]
    assert lo <= scores["ents_f"] <= hi
    cases = scores["by_case"]
    assert cases["mixed case"]["n_cables"] + cases["upper case"]["n_cables"] == gold["n_cables"]
    assert cases["upper case"]["n_cables"] == gold["n_upper_case"] > 0
    assert cases["mixed case"]["n_gold"] + cases["upper case"]["n_gold"] == gold["n_entities"]
    assert c["agreed_right"] + c["agreed_wrong"] + c["extra_right"] + c["extra_wrong"] == n_pred
    silver_total = c["agreed_right"] + c["agreed_wrong"] + c["missed_right"] + c["missed_wrong"]
    assert silver_total == model["n_silver"] == split["gold"]["all"]["n_silver"] > 0
    assert c["agreed_right"] + c["extra_right"] == round(scores["ents_p"] * n_pred) > 0
    assert model["n_gold"] == gold["n_entities"]
    assert split["gold"]["all"]["gold_silver_f"] == pytest.approx(
        gold["systems"]["tagger + filters"]["ents_f"]
    )
    md = (out / "report.md").read_text(encoding="utf-8")
    assert f"Gold test split: {gold['n_cables']} cables ({gold['n_upper_case']} upper case)" in md
    assert f"| model | {100 * scores['ents_p']:.1f} | {100 * scores['ents_r']:.1f} | " in md
    assert "### Silver labels judged by gold (tagger + filters as silver)" in md
    assert f"| {SILVER_GOLD_KINDS['agreed_wrong']} | {c['agreed_wrong']:,} |" in md
    printed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "score_gold.py"), "--model", str(run["model"]),
         "--cables-dir", str(shared_data / "cables" / "annotated")],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert printed.returncode == 0, printed.stderr[-3000:]
    assert f"| {SILVER_GOLD_KINDS['agreed_wrong']} | {c['agreed_wrong']:,} |" in printed.stdout
    assert f"Gold test: {gold['n_cables']} cables" in printed.stdout
    assert f"model              F {100 * scores['ents_f']:.1f} (95% CI" in printed.stdout


def test_read_throughput(tmp_path):
    log = tmp_path / "log.jsonl"
    assert read_throughput(log) == {}
    rows = [{"step": 0, "words": 0, "seconds": 5.0, "words_per_second": None, "peak_rss_mb": 900},
            {"step": 5, "words": 5000, "seconds": 20.0, "words_per_second": 250.0,
             "peak_rss_mb": 1200},
            {"step": 9, "words": 9000, "seconds": 45.0, "words_per_second": 200.0,
             "peak_rss_mb": 1100}]  # fmt: skip
    Path(f"{log}.throughput.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    expected = {"train_words": 9000, "train_seconds": 45.0, "train_words_per_second": 225.0,
                "train_peak_rss_mb": 1200}  # fmt: skip
    assert read_throughput(log) == expected


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


def test_html_renders_in_headless_chromium_offline(run, tmp_path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    shot = tmp_path / "report.png"
    cmd = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
        "--window-size=1200,2000", (run["out"] / "report.html").resolve().as_uri(),
    ]  # fmt: skip
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        cmd = [unshare, "-n", *cmd]  # no network at all
    subprocess.run(cmd, capture_output=True, timeout=120)
    assert shot.is_file() and shot.read_bytes()[:8] == PNG_MAGIC
    import numpy
    from PIL import Image

    with Image.open(shot) as im:
        pixels = numpy.asarray(im.convert("L"), dtype="float64")
    assert pixels.shape == (2000, 1200)
    assert pixels.std() > 10  # not a blank page
    assert (pixels < 100).mean() > 0.005  # text and bars drawn
