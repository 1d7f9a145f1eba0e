"""The registered training functions: the sentence-chunk corpus reader and the window-sliced
transformer (src/cable_ner/training/)."""

import json

import numpy
import pytest
import spacy
import torch
from spacy.tokens import Doc, DocBin

from cable_ner.training.readers import SentenceChunkCorpus, sentence_chunks


def doc_of_sentences(nlp, lengths: list[int]) -> Doc:
    """One sentence per length; every sentence's second token starts a one-token LOC entity."""
    words, starts, ents = [], [], []
    for i, n in enumerate(lengths):
        words += [f"w{i}_{j}" for j in range(n)]
        starts += [True] + [False] * (n - 1)
        ents += ["O", "B-LOC"] + ["O"] * (n - 2)
    return Doc(nlp.vocab, words=words, sent_starts=starts, ents=ents)


def test_sentence_chunks_pack_sentences_up_to_max_length():
    nlp = spacy.blank("en")
    doc = doc_of_sentences(nlp, [5, 4, 6, 30, 3, 3])
    chunks = list(sentence_chunks(doc, 10))
    # 5+4 fit, +6 would not; 6 alone; 30 > 10 alone (kept, not dropped); 3+3 together.
    assert [len(c) for c in chunks] == [9, 6, 30, 6]
    assert [t.text for c in chunks for t in c] == [t.text for t in doc]
    assert all(c[0].is_sent_start for c in chunks)
    assert [e.text for c in chunks for e in c.ents] == [e.text for e in doc.ents]
    assert [e.label_ for c in chunks for e in c.ents] == ["LOC"] * 6
    # Short docs, max_length 0 and docs without sentence boundaries come back whole.
    assert [len(c) for c in sentence_chunks(doc, 0)] == [len(doc)]
    assert [len(c) for c in sentence_chunks(doc, 100)] == [len(doc)]
    no_sents = Doc(nlp.vocab, words=["a"] * 20)
    assert [len(c) for c in sentence_chunks(no_sents, 5)] == [20]


def test_sentence_chunk_corpus_reads_every_token(tmp_path):
    nlp = spacy.blank("en")
    docs = [doc_of_sentences(nlp, [4, 4, 4]), doc_of_sentences(nlp, [3, 12])]
    DocBin(docs=docs).to_disk(tmp_path / "train.spacy")
    corpus = spacy.registry.get("readers", "cable_ner.SentenceChunkCorpus.v1")(
        tmp_path / "train.spacy", max_length=8
    )
    assert isinstance(corpus, SentenceChunkCorpus)
    examples = list(corpus(nlp))
    assert [len(eg.reference) for eg in examples] == [8, 4, 3, 12]
    assert sum(len(eg.reference.ents) for eg in examples) == 5
    assert all(eg.predicted.text == eg.reference.text for eg in examples)


def test_length_slices_sort_windows_by_length():
    from cable_ner.training import architectures

    lengths = [200, 150, 160, 250, 151, 230, 152, 199]
    slices = architectures.length_slices(lengths, max_windows=3)
    assert [[lengths[i] for i in rows] for rows in slices] == [
        [150, 151, 152], [160, 199, 200], [230, 250]
    ]  # fmt: skip
    assert sorted(i for rows in slices for i in rows) == list(range(len(lengths)))
    assert architectures.SLICE_WINDOWS == 8  # the size when max_windows allows it
    assert [len(rows) for rows in architectures.length_slices([7] * 20, max_windows=64)] == [
        8, 8, 4
    ]  # fmt: skip
    assert architectures.length_slices([], max_windows=2) == []


