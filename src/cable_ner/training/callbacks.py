"""`cable_ner.warm_start_ner.v1` (`[initialize.after_init]` callback).

Starts the NER of configs/trf_cnn.cfg from a trained configs/cnn.cfg pipeline (`paths.init_ner`),
with the CNN's entities before the first update. On the real corpus an hour of training from there
did not beat the CNN itself (reports/experiments.md).
"""

from __future__ import annotations

from pathlib import Path

from spacy.util import registry

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
