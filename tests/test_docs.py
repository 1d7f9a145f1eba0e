"""The project's documents: links resolve, the figures they print agree with the files those
figures come from, and the README stays a short user's document with its generated command table.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import srsly

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BENCHMARKS = ROOT / "reports" / "benchmarks.md"
DOCUMENTS = [
    README,
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "reports").glob("*.md")),
    ROOT / "gold" / "README.md",
    ROOT / "assets" / "sample" / "README.md",
]
MARKER_START = "<!-- WEASEL: AUTO-GENERATED DOCS START (do not remove) -->"
MARKER_END = "<!-- WEASEL: AUTO-GENERATED DOCS END (do not remove) -->"

FENCE = re.compile(r"^```.*?^```", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} +(.+?) *$", re.M)
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _prose(path: Path) -> str:
    """The text outside fenced code blocks."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def _anchors(path: Path) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file."""
    return {
        re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        for heading in HEADING.findall(_prose(path))
    }


def _links(path: Path) -> list[str]:
    return LINK.findall(CODE_SPAN.sub("", _prose(path)))


@pytest.mark.parametrize("path", DOCUMENTS, ids=_rel)
def test_relative_links_resolve(path):
    assert path.exists(), _rel(path)
    for target in _links(path):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        name, _, anchor = target.partition("#")
        dest = (path.parent / name).resolve() if name else path
        assert dest.exists(), f"{_rel(path)}: the link {target} names no file"
        if anchor and dest.suffix == ".md":
            assert anchor in _anchors(dest), f"{_rel(path)}: {target}: no such heading"