@pytest.mark.slow
def test_transformer_model_slices_windows_at_inference(transformer_dir):
    """The vectors of stock spacy-transformers (one call for every window, padded to the longest),
    from calls of at most max_windows windows sorted by wordpiece length, each cut to its own
    longest window; the batch's order and padded width are kept."""
    from spacy_transformers.layers import TransformerModel

    get_spans = spacy.registry.get("span_getters", "spacy-transformers.strided_spans.v1")(
        window=8, stride=6
    )
    make = spacy.registry.get("architectures", "cable_ner.TransformerModel.v1")
    model = make(str(transformer_dir), get_spans, {"use_fast": True}, {}, max_windows=3)
    model.initialize()
    stock = TransformerModel(str(transformer_dir), get_spans, {"use_fast": True}, {})
    stock.initialize()
    nlp = spacy.blank("en")
    # short words (one wordpiece each) and long ones (several): windows of different lengths
    short = "The ambassador met the minister in Muscat on Tuesday . "
    long = "Counterproliferation internationalization disestablishmentarianism talks . "
    doc = nlp((short + long) * 4)
    n_windows = len(get_spans([doc])[0])

    hf = model.layers[0].shims[0]._model
    calls = []
    hook = hf.register_forward_pre_hook(
        lambda _module, _args, kwargs: calls.append(kwargs["attention_mask"].numpy()),
        with_kwargs=True,
    )
    try:
        sliced = model.predict([doc])
    finally:
        hook.remove()
    assert sum(len(mask) for mask in calls) == n_windows and len(calls) > n_windows // 3
    for mask in calls:
        real = mask.sum(axis=1)
        assert len(mask) <= 3 and mask.shape[1] == real.max()
    lengths = [mask.sum(axis=1) for mask in calls]  # in order of length, call after call
    assert all(a.max() <= b.min() for a, b in zip(lengths, lengths[1:], strict=False))
    whole = stock.predict([doc])
    mask = whole.wordpieces.attention_mask.astype(bool)
    ours = sliced.model_output.last_hidden_state.numpy()
    theirs = whole.model_output.last_hidden_state.numpy()
    assert ours.shape == theirs.shape and len(set(mask.sum(axis=1))) > 1
    numpy.testing.assert_allclose(ours[mask], theirs[mask], atol=1e-4)
    numpy.testing.assert_allclose(
        sliced.model_output.pooler_output.numpy(),
        whole.model_output.pooler_output.numpy(), atol=1e-4,
    )  # fmt: skip
    assert [a.data.tolist() for a in sliced.align] == [a.data.tolist() for a in whole.align]

    with pytest.raises(ValueError, match="max_windows must be >= 1"):
        make(str(transformer_dir), get_spans, max_windows=0)


@pytest.mark.slow
def test_transformer_model_freezes_the_lower_layers_in_training(transformer_dir):
    """frozen_layers=4 on the 6-layer MiniLM: a training pass leaves the embeddings and layers
    0-3 without gradients and trains 4-5; inference passes and frozen_layers=0 change nothing."""
    get_spans = spacy.registry.get("span_getters", "spacy-transformers.strided_spans.v1")(
        window=8, stride=8
    )
    make = spacy.registry.get("architectures", "cable_ner.TransformerModel.v1")
    doc = spacy.blank("en")("The ambassador met the foreign minister in Muscat .")

    def trainable(model) -> dict[str, bool]:
        hf = model.layers[0].shims[0]._model
        return {name: p.requires_grad for name, p in hf.named_parameters()}

    plain = make(str(transformer_dir), get_spans, {"use_fast": True}, {})
    plain.initialize()
    plain.begin_update([doc])
    assert all(trainable(plain).values())

    model = make(str(transformer_dir), get_spans, {"use_fast": True}, {}, frozen_layers=4)
    model.initialize()
    model.predict([doc])
    assert all(trainable(model).values())  # inference leaves the flags alone
    model.begin_update([doc])
    flags = trainable(model)
    frozen = {name for name, flag in flags.items() if not flag}
    assert frozen == {
        name for name in flags
        if name.startswith("embeddings.") or any(f"encoder.layer.{i}." in name for i in range(4))
    }  # fmt: skip
    assert any(name.startswith("encoder.layer.5.") for name in flags if flags[name])

    # The torch graph then starts at layer 4: only its parameters and above get gradients.
    hf = model.layers[0].shims[0]._model
    hf(input_ids=torch.tensor([[101, 2000, 3000, 102]])).last_hidden_state.sum().backward()
    with_grad = {name for name, p in hf.named_parameters() if p.grad is not None}
    assert with_grad and not with_grad & frozen
    assert {name.split(".")[2] for name in with_grad if name.startswith("encoder.")} == {"4", "5"}

    for bad in (-1, 7):
        with pytest.raises(ValueError, match="frozen_layers"):
            wrong = make(str(transformer_dir), get_spans, frozen_layers=bad)
            wrong.initialize()
            wrong.begin_update([doc])


@pytest.mark.slow
def test_transformer_model_frozen_whole_trains_nothing(transformer_dir):
    """frozen_layers=6, all of MiniLM's layers: a training pass is the inference pass (the same
    vectors, sliced by max_windows, no torch graph), and its backprop gives no parameter a
    gradient."""
    get_spans = spacy.registry.get("span_getters", "spacy-transformers.strided_spans.v1")(
        window=4, stride=4
    )
    make = spacy.registry.get("architectures", "cable_ner.TransformerModel.v1")
    doc = spacy.blank("en")("The ambassador met the foreign minister in Muscat on Monday .")
    model = make(str(transformer_dir), get_spans, {"use_fast": True}, {}, max_windows=2,
                 frozen_layers=6)  # fmt: skip
    model.initialize()
    predicted = model.predict([doc]).model_output.last_hidden_state
    output, backprop = model.begin_update([doc])
    trained = output.model_output.last_hidden_state
    assert len(predicted) == 3 and not trained.requires_grad  # 3 windows, in slices of 2
    numpy.testing.assert_allclose(trained.numpy(), predicted.numpy(), atol=1e-5)
    hf = model.layers[0].shims[0]._model
    flags = {name: p.requires_grad for name, p in hf.named_parameters()}
    assert not any(flag for name, flag in flags.items() if not name.startswith("pooler."))
    output.model_output.last_hidden_state = trained + 1.0  # any gradient: it must go nowhere
    assert backprop(output) == [doc]
    assert all(p.grad is None for p in hf.parameters())


