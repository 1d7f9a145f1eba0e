"""`cable_ner.TransformerModel.v1` (architecture of the `transformer` component's model).

spacy-transformers' `TransformerModel`, whose inference forward pass runs the windows of a batch
through the Hugging Face model in slices of at most `max_windows` rows. Stock spacy-transformers
runs every window of a doc in one call, so its transient activations grow with the text; sliced,
they are bounded by `max_windows` and what still grows is the doc and its `trf_data` (91k tokens:
1,080 MB above the loaded pipeline against 3,115 MB stock, same entities;
`benchmarks/benchmark_long_text.py`). Training passes are untouched (they need the joint backward
pass), and the weights and serialisation are spacy-transformers' own. `frozen_layers` N > 0 trains
only the layers above the N lowest (and never the embeddings): PyTorch then builds no backward
graph below layer N, so a training step costs less (reports/benchmarks.md "Training steps", from
`benchmarks/benchmark_train_step.py`), and a run of fixed wall time sees more text. N equal to the
number of layers trains none: a training pass is then the (sliced) inference pass, and only the
heads and the layers beside the listener learn.
"""

from __future__ import annotations

import re

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