def test_link_check_sees_links_and_anchors(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(
        "# A title, with `code`\n[ok](#a-title-with-code) [x](https://example.org) `[not](a)`\n"
        "```\n[in code](nowhere.md)\n# not a heading\n```\n[file](other.md#part)\n",
        encoding="utf-8",
    )
    assert _links(doc) == ["#a-title-with-code", "https://example.org", "other.md#part"]
    assert _anchors(doc) == {"a-title-with-code"}


# --------------------------------------------------------------------------- the README


def test_readme_is_short_and_its_hand_written_part_shorter():
    data = README.read_bytes()
    start, end = data.index(MARKER_START.encode()), data.index(MARKER_END.encode())
    hand_written = len(data) - (end + len(MARKER_END) - start)
    assert hand_written <= 9_000, f"README.md: {hand_written} bytes outside the generated block"
    assert len(data) <= 12_288, f"README.md: {len(data)} bytes (12 KiB at most)"


def test_readme_command_table_is_what_spacy_project_document_writes(tmp_path):
    from weasel.cli.document import project_document

    text = README.read_text(encoding="utf-8")
    assert text.count(MARKER_START) == 1 and text.count(MARKER_END) == 1
    copy = tmp_path / "README.md"
    copy.write_text(text, encoding="utf-8")
    project_document(ROOT, copy)
    assert copy.read_text(encoding="utf-8") == text, (
        "README.md: regenerate with `python -m spacy project document . --output README.md`"
    )


# --------------------------------------------------------------------------- tables


def _section(path: Path, title: str) -> str:
    """The text under the heading `title`, up to the next heading of any level."""
    text = _prose(path)
    match = re.search(rf"^#+ {re.escape(title)}\n(.*?)(?=^#+ |\Z)", text, re.M | re.S)
    assert match, f"{_rel(path)}: no section {title!r}"
    return match.group(1)


def _tables(text: str) -> list[list[list[str]]]:
    """Each Markdown table's body rows, as lists of cells."""
    tables, current = [], None
    for line in text.splitlines():
        if not line.startswith("|"):
            current = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if current is None:
            current = []  # the header row
            tables.append(current)
        elif not all(set(c) <= set("-: ") for c in cells):
            current.append(cells)
    return tables


def _row(rows: list[list[str]], *keys: str) -> list[str]:
    found = [r for r in rows if [c.strip("`*") for c in r[: len(keys)]] == list(keys)]
    assert len(found) == 1, f"{len(found)} rows for {keys}"
    return found[0]


def _shows(cell: str, *values: float) -> None:
    """The numbers in `cell` are `values`, to the precision they are printed with."""
    printed = NUMBER.findall(cell)
    assert len(printed) >= len(values), f"{cell!r}: expected {values}"
    for text, value in zip(printed[: len(values)], values, strict=True):
        decimals = len(text.partition(".")[2])
        shown = float(text.replace(",", ""))
        assert abs(shown - value) <= 0.5 * 10**-decimals + 1e-9, f"{cell!r} shows {value}"


def _shows_each(cells: list[str], values: list[float]) -> None:
    """One value per cell, each shown to its printed precision."""
    assert len(cells) == len(values), f"{cells} for {values}"
    for cell, value in zip(cells, values, strict=True):
        _shows(cell, value)


def _json(name: str) -> dict:
    return json.loads((ROOT / "reports" / name).read_text(encoding="utf-8"))


def test_table_helpers_check_values_to_their_printed_precision():
    rows = _tables("| a | b |\n|---|---|\n| `x` | **1,234.5** (2–3) |\n\n| c |\n|---|\n| y |")
    assert rows == [[["`x`", "**1,234.5** (2–3)"]], [["y"]]]
    _shows(_row(rows[0], "x")[1], 1234.46, 2.4, 3)
    with pytest.raises(AssertionError):
        _shows("1.70", 1.706)
    with pytest.raises(AssertionError):
        _row(rows[0], "z")


def test_training_step_table_agrees_with_its_json():
    settings = _json("benchmark_train_step.json")["settings"]
    (rows,) = _tables(_section(BENCHMARKS, "Training steps"))
    assert len(rows) == len(settings)
    for name, s in settings.items():
        (row,) = [r for r in rows if r[0].startswith(f"`{name}`:")]
        _shows(row[1], s["median_seconds_per_step"])
        _shows(row[2], s["words_per_second"])
        _shows(row[3], s["speed_vs_base"])


def test_pipeline_tables_agree_with_their_json():
    data = _json("benchmark_pipeline.json")
    (overhead,) = _tables(_section(BENCHMARKS, "The pipeline against the bare forward pass"))
    (row,) = overhead
    o = data["overhead"]
    _shows_each(row, [data["limit"], o["words"], o["bare_words_per_s"],
                      o["pipeline_words_per_s"], 100 * o["overhead"], 100 * o["outside_forward"]])
    (rows,) = _tables(_section(BENCHMARKS, "Pipelines side by side"))
    models = {k: v for k, v in data.items() if k.startswith("model_")}
    assert len(rows) == len(models) == 4
    for key, m in models.items():
        _, pipeline, n = key.split("_")
        row = _row(rows, pipeline, n.removeprefix("n"))
        assert m["words"] == o["words"]
        _shows(row[2], m["words_per_s"])
        _shows(row[3], m["peak_rss_mib"])


def test_annotate_tables_agree_with_their_json():
    sample, everything = _tables(_section(BENCHMARKS, "The annotate job"))
    data = _json("benchmark_annotate_sample.json")
    runs = {k: v for k, v in data.items() if k.startswith("annotate_") and isinstance(v, dict)}
    assert len(sample) == len(runs) == 4
    for key, run in runs.items():
        _, pipeline, n = key.split("_")
        row = _row(sample, pipeline, n.removeprefix("n"))
        _shows_each(row[2:], [run["annotated"], run["failed"], run["seconds"],
                              run["cables_per_s"], run["peak_rss_mib"]])
    assert data["annotate_files"] == 200 and len(everything) == 2
    for name, key in (("benchmark_annotate_all.json", "annotate_cnn_n2"),
                      ("benchmark_annotate_all_trf.json", "annotate_trf_n2")):  # fmt: skip
        data = _json(name)
        run = data[key]
        row = _row(everything, key.split("_")[1], "2")
        _shows_each(row[2:], [data["annotate_files"], run["annotated"], run["failed"],
                              run["read_as_text"], run["seconds"], run["cables_per_s"],
                              run["peak_rss_mib"]])


def _memory(path: Path) -> tuple[list[float], list[float], float]:
    """From a benchmark_memory TSV: the workers' mean USS per 100 cables written, each worker's
    peak USS, the process tree's peak RSS (the first pid is the main process)."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    samples = [(float(t), int(d), int(p), float(rss), float(uss))
               for t, d, p, rss, uss in (line.split("\t") for line in lines)]  # fmt: skip
    main = samples[0][2]
    buckets: dict[int, list[float]] = {}
    peaks: dict[int, float] = {}
    for _, done, pid, _, uss in samples:
        if pid != main:
            peaks[pid] = max(peaks.get(pid, 0.0), uss)
            if uss > 0:
                buckets.setdefault(done // 100, []).append(uss)
    means = [sum(v) / len(v) for _, v in sorted(buckets.items())]
    times = {s[0] for s in samples}
    tree = max(sum(s[3] for s in samples if s[0] == t) for t in times)
    return means, list(peaks.values()), tree


def test_memory_table_agrees_with_its_traces():
    (rows,) = _tables(_section(BENCHMARKS, "Memory of the annotate job over time"))
    assert len(rows) == 2
    for setting in ("off", "on"):
        means, peaks, tree = _memory(ROOT / "reports" / f"memory_trf_{setting}.tsv")
        row = _row(rows, setting)
        assert len(means) == 4 and len(peaks) == 2
        _shows_each(row[1:5], means)
        _shows(row[5], *peaks)
        _shows(row[6], tree)


def test_readme_quality_table_agrees_with_the_reference_report():
    reference = _json("reference.json")
    configs = reference["configs"]
    (rows,) = _tables(_section(README, "Quality"))
    assert len(rows) == len(configs) + 1
    # the row the README calls the default is the reference's default and the project's
    (default,) = [re.match(r"`(\w+)`", r[0]).group(1) for r in rows if "(the default)" in r[0]]
    project = srsly.read_yaml(ROOT / "project.yml")
    assert default == reference["default"] == project["vars"]["pipeline"]
    for row in rows:
        name = re.match(r"`(\w+)`", row[0])
        if name:
            gold = configs[name.group(1)]["gold"]["model"]
            silver = configs[name.group(1)]["test"]["ents_f"]
        else:
            assert row[0] == "the old tagger"
            gold, silver = next(iter(configs.values()))["gold"]["tagger"], None
        _shows(row[1], *(100 * v for v in (gold["ents_f"], *gold["ci"]["ents_f"])))
        _shows_each(row[2:6], [100 * gold["ents_per_type"][label]["f"]
                               for label in ("PER", "LOC", "ORG", "MISC")])
        _shows(row[6], 100 * gold["by_case"]["mixed case"]["ents_f"])
        _shows(row[7], 100 * gold["by_case"]["upper case"]["ents_f"])
        if silver is None:
            assert row[8] == ""
        else:
            _shows(row[8], 100 * silver)


def _check_quantize_rows(rows: list[list[str]], data: dict, names: list[str]) -> None:
    """A quantize-section table (benchmark_pipeline.py): per pipeline, words/s, speed against
    fp32, peak RSS, entities as fp32, gold test F with its interval and gold dev F."""
    for name in names:
        q, row = data[name], _row(rows, name)
        _shows_each(row[1:5], [q["words_per_s"], q["speedup"], q["peak_rss_mib"],
                               100 * q["entities_agree"]])  # fmt: skip
        _shows(row[5], *(100 * v for v in (q["gold_test"]["ents_f"], *q["gold_test"]["ci"])))
        _shows(row[6], 100 * q["gold_dev"]["ents_f"])


def test_quantize_tables_agree_with_their_json():
    data = _json("benchmark_quantize.json")["quantize"]
    (rows,) = _tables(_section(BENCHMARKS, "Quantized inference"))
    modes = [m for m in ("fp32", "int8", "int8_tensor") if m in data]
    assert len(rows) == len(modes) == 3
    _check_quantize_rows(rows, data, modes)


def test_fast_pipeline_tables_agree_with_their_json():
    """benchmarks.md's faster pipelines: the same run's words/s, speed against fp32 and gold F
    (benchmark_fast.json)."""
    data = _json("benchmark_fast.json")["quantize"]
    names = [k for k in data if k != "rounds"]
    (rows,) = _tables(_section(BENCHMARKS, "Faster pipelines side by side"))
    assert len(rows) == len(names) == 5
    _check_quantize_rows(rows, data, names)


def _check_scaling_rows(rows: list[list[str]], data: dict) -> None:
    """A scaling-section table (benchmark_pipeline.py): per job, its counts, rates and hours."""
    keys = ("annotated", "startup_s", "cables_per_s", "steady_cables_per_s", "cores",
            "cables_per_s_per_core", "release_hours", "release_core_hours")  # fmt: skip
    for job, r in data.items():
        row = _row(rows, job)
        assert len(row) == 1 + len(keys), row
        for cell, key in zip(row[1:], keys, strict=True):
            if r[key] is None:  # no steady rate to tell: a dash
                assert cell.strip() == "–", f"{job} {key}: {cell!r}"
            else:
                _shows(cell, r[key])


def test_scaling_table_agrees_with_its_json():
    data = _json("benchmark_scaling.json")["scaling"]
    (rows,) = _tables(_section(BENCHMARKS, "Throughput on more cores"))
    assert len(rows) == len(data) == 7
    _check_scaling_rows(rows, data)


def test_speed_tables_agree_with_their_json():
    """benchmarks.md's run after sorted windows and numpy's BLAS: the floor, the pipelines side
    by side and the annotate job (benchmark_speed.json)."""
    data = _json("benchmark_speed.json")
    floor, pipelines, scaling = _tables(_section(BENCHMARKS, "Sorted windows and numpy's BLAS"))
    o = data["overhead"]
    _shows_each(floor[0], [o["words"], o["floor_words_per_s"], o["bare_words_per_s"],
                           o["pipeline_words_per_s"], o["pipeline_vs_floor"]])  # fmt: skip
    names = [k for k in data["quantize"] if k != "rounds"]
    assert len(pipelines) == len(names) == 4
    _check_quantize_rows(pipelines, data["quantize"], names)
    assert len(scaling) == len(data["scaling"]) == 4
    _check_scaling_rows(scaling, data["scaling"])


def test_default_pipeline_tables_agree_with_their_json():
    """benchmarks.md's run of the default pipeline (benchmark_default.json) and of the annotate
    job with one thread per worker (benchmark_threads.json), and the README's speed table."""
    data = _json("benchmark_default.json")
    pipelines, before, after = _tables(
        _section(BENCHMARKS, "The default pipeline timed, and one thread per worker"))
    names = [k for k in data["quantize"] if k != "rounds"]
    assert len(pipelines) == len(names) == 4
    _check_quantize_rows(pipelines, data["quantize"], names)
    assert len(before) == len(data["scaling"]) == 4
    _check_scaling_rows(before, data["scaling"])
    threads = _json("benchmark_threads.json")["scaling"]
    assert len(after) == len(threads) == 3
    _check_scaling_rows(after, threads)
    (readme,) = _tables(_section(README, "Speed"))
    assert len(readme) == 3
    for row in readme:
        q = data["quantize"]["int8" if "int8" in row[0] else
                             row[0].split("`")[1].replace("trf_gold", "fp32")]  # fmt: skip
        _shows_each(row[1:3], [q["words_per_s"], q["speedup"]])
        assert len(row) == 3  # accuracy is the quality table's (reference.json), not this run's