def test_throughput_logger_writes_words_per_second_and_peak_rss(tmp_path):
    make = spacy.registry.get("loggers", "cable_ner.ThroughputLogger.v1")
    log_step, finalize = make(str(tmp_path / "log.jsonl"))(spacy.blank("en"))
    log_step(None)  # steps between evaluations carry no info
    log_step({"step": 0, "words": 0, "seconds": 0.0})
    log_step({"step": 200, "words": 180_000, "seconds": 600.04})
    finalize()
    lines = (tmp_path / "log.jsonl.throughput.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["step"] for r in rows] == [0, 200]
    assert rows[0]["words_per_second"] is None
    assert rows[1]["words_per_second"] == 300.0 and rows[1]["seconds"] == 600.0
    assert all(100 < r["peak_rss_mb"] < 100_000 for r in rows)


def test_sentence_chunk_corpus_leaves_the_header_to_the_reference(tmp_path):
    """The reader blocks header tokens of cable-like text; training examples must not (E024)."""
    nlp = spacy.blank("en")
    nlp.tokenizer = spacy.registry.get("tokenizers", "cable_ner.cable_reader.v1")()(nlp)
    text = (
        "UNCLAS MUSCAT 000071 \nSIPDIS \nE.O. 12958: N/A \nTAGS: PREL MU \nSUBJECT: OMAN TALKS \n"
        "1. Ambassador Schmierer met Minister Alawi in Muscat ."
    )
    assert any(t.ent_iob_ == "B" for t in nlp.make_doc(text))  # blocked by the reader
    reference = Doc(spacy.blank("en").vocab, words=[t.text for t in nlp.make_doc(text)],
                    spaces=[bool(t.whitespace_) for t in nlp.make_doc(text)])  # fmt: skip
    header = [t.i for t in reference if t.text == "1"][0]
    reference.set_ents(
        [reference.char_span(text.index("Schmierer"), text.index(" met"), "PER")],
        missing=[reference[:header]],
        default="outside",
    )
    DocBin(docs=[reference]).to_disk(tmp_path / "train.spacy")
    (example,) = SentenceChunkCorpus(tmp_path / "train.spacy")(nlp)
    assert not any(t.ent_iob_ for t in example.predicted)
    assert [e.text for e in example.reference.ents] == ["Schmierer"]
    ner = nlp.add_pipe("ner")
    ner.add_label("PER")
    nlp.initialize()
    assert len(ner.moves.get_oracle_sequence(example)) > 0


def test_head_scaled_adam_moves_heads_faster_than_the_transformer():
    """Adam's first step moves each weight by ~learn_rate; thinc keys (no dot) by 10x that."""
    optimizer = spacy.registry.get("optimizers", "cable_ner.Adam.v1")(
        0.001, head_lr_scale=10.0, L2=0.0, grad_clip=0.0
    )
    moved = {}
    for key in [(1, "encoder.layer.0.output.dense.weight"), (2, "W")]:
        weights = numpy.zeros((3,), dtype="f")
        gradient = numpy.asarray([0.5, -2.0, 1.0], dtype="f")
        weights, _ = optimizer(key, weights, gradient)
        moved[key[1]] = weights
    numpy.testing.assert_allclose(moved["encoder.layer.0.output.dense.weight"],
                                  [-0.001, 0.001, -0.001], rtol=1e-3)  # fmt: skip
    numpy.testing.assert_allclose(moved["W"], [-0.01, 0.01, -0.01], rtol=1e-3)
    plain = spacy.registry.get("optimizers", "cable_ner.Adam.v1")(0.001, L2=0.0, grad_clip=0.0)
    weights, _ = plain((2, "W"), numpy.zeros((1,), dtype="f"), numpy.ones((1,), dtype="f"))
    numpy.testing.assert_allclose(weights, [-0.001], rtol=1e-3)
    with pytest.raises(ValueError, match="head_lr_scale must be > 0"):
        spacy.registry.get("optimizers", "cable_ner.Adam.v1")(0.001, head_lr_scale=0)


@pytest.mark.slow
def test_head_scaled_adam_tells_the_transformer_from_the_heads(transformer_dir):
    """On the real trf config, the dotted keys are exactly the Hugging Face model's parameters
    and the NER's and senter's parameters are all scaled."""
    from spacy.training import Example
    from spacy.util import load_config

    from cable_ner.training.optimizers import is_torch_param

    config = load_config(
        "configs/trf.cfg", overrides={"paths.transformer": str(transformer_dir)}, interpolate=True
    )
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    doc = Doc(nlp.vocab, words="Talks in Muscat .".split(), ents=["O", "O", "B-LOC", "O"],
              sent_starts=[True, False, False, False])  # fmt: skip
    examples = [Example(nlp.make_doc(doc.text), doc)]
    nlp.initialize(lambda: examples)
    seen = []
    optimizer = spacy.registry.get("optimizers", "cable_ner.Adam.v1")(1e-4, head_lr_scale=10.0)
    original = type(optimizer).__call__

    def spy(self, key, weights, gradient, **kwargs):
        seen.append(key)
        return original(self, key, weights, gradient, **kwargs)

    optimizer.__class__ = type("Spy", (type(optimizer),), {"__call__": spy})
    # As spaCy's training loop: every backward pass first, then each component's update.
    nlp.update(examples, sgd=False)
    for _, pipe in nlp.pipeline:
        if getattr(pipe, "is_trainable", False):
            pipe.finish_update(optimizer)
    hf = nlp.get_pipe("transformer").model.layers[0].shims[0]._model
    hf_names = {name for name, p in hf.named_parameters()}
    torch_keys = {name for key in seen if is_torch_param(key) for _, name in [key]}
    assert torch_keys and torch_keys <= hf_names
    for pipe in ("ner", "senter"):
        params = {(node.id, name) for node in nlp.get_pipe(pipe).model.walk()
                  for name in node.param_names if node.has_param(name)}  # fmt: skip
        assert params & set(seen), pipe
        assert not any(is_torch_param(key) for key in params)


def test_upper_case_augmenter_keeps_entities_sentences_and_the_unannotated_header(tmp_path):
    """`cable_ner.UpperCase.v1` upper-cases a share of the examples: text upper case, the same
    entities and sentence starts token for token, header tokens still missing (not "O"), and
    the NER oracle still finds moves; level 0 returns every example unchanged."""
    nlp = spacy.blank("en")
    nlp.tokenizer = spacy.registry.get("tokenizers", "cable_ner.cable_reader.v1")()(nlp)
    text = (
        "UNCLAS MUSCAT 000071 \nSIPDIS \nE.O. 12958: N/A \nTAGS: PREL MU \nSUBJECT: OMAN TALKS \n"
        "1. Ambassador Schmierer met Minister Alawi in Muscat . He left ."
    )
    made = nlp.make_doc(text)
    reference = Doc(spacy.blank("en").vocab, words=[t.text for t in made],
                    sent_starts=[t.text in ("1", "He") for t in made],
                    spaces=[bool(t.whitespace_) for t in made])  # fmt: skip
    header = [t.i for t in reference if t.text == "1"][0]
    names = [("Schmierer", "PER"), ("Alawi", "PER"), ("Muscat", "LOC")]
    reference.set_ents(
        [reference.char_span(text.rindex(w), text.rindex(w) + len(w), label) for w, label in names],
        missing=[reference[:header]],
        default="outside",
    )
    DocBin(docs=[reference]).to_disk(tmp_path / "train.spacy")
    make = spacy.registry.get("augmenters", "cable_ner.UpperCase.v1")
    always = SentenceChunkCorpus(tmp_path / "train.spacy", augmenter=make(level=1.0))
    (example,) = always(nlp)
    assert example.reference.text == text.upper() == example.predicted.text
    assert [(e.text, e.label_) for e in example.reference.ents] == [
        ("SCHMIERER", "PER"), ("ALAWI", "PER"), ("MUSCAT", "LOC")
    ]  # fmt: skip
    assert [t.ent_iob_ for t in example.reference[:header]] == [""] * header
    assert [t.ent_iob_ for t in example.reference[header:]].count("O") == len(made) - header - 3
    assert [s.start for s in example.reference.sents] == [s.start for s in reference.sents]
    assert not any(t.ent_iob_ for t in example.predicted)
    ner = nlp.add_pipe("ner")
    ner.add_label("PER")
    ner.add_label("LOC")
    nlp.initialize()
    assert len(ner.moves.get_oracle_sequence(example)) > 0
    (kept,) = SentenceChunkCorpus(tmp_path / "train.spacy", augmenter=make(level=0.0))(nlp)
    assert kept.reference.text == text
    with pytest.raises(ValueError, match="between 0 and 1"):
        make(level=1.5)
