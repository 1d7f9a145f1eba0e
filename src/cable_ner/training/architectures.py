"""`cable_ner.TransformerModel.v1` (architecture of the `transformer` component's model).

spacy-transformers' `TransformerModel`, whose inference forward pass runs the windows of a batch
through the Hugging Face model in slices of at most `max_windows` rows. Stock spacy-transformers
runs every window of a doc in one call, so its transient activations grow with the text; sliced,
they are bounded by `max_windows` and what still grows is the doc and its `trf_data` (91k tokens:
1,080 MB above the loaded pipeline against 3,115 MB stock, same entities;
`benchmarks/benchmark_long_text.py`). The slices are cut from the windows sorted by wordpiece
length, each padded only to its own longest window (`length_slices`): a window of 128 spaCy
tokens is 150-250 wordpieces, and calls padded to their longest window computed a third of their
rows as padding on shared raw cables (reports/benchmark_slicing.json). The vectors come back in
the batch's order and padded width (zeros past a slice's own), so the alignment and the
listeners see what they saw unsorted.

Training passes are untouched (they need the joint backward pass), and the weights and
serialisation are spacy-transformers' own. `frozen_layers` N > 0 trains only the layers above the
N lowest (and never the embeddings): PyTorch then builds no backward graph below layer N, so a
training step costs less (reports/benchmarks.md "Training steps", from
`benchmarks/benchmark_train_step.py`), and a run of fixed wall time sees more text. N equal to the
number of layers trains none: a training pass is then the (sliced) inference pass, and only the
heads and the layers beside the listener learn.
"""

from __future__ import annotations

import re

import numpy
from spacy.util import registry


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
        if is_train or not len(wordpieces):
            return forward(model, wordpieces, is_train)
        lengths = [int(n) for n in wordpieces.attention_mask.sum(axis=1).tolist()]
        slices = length_slices(lengths, max_windows)
        outputs = [forward(model, _rows(wordpieces, rows, lengths[rows[-1]]), False)[0]
                   for rows in slices]  # fmt: skip

        def backprop(_):
            raise ValueError("cable_ner.TransformerModel.v1: no backprop through an inference pass")

        return _scatter_outputs(outputs, slices, wordpieces.input_ids.shape), backprop

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


# Windows per slice at inference (at most `max_windows`), sorted by wordpiece length first. On 30
# raw cables, slices of 32, 16, 8 and 4 ran 1.16x, 1.38x, 1.47x and 1.51x the unsorted calls on
# one torch thread (as in each annotate worker) and 1.15x, 1.42x, 1.61x and 1.66x on two: less
# padding pays until the matrix products get small (reports/benchmark_slicing*.json).
SLICE_WINDOWS = 8


def length_slices(lengths: list[int], max_windows: int) -> list:
    """The inference slices of a batch of windows with these wordpiece lengths: index arrays into
    the batch, the windows in order of length, SLICE_WINDOWS (at most `max_windows`) a slice."""
    order = numpy.argsort(numpy.asarray(lengths, dtype=int), kind="stable")
    size = min(SLICE_WINDOWS, max_windows)
    return [order[i : i + size] for i in range(0, len(order), size)]


def _rows(wordpieces, rows, width: int):
    """These rows of a WordpieceBatch, cut to `width` columns (padding is on the right)."""
    from spacy_transformers.data_classes import WordpieceBatch

    types = wordpieces.token_type_ids
    return WordpieceBatch(
        strings=[wordpieces.strings[i] for i in rows],
        input_ids=wordpieces.input_ids[rows, :width],
        attention_mask=wordpieces.attention_mask[rows, :width],
        lengths=[wordpieces.lengths[i] for i in rows],
        token_type_ids=None if types is None else types[rows, :width],
    )


def _scatter_outputs(outputs, slices, shape):
    """One Hugging Face ModelOutput for the whole batch (`shape`: its rows and padded width) from
    the slices' outputs: each row back in its place, zeros where a slice was narrower. Tensors of
    (rows, sequence, hidden), the hidden states, are padded on the sequence; pooled ones of (rows,
    hidden) are per row."""
    import torch

    n_rows, width = shape
    first = outputs[0]
    rows = torch.from_numpy(numpy.concatenate(slices)).to(first.last_hidden_state.device)

    def gather(values):
        if values[0] is None:
            return None
        if isinstance(values[0], tuple):
            return tuple(gather([v[i] for v in values]) for i in range(len(values[0])))
        if values[0].dim() > 3:
            raise ValueError(
                "cable_ner.TransformerModel.v1: cannot reassemble outputs of "
                f"{values[0].dim()} axes (attentions): leave output_attentions off"
            )
        if values[0].dim() == 3:
            values = [torch.nn.functional.pad(v, (0, 0, 0, width - v.shape[1])) for v in values]
        out = values[0].new_empty((n_rows, *values[0].shape[1:]))
        out[rows] = torch.cat(values, dim=0)
        return out

    return type(first)(**{key: gather([out[key] for out in outputs]) for key in first.keys()})
