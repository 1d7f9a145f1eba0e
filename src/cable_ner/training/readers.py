"""Registered functions the configs use beyond stock spaCy / spacy-transformers.

- `cable_ner.SentenceChunkCorpus.v1` (reader): spaCy's `Corpus` with `max_length` splits a long
  doc into one example *per sentence*, calling `Span.as_doc()` for each, and every call converts
  the whole doc to an array: quadratic in the cable's length (profiled on the shared corpus: 47%
  of reading time, minutes per pass). This reader instead packs consecutive sentences into
  examples of at most `max_length` tokens, with one array per doc: linear, and each example
  keeps cross-sentence context and sentence starts inside it (for the NER's windows and the
  senter). A sentence longer than `max_length` is kept as its own example, never dropped.
- `cable_ner.TransformerModel.v1` (architecture): spacy-transformers' `TransformerModel`, whose
  inference forward pass runs the windows of a batch through the Hugging Face model in slices of
  at most `max_windows` rows. Stock spacy-transformers runs every window of a doc in one call,
  so its transient activations grow with the text; sliced, they are bounded by `max_windows`
  and what still grows is the doc and its `trf_data` (91k tokens: 1,080 MB above the loaded
  pipeline against 3,115 MB stock, same entities; `scripts/benchmark_long_text.py`). Training
  passes are untouched (they need the joint backward pass), and the weights and serialisation
  are spacy-transformers' own. `frozen_layers` N > 0 trains only the layers above the N lowest
  (and never the embeddings): PyTorch then builds no backward graph below layer N, so a
  training step costs less (README "Training", from `scripts/benchmark_train_step.py`), and a
  run of fixed wall time sees more text. N equal to the number of layers trains none: a training
  pass is then the (sliced) inference pass, and only the heads and the layers beside the
  listener learn.
- `cable_ner.Adam.v1` (optimizer): thinc's Adam with a second learning rate for everything that
  is not the transformer (the NER and senter heads, a CNN tok2vec beside the listener):
  `head_lr_scale` times the schedule's rate. One rate for all is what spaCy does; a rate that
  suits fine-tuning a pretrained transformer (1e-4) leaves freshly initialised heads learning
  10x slower than the CNN baseline's (1e-3) over a run that is short on a CPU.
- `cable_ner.warm_start_ner.v1` (`[initialize.after_init]` callback): starts the NER of
  configs/trf_cnn.cfg from a trained configs/cnn.cfg pipeline (`paths.init_ner`), with the
  CNN's entities before the first update. On the real corpus an hour of training from there
  did not beat the CNN itself (README "The reference run").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from spacy.tokens import Doc
from spacy.training import Corpus, Example
from spacy.util import registry
from thinc.optimizers import Optimizer


def sentence_chunks(doc: Doc, max_length: int) -> Iterator[Doc]:
    """Consecutive sentences of `doc` packed into docs of at most `max_length` tokens.

    The doc itself when it is short enough (or `max_length` is 0) or has no sentence
    boundaries; a single sentence longer than `max_length` comes out alone.
    """
    if max_length <= 0 or len(doc) <= max_length or not doc.has_annotation("SENT_START"):
        yield doc
        return
    array_head = doc._get_array_attrs()
    array = doc.to_array(array_head)
    start = end = 0
    for sent in doc.sents:
        if end > start and sent.end - start > max_length:
            yield doc[start:end].as_doc(array_head=array_head, array=array)
            start = end
        end = sent.end
    if end > start:
        yield doc[start:end].as_doc(array_head=array_head, array=array)


class SentenceChunkCorpus(Corpus):
    """`spacy.Corpus` whose long docs become sentence-aligned chunks (see the module doc).

    The predicted side is `nlp.make_doc(text)` as in spaCy, minus the cable reader's blocked
    header tokens: the reference already marks the header as missing annotation, which is what
    training should see, while the reader's header parse of the clean text can end a few tokens
    after the converter's mask; a blocked token whose reference is O (or an entity) leaves
    spaCy's NER oracle without a valid move (E024, 2 of 1,903 dev chunks of the real corpus).
    """

    def make_examples(self, nlp, reference_docs) -> Iterator[Example]:
        for reference in reference_docs:
            for chunk in sentence_chunks(reference, self.max_length):
                if len(chunk):
                    example = self._make_example(nlp, chunk, False)
                    if example.predicted.has_annotation("ENT_IOB"):
                        example.predicted.set_ents([], default="missing")
                    yield example


@registry.readers("cable_ner.SentenceChunkCorpus.v1")
def create_sentence_chunk_corpus(
    path: Path | None,
    max_length: int = 0,
    limit: int = 0,
    augmenter=None,
    shuffle: bool = False,
) -> SentenceChunkCorpus:
    """`max_length` tokens per example (0: whole docs); `limit`: at most this many docs per
    DocBin file (spaCy's Corpus counts per file; 0: all)."""
    return SentenceChunkCorpus(
        path, max_length=max_length, limit=limit, augmenter=augmenter, shuffle=shuffle
    )


@registry.architectures("cable_ner.TransformerModel.v1")
def create_transformer_model(
    name: str,
    get_spans,
    tokenizer_config: dict | None = None,
    transformer_config: dict | None = None,
    mixed_precision: bool = False,
    grad_scaler_config: dict | None = None,
    max_windows: int = 64,
    frozen_layers: int = 0,
):
    """spacy-transformers' TransformerModel; inference runs at most `max_windows` windows a call;
    training leaves the embeddings and the `frozen_layers` lowest layers as they are (0: none)."""
    from spacy_transformers.layers import TransformerModel

    if max_windows < 1:
        raise ValueError(
            f"cable_ner.TransformerModel.v1: max_windows must be >= 1, not {max_windows}"
        )
    if frozen_layers < 0:
        raise ValueError(
            f"cable_ner.TransformerModel.v1: frozen_layers must be >= 0, not {frozen_layers}"
        )
    model = TransformerModel(
        name,
        get_spans,
        tokenizer_config=tokenizer_config or {},
        transformer_config=transformer_config or {},
        mixed_precision=mixed_precision,
        grad_scaler_config=grad_scaler_config or {},
    )
    hf_wrapper = model.layers[0]
    # Read at each call: a loaded pipeline can change it (nlp.get_pipe("transformer").model
    # .layers[0].attrs["max_windows"]); thinc serialises attrs with the weights.
    hf_wrapper.attrs["max_windows"] = max_windows
    hf_wrapper.attrs["frozen_layers"] = frozen_layers
    hf_wrapper._func = _window_sliced(hf_wrapper._func)
    return model


def _window_sliced(forward):
    """Wrap the Hugging Face wrapper's forward: at inference, slice the wordpiece rows."""

    def sliced_forward(model, wordpieces, is_train):
        max_windows = model.attrs["max_windows"]
        if is_train and model.attrs.get("frozen_layers", 0):
            # At each training pass, not at init: the Hugging Face model is only there after
            # initialize() or from_disk(); this is a flag per parameter, cheap to set again.
            if freeze_lower_layers(model.shims[0]._model, model.attrs["frozen_layers"]):
                # Nothing trains: a training pass is an inference pass (no torch graph), and the
                # gradient from the listeners stops here, like the input converter's (dX: []).
                return sliced_forward(model, wordpieces, False)[0], lambda _: []
        if is_train or len(wordpieces) <= max_windows:
            return forward(model, wordpieces, is_train)
        outputs = [
            forward(model, wordpieces[i : i + max_windows], False)[0]
            for i in range(0, len(wordpieces), max_windows)
        ]

        def backprop(_):
            raise ValueError("cable_ner.TransformerModel.v1: no backprop through an inference pass")

        return _concatenate_outputs(outputs), backprop

    return sliced_forward


_LAYER_INDEX = re.compile(r"(?:^|\.)layers?\.(\d+)\.")


def freeze_lower_layers(hf_model, n_layers: int) -> bool:
    """Set requires_grad=False on the embeddings and the `n_layers` lowest layers of a Hugging
    Face model (parameters named `...embeddings...` and `...layer.<i>....` with i < n_layers).
    thinc's PyTorchShim updates only parameters that have a gradient, so frozen ones keep their
    pretrained values. Returns True when `n_layers` is all of them: nothing trains."""
    params = list(hf_model.named_parameters())
    indices = {int(m.group(1)) for name, _ in params if (m := _LAYER_INDEX.search(name))}
    if not indices or n_layers > len(indices):
        raise ValueError(
            f"cable_ner.TransformerModel.v1: frozen_layers={n_layers}, but the transformer has "
            f"{len(indices)} numbered layers (parameter names like 'encoder.layer.0.*')"
        )
    for name, param in params:
        m = _LAYER_INDEX.search(name)
        if "embeddings" in name or (m and int(m.group(1)) < n_layers):
            param.requires_grad_(False)
    return n_layers == len(indices)


def _concatenate_outputs(outputs):
    """One Hugging Face ModelOutput from several along the batch axis."""
    import torch

    def cat(values):
        first = values[0]
        if first is None:
            return None
        if isinstance(first, tuple):
            return tuple(cat([v[i] for v in values]) for i in range(len(first)))
        if isinstance(first, torch.Tensor):
            return torch.cat(values, dim=0)
        from thinc.api import get_array_module

        return get_array_module(first).concatenate(values, axis=0)

    first = outputs[0]
    return type(first)(**{key: cat([out[key] for out in outputs]) for key in first.keys()})


class HeadScaledOptimizer(Optimizer):
    """thinc's Optimizer; parameters outside the PyTorch model move at `head_lr_scale` x the rate.

    thinc keys a parameter by (node id, name). A PyTorch model's parameters reach the optimizer
    through its shim under their `named_parameters()` names, which are dotted paths
    ("encoder.layer.0.attention.self.query.weight"); thinc's own layers name theirs without a
    dot ("W", "b", "E"). The dot is what tells the transformer from the heads.
    """

    def __init__(self, *args, head_lr_scale: float = 1.0, **kwargs) -> None:
        if head_lr_scale <= 0:
            raise ValueError(f"cable_ner.Adam.v1: head_lr_scale must be > 0, not {head_lr_scale}")
        super().__init__(*args, **kwargs)
        self.head_lr_scale = head_lr_scale

    def __call__(self, key, weights, gradient, *, lr_scale: float = 1.0):
        if not is_torch_param(key):
            lr_scale *= self.head_lr_scale
        return super().__call__(key, weights, gradient, lr_scale=lr_scale)


def is_torch_param(key: tuple[int, str]) -> bool:
    return "." in key[1]


@registry.optimizers("cable_ner.Adam.v1")
def create_adam(
    learn_rate=0.001,
    *,
    head_lr_scale: float = 1.0,
    L2=0.01,
    beta1=0.9,
    beta2=0.999,
    eps=1e-08,
    grad_clip=1.0,
    L2_is_weight_decay: bool = True,
    use_averages: bool = False,
) -> HeadScaledOptimizer:
    """thinc's `Adam.v1` (same arguments and defaults as spaCy's training config) plus
    `head_lr_scale` (see `HeadScaledOptimizer`); 1.0 is plain Adam."""
    return HeadScaledOptimizer(
        learn_rate, head_lr_scale=head_lr_scale, L2=L2, beta1=beta1, beta2=beta2, eps=eps,
        grad_clip=grad_clip, L2_is_weight_decay=L2_is_weight_decay, use_averages=use_averages,
        use_radam=False,
    )  # fmt: skip


@registry.loggers("cable_ner.ThroughputLogger.v1")
def create_throughput_logger(path: str):
    """At each evaluation, write {"step", "words", "seconds", "words_per_second", "peak_rss_mb"}
    as a line of `path` + ".throughput.jsonl" (next to the console logger's file; rewritten by
    each run): the training throughput and peak memory the reports quote. spaCy's console log
    has neither. Words and seconds are spaCy's running totals (seconds include evaluations)."""
    import json
    import resource

    from .report import throughput_path

    def setup(nlp, stdout=None, stderr=None):
        out = open(throughput_path(path), "w", encoding="utf-8")

        def log_step(info: dict | None) -> None:
            if info is None:
                return
            words, seconds = info["words"], info["seconds"]
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            record = {"step": info["step"], "words": words, "seconds": round(seconds, 1),
                      "words_per_second": round(words / seconds, 1) if seconds else None,
                      "peak_rss_mb": round(peak)}  # fmt: skip
            out.write(json.dumps(record) + "\n")
            out.flush()

        return log_step, out.close

    return setup


WARM_START = "cable_ner.warm_start_ner.v1"


@registry.callbacks(WARM_START)
def create_warm_start_ner(path: str | None = None):
    """`[initialize.after_init]`: start the NER of a transformer + CNN config (configs/trf_cnn.cfg)
    from a trained CNN pipeline (configs/cnn.cfg) at `path`; null does nothing.

    Copied: the CNN's `tok2vec` component into the CNN branch beside the transformer listener,
    and the CNN NER's head (its projection's columns for that branch, `lower`, `upper`). The
    projection's transformer columns are zeroed, so before the first update the pipeline's
    entities are the CNN's own; training then adds what the transformer's context is worth.
    Labels, widths and head architecture must match, or this raises naming the difference."""

    def warm_start(nlp):
        if path is None:
            return nlp
        if not Path(path, "config.cfg").exists():
            raise ValueError(f"{WARM_START}: {path} is not a trained pipeline (no config.cfg)")
        import spacy

        copy_cnn_into_ner(spacy.load(path), nlp)
        return nlp

    return warm_start


def copy_cnn_into_ner(source, nlp) -> None:
    """The weight copy of `cable_ner.warm_start_ner.v1` (see there)."""
    for name, pipeline in (("tok2vec", source), ("ner", source), ("ner", nlp)):
        if name not in pipeline.pipe_names:
            raise ValueError(f"{WARM_START}: no '{name}' component in {pipeline.pipe_names}")
    source_ner, target_ner = source.get_pipe("ner"), nlp.get_pipe("ner")
    if set(source_ner.move_names) != set(target_ner.move_names):
        raise ValueError(f"{WARM_START}: NER actions differ: {source_ner.move_names} in the "
                         f"source, {target_ner.move_names} here")  # fmt: skip
    upper = [ner.model.attrs["has_upper"] for ner in (source_ner, target_ner)]
    if upper[0] != upper[1]:
        raise ValueError(f"{WARM_START}: the NER heads differ (use_upper {upper[0]} in the source, "
                         f"{upper[1]} here): set [components.ner.model] "
                         "as configs/cnn.cfg does")  # fmt: skip
    cnn = source.get_pipe("tok2vec").model
    features, project = ner_branches(target_ner.model)
    branch = next((layer for layer in features.layers if layer.name == cnn.name), None)
    if branch is None:
        raise ValueError(f"{WARM_START}: the NER has no branch shaped like the source's tok2vec "
                         f"({cnn.name[:60]}...)")  # fmt: skip
    start = sum(layer.get_dim("nO") for layer in features.layers[: features.layers.index(branch)])
    width = branch.get_dim("nO")
    source_project = source_ner.model.get_ref("tok2vec").layers[-1]
    source_W = source_project.get_param("W")
    W = project.ops.alloc2f(*project.get_param("W").shape)
    if source_W.shape != (W.shape[0], width):
        raise ValueError(f"{WARM_START}: projection {source_W.shape} in the source, the CNN branch "
                         f"here needs {(W.shape[0], width)}")  # fmt: skip

    # The same actions may be numbered in another order (labels are numbered as the training
    # data shows them); the copied output rows follow the source's numbering, so take it.
    target_ner.moves.from_bytes(source_ner.moves.to_bytes(exclude=["strings"]), exclude=["strings"])
    copy_weights(cnn, branch, "the CNN branch")
    W[:, start : start + width] = source_W
    project.set_param("W", W)
    project.set_param("b", source_project.get_param("b").copy())
    for ref in ("lower", "upper") if upper[0] else ("lower",):
        copy_weights(source_ner.model.get_ref(ref), target_ner.model.get_ref(ref), f"'{ref}'")


def copy_weights(source, target, what: str) -> None:
    """`target.from_bytes(source.to_bytes())` once every node's parameters have the same shapes
    (thinc's from_bytes does not check them)."""
    shapes = [
        [(name, node.get_param(name).shape) for node in model.walk() for name in node.param_names
         if node.has_param(name)]
        for model in (source, target)
    ]  # fmt: skip
    if shapes[0] != shapes[1]:
        raise ValueError(f"{WARM_START}: {what} has other weights in the source: "
                         f"{shapes[0][:4]}... against {shapes[1][:4]}...")  # fmt: skip
    target.from_bytes(source.to_bytes())


def ner_branches(model):
    """A parser model's feature layer (`concatenate` of its tok2vec branches) and projection."""
    tok2vec = model.get_ref("tok2vec")
    features, project = tok2vec.layers[0], tok2vec.layers[-1]
    if "|" not in features.name or project.name != "linear":
        raise ValueError(f"{WARM_START}: the NER's tok2vec is not a concatenate of "
                         f"branches followed by a projection: {tok2vec.name[:80]}")  # fmt: skip
    return features, project
