"""`cable_ner.Adam.v1` (`[training.optimizer]`).

thinc's Adam with a second learning rate for everything that is not the transformer (the NER and
senter heads, a CNN tok2vec beside the listener): `head_lr_scale` times the schedule's rate. One
rate for all is what spaCy does; a rate that suits fine-tuning a pretrained transformer (1e-4)
leaves freshly initialised heads learning 10x slower than the CNN baseline's (1e-3) over a run
that is short on a CPU.
"""

from __future__ import annotations

from spacy.util import registry
from thinc.optimizers import Optimizer


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
