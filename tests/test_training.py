"""Training smoke tests: the configs are filled, scripts/train.py trains each of them for two steps
on a tiny DocBin, offline, and leaves a loadable model, a JSONL log and an offline wandb run.

The transformer runs need the exported model folder (scripts/export_transformer.py, run here
when missing) and take a minute or two on 2 CPU cores: they are marked slow.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, DocBin
from spacy.util import dict_to_dot
from thinc.api import Config

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
LABELS = {"PER", "LOC", "ORG", "MISC"}

# (words, entity IOB tags) per sentence; None marks a token whose NER annotation is missing
# (the cable header, which the converter blocks).
SENTENCES = [
    ("C O N F I D E N T I A L MUSCAT 000071".split(), [None] * 14),
    (
        "Ambassador Richard Schmierer met Minister Yusuf bin Alawi in Muscat .".split(),
        ["O", "B-PER", "I-PER", "O", "O", "B-PER", "I-PER", "I-PER", "O", "B-LOC", "O"],
    ),
    (
        "The Foreign Ministry said Oman wants calm in the Gulf .".split(),
        ["O", "B-ORG", "I-ORG", "O", "B-LOC", "O", "O", "O", "O", "B-LOC", "O"],
    ),
    (
        "Omani officials will visit Tehran next week .".split(),
        ["B-MISC", "O", "O", "O", "B-LOC", "O", "O", "O"],
    ),
    (
        "MDC leader Morgan Tsvangirai spoke in Harare on Tuesday .".split(),
        ["B-ORG", "O", "B-PER", "I-PER", "O", "O", "B-LOC", "O", "O", "O"],
    ),
]


def make_docs(nlp, n_docs: int) -> list[Doc]:
    docs = []
    for i in range(n_docs):
        sents = [SENTENCES[0]] + [SENTENCES[1 + (i + k) % 4] for k in range(3)]
        words = [w for ws, _ in sents for w in ws]
        ents = [t for _, ts in sents for t in ts]
        starts = [j == 0 for ws, _ in sents for j in range(len(ws))]
        doc = Doc(nlp.vocab, words=words, sent_starts=starts, ents=ents)
        doc.user_data["cable"] = {"reference_id": f"10TEST{i}"}
        docs.append(doc)
    return docs


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """train.spacy (one file) and dev/ (a folder of two shards): both forms paths.* accept."""
    path = tmp_path_factory.mktemp("corpus")
    nlp = spacy.blank("en")
    docs = make_docs(nlp, 12)
    DocBin(docs=docs[:8], store_user_data=True).to_disk(path / "train.spacy")
    (path / "dev").mkdir()
    DocBin(docs=docs[8:10], store_user_data=True).to_disk(path / "dev" / "a.spacy")
    DocBin(docs=docs[10:], store_user_data=True).to_disk(path / "dev" / "b.spacy")
    return path


def offline_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "CABLE_NER_"))}
    env.pop("SPACY_CONFIG_OVERRIDES", None)
    return env


def train(config: str, corpus: Path, output: Path, *extra: str, env=None, prefix=()) -> str:
    cmd = [
        *prefix,
        sys.executable,
        "scripts/train.py",
        str(CONFIGS / config),
        str(output),
        "--paths.train",
        str(corpus / "train.spacy"),
        "--paths.dev",
        str(corpus / "dev"),
        "--training.max_steps=2",
        "--training.eval_frequency=1",
        *extra,
    ]
    result = subprocess.run(
        cmd, cwd=ROOT, env=env or offline_env(), capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def check_run(output: Path, components: list[str]) -> None:
    nlp = spacy.load(output / "model-best")
    assert nlp.pipe_names == components
    assert set(nlp.get_pipe("ner").labels) == LABELS
    doc = nlp("The ambassador met the minister in Muscat. They discussed Iran.")
    assert doc.has_annotation("SENT_START")
    assert doc[0].is_sent_start
    assert all(ent.label_ in LABELS for ent in doc.ents)
    assert doc._.cable.classification is None and "paragraphs" in doc.spans
    provenance = nlp.meta["cable_ner"]
    assert len(provenance["corpus_sha256"]) == 64
    assert provenance["git_commit"] is None or len(provenance["git_commit"]) == 40

    records = [json.loads(line) for line in (output / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [0, 1, 2]
    for record in records:
        assert {"epoch", "step", "losses", "scores", "score"} <= set(record)
        assert {"ner", "senter"} <= set(record["losses"])
        assert {"ents_f", "ents_p", "ents_r", "sents_f"} <= set(record["scores"])

    throughput = (output / "log.jsonl.throughput.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in throughput] == [0, 1, 2]
    assert json.loads(throughput[-1])["words"] > 0

    runs = list((output / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, list((output / "wandb").iterdir())
    assert list(runs[0].glob("run-*.wandb"))
    assert not list((output / "wandb").glob("run-*")), "an online wandb run was started"


BASE_CONFIGS = sorted(p.name for p in CONFIGS.glob("*.cfg") if not p.stem.endswith("_gold"))
GOLD_CONFIGS = sorted(p.name for p in CONFIGS.glob("*_gold.cfg"))


@pytest.mark.parametrize("name", BASE_CONFIGS)
def test_config_is_filled(name, tmp_path):
    pytest.importorskip("spacy_transformers")
    filled = tmp_path / name
    cmd = [sys.executable, "-m", "spacy", "init", "fill-config", str(CONFIGS / name), str(filled)]
    subprocess.run(cmd, check=True, capture_output=True)
    ours = dict_to_dot(Config().from_disk(CONFIGS / name, interpolate=False))
    theirs = dict_to_dot(Config().from_disk(filled, interpolate=False))
    assert ours == theirs
    # Every variant reads cables with the cable reader and ends with the metadata component.
    assert ours["nlp.tokenizer.@tokenizers"] == "cable_ner.cable_reader.v1"
    assert ours["nlp.pipeline"][-1] == "cable_metadata"


def test_train_cnn(corpus, tmp_path):
    out = tmp_path / "cnn"
    stdout = train("cnn.cfg", corpus, out)
    assert "wandb mode: offline" in stdout
    check_run(out, ["tok2vec", "ner", "senter", "cable_metadata"])


def test_spacy_config_overrides_env(corpus, tmp_path):
    """SPACY_CONFIG_OVERRIDES is read as `spacy train` reads it: it wins over the command line
    (that is how a workflow smoke test caps a run whatever project.yml passes)."""
    env = offline_env() | {"SPACY_CONFIG_OVERRIDES": "--training.max_steps=1 --nlp.batch_size=7"}
    out = tmp_path / "cnn"
    train("cnn.cfg", corpus, out, "--nlp.batch_size=9", env=env)
    assert spacy.load(out / "model-last").batch_size == 7
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [0, 1]


def test_train_cnn_without_network(corpus, tmp_path):
    """Inside a network namespace with no usable interface, training and wandb still work."""
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-n", "true"]).returncode != 0:
        pytest.skip("unshare -n is not permitted here")
    out = tmp_path / "cnn"
    train("cnn.cfg", corpus, out, prefix=(unshare, "-n"))
    check_run(out, ["tok2vec", "ner", "senter", "cable_metadata"])


@pytest.mark.slow
def test_train_trf(corpus, transformer_dir, tmp_path):
    out = tmp_path / "trf"
    train("trf.cfg", corpus, out, "--paths.transformer", str(transformer_dir))
    check_run(out, ["transformer", "senter", "ner", "cable_metadata"])
    # The weights travel inside the pipeline: it loads and predicts without the exported folder.
    missing = str(tmp_path / "no-such-transformer")
    nlp = spacy.load(out / "model-best", config={"paths": {"transformer": missing}})
    assert nlp.config["paths"]["transformer"] == missing
    assert nlp("Talks in Muscat .").has_annotation("SENT_START")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["trf_shape", "trf_cnn"])
def test_train_trf_features_without_network(name, corpus, transformer_dir, tmp_path):
    """The configs that concatenate other features beside the transformer listener train too."""
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-n", "true"]).returncode != 0:
        pytest.skip("unshare -n is not permitted here")
    out = tmp_path / name
    train(
        f"{name}.cfg",
        corpus,
        out,
        "--paths.transformer",
        str(transformer_dir),
        prefix=(unshare, "-n"),
    )
    check_run(out, ["transformer", "senter", "ner", "cable_metadata"])


def test_gold_stage_configs_source_every_component_of_their_base():
    """configs/<base>_gold.cfg sources each component of configs/<base>.cfg from paths.source
    and keeps its tokenizer; everything else it sets is training (corpora, schedule, logging)."""
    assert GOLD_CONFIGS == ["cnn_gold.cfg", "trf_gold.cfg"]
    for name in GOLD_CONFIGS:
        gold = dict_to_dot(Config().from_disk(CONFIGS / name, interpolate=False))
        base = dict_to_dot(Config().from_disk(CONFIGS / name.replace("_gold", ""),
                                              interpolate=False))  # fmt: skip
        assert gold["nlp.pipeline"] == base["nlp.pipeline"]
        for pipe in base["nlp.pipeline"]:
            assert gold[f"components.{pipe}.source"] == "${paths.source}"
            assert not any(k.startswith(f"components.{pipe}.") and not k.endswith(".source")
                           for k in gold), f"{name}: {pipe} is not only sourced"  # fmt: skip
        assert {k: v for k, v in gold.items() if k.startswith("nlp.tokenizer")} == {
            k: v for k, v in base.items() if k.startswith("nlp.tokenizer")
        }
        assert gold["paths.train"] == "corpus/gold/train.spacy"
        assert gold["paths.dev"] == "corpus/gold/dev.spacy"
        assert gold["training.score_weights.ents_f"] == 1.0


@pytest.fixture(scope="module")
def cnn_pipeline(corpus, tmp_path_factory) -> Path:
    """A CNN pipeline trained long enough on the tiny corpus to predict entities."""
    out = tmp_path_factory.mktemp("cnn_source")
    train("cnn.cfg", corpus, out, "--training.max_steps=60", "--training.eval_frequency=30",
          "--training.optimizer.learn_rate.warmup_steps=1", "--training.dropout=0.0")
    return out / "model-last"


def warm_trf_cnn(corpus: Path, transformer_dir: Path, init_ner, **overrides):
    from spacy.training.initialize import init_nlp
    from spacy.util import load_config

    config = load_config(CONFIGS / "trf_cnn.cfg", overrides={
        "paths.train": str(corpus / "train.spacy"), "paths.dev": str(corpus / "dev"),
        "paths.transformer": str(transformer_dir), "paths.init_ner": init_ner, **overrides,
    })  # fmt: skip
    return init_nlp(config)


@pytest.mark.slow
def test_warm_start_ner_starts_trf_cnn_from_the_cnn(cnn_pipeline, corpus, transformer_dir):
    """With paths.init_ner, trf_cnn's NER starts as the CNN's: the same entities before any update
    (the transformer's columns of the projection are zero); a cold start does not."""
    cnn = spacy.load(cnn_pipeline)
    warm = warm_trf_cnn(corpus, transformer_dir, str(cnn_pipeline), **{
        "components.ner.model.use_upper": True})  # fmt: skip
    cold = warm_trf_cnn(corpus, transformer_dir, None, **{"components.ner.model.use_upper": True})
    texts = [" ".join(words) for words, _ in SENTENCES[1:]] + [
        "Ambassador Yusuf bin Alawi met the MDC in Tehran on Tuesday ."
    ]

    def entities(nlp):
        with nlp.select_pipes(disable=["senter"]):  # trf_cnn's untrained senter would cut them
            return [[(e.start, e.end, e.label_) for e in doc.ents] for doc in nlp.pipe(texts)]

    expected = entities(cnn)
    assert sum(map(len, expected)) >= 3, expected
    assert entities(warm) == expected
    assert entities(cold) != expected
    ner = warm.get_pipe("ner").model
    project = ner.get_ref("tok2vec").layers[-1].get_param("W")
    assert project.shape == (64, 384 + 128)
    assert not project[:, :384].any() and project[:, 384:].any()


@pytest.mark.slow
def test_warm_start_ner_names_what_does_not_fit(cnn_pipeline, corpus, transformer_dir, tmp_path):
    with pytest.raises(ValueError, match="use_upper True in the source, False here"):
        warm_trf_cnn(corpus, transformer_dir, str(cnn_pipeline))
    with pytest.raises(ValueError, match=f"{tmp_path} is not a trained pipeline"):
        warm_trf_cnn(corpus, transformer_dir, str(tmp_path))


def test_gold_stage_fine_tunes_the_trained_cnn(cnn_pipeline, corpus, tmp_path):
    """configs/cnn_gold.cfg starts from a trained pipeline (paths.source) and trains it further:
    the run keeps the pipeline's components and labels, and its weights move from the source's."""
    out = tmp_path / "gold"
    train("cnn_gold.cfg", corpus, out, f"--paths.source={cnn_pipeline}",
          "--training.optimizer.learn_rate.warmup_steps=1")  # fmt: skip
    check_run(out, ["tok2vec", "ner", "senter", "cable_metadata"])
    source, tuned = spacy.load(cnn_pipeline), spacy.load(out / "model-last")
    for name in ("tok2vec", "ner"):
        assert source.get_pipe(name).to_bytes() != tuned.get_pipe(name).to_bytes(), name
    assert source.get_pipe("ner").labels == tuned.get_pipe("ner").labels
