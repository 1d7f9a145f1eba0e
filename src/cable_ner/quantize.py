"""Dynamic int8 quantization of a loaded pipeline's transformer, for faster CPU inference.

    import spacy
    from cable_ner.quantize import quantize_pipeline
    nlp = quantize_pipeline(spacy.load("training/trf_gold/model-best"), "int8")

PyTorch's own dynamic quantization (`torch.ao.quantization.quantize_dynamic`) replaces every
`torch.nn.Linear` of the Hugging Face model inside the `transformer` component by an int8 one:
weights stored as int8 with one scale per output channel (closer to fp32 on gold dev than one
scale per tensor: reports/experiments.md), activations quantized on the fly, per batch. Nothing is
retrained and the NER head keeps its fp32 weights; the fp32 transformer is released. It is
applied at load, to a pipeline in memory: a quantized pipeline is for inference and is not saved
(`nlp.to_disk` would write int8 weights no fp32 model can read), so it refuses to be.

The option is recorded where its output goes: in `nlp.meta["cable_ner"]["quantize"]`, and on
every doc (`doc._.cable.quantize`, set by the `cable_metadata` component), so each record the
annotate job writes says how it was made.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from spacy.language import Language

QUANTIZE_MODES = ("int8",)
META_KEY = "cable_ner"


class QuantizeError(ValueError):
    """An unknown quantization, or a pipeline with no transformer to quantize."""


def _wanted(mode: str | None) -> bool:
    """Whether `mode` asks for quantization ("none" and None do not); QuantizeError if unknown."""
    if mode is None or mode == "none":
        return False
    if mode not in QUANTIZE_MODES:
        raise QuantizeError(f"unknown quantization {mode!r}: none or {', '.join(QUANTIZE_MODES)}")
    return True


def check_quantizable(model: str | Path, mode: str | None) -> None:
    """Fail early, before a job starts, when `mode` cannot apply to the pipeline `model` (a
    folder or an installed package): an unknown mode, or no transformer in its config."""
    if not _wanted(mode):
        return
    from spacy.util import get_package_path, is_package, load_config

    path = Path(model)
    if not path.exists() and is_package(str(model)):
        path = get_package_path(str(model))
        path = next((p for p in path.iterdir() if (p / "config.cfg").is_file()), path)
    config = load_config(path / "config.cfg")
    factories = {c.get("factory") for c in config.get("components", {}).values()}
    if "transformer" not in factories:
        raise QuantizeError(
            f"{model} has no transformer to quantize (its components: "
            f"{', '.join(config['nlp']['pipeline'])}); --quantize applies to transformer pipelines"
        )


def quantized_mode(nlp: Language) -> str | None:
    """The quantization applied to `nlp` by `quantize_pipeline`, or None."""
    return (nlp.meta.get(META_KEY) or {}).get("quantize")


def quantize_pipeline(
    nlp: Language, mode: str | None = "int8", per_channel: bool = True
) -> Language:
    """Quantize the transformer of `nlp` in place (`mode` "int8"; None leaves it as it is) and
    return `nlp`. Raises QuantizeError for an unknown mode or a pipeline without a transformer.
    `per_channel=False` keeps one weight scale per tensor (the comparison in the benchmark)."""
    if not _wanted(mode) or quantized_mode(nlp) == mode:
        return nlp
    import torch
    from thinc.api import PyTorchShim

    shims = [
        shim
        for _, pipe in nlp.pipeline
        if type(pipe).__name__ == "Transformer"
        for node in pipe.model.walk()
        for shim in node.shims
        if isinstance(shim, PyTorchShim)
    ]
    if not shims:
        names = ", ".join(nlp.pipe_names)
        raise QuantizeError(f"this pipeline has no transformer to quantize (components: {names})")
    with warnings.catch_warnings():  # torch 2.13 deprecates its eager-mode quantization in
        warnings.filterwarnings("ignore", ".*(deprecat|torchao)")  # favour of torchao
        q = torch.ao.quantization
        per = q.per_channel_dynamic_qconfig if per_channel else q.default_dynamic_qconfig
        for shim in shims:
            shim._model = q.quantize_dynamic(shim._model, {torch.nn.Linear: per}, torch.qint8)
            if getattr(shim, "_hfmodel", None) is not None:  # spacy-transformers' HFShim keeps
                shim._hfmodel.transformer = shim._model  # its own reference: drop the fp32 copy
    nlp.meta.setdefault(META_KEY, {})["quantize"] = mode
    if "cable_metadata" in nlp.pipe_names:
        nlp.get_pipe("cable_metadata").quantize = mode
    _refuse_saving(nlp)
    return nlp


def _refuse_saving(nlp: Language) -> None:
    def to_disk(*args, **kwargs):
        raise RuntimeError(
            "a quantized pipeline is for inference only and cannot be saved: save the fp32 "
            "pipeline and quantize it when loading (cable_ner.quantize.quantize_pipeline)"
        )

    nlp.to_disk = to_disk  # type: ignore[method-assign]
