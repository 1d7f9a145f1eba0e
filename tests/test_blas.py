"""cable_ner.blas: thinc's CPU matrix products through numpy's BLAS, same vectors as blis."""

import numpy
import spacy
from thinc.api import NumpyOps

from cable_ner.annotate import prepare_pipeline
from cable_ner.blas import use_numpy_blas

TEXT = "The ambassador met Foreign Minister Yusuf bin Alawi in Muscat on Tuesday ."


def cnn_pipeline():
    """A blank pipeline with a CNN tok2vec and an NER on it, initialized (random weights)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("tok2vec")
    nlp.add_pipe("ner").add_label("LOC")
    nlp.initialize()
    return nlp


def blis_flags(nlp) -> set:
    return {node.ops.use_blis for _, pipe in nlp.components if hasattr(pipe, "model")
            for node in pipe.model.walk()}  # fmt: skip


def test_numpy_blas_gives_the_vectors_of_blis():
    nlp = cnn_pipeline()
    assert blis_flags(nlp) == {True}  # thinc's default
    with_blis = nlp(TEXT).tensor
    assert use_numpy_blas(nlp) is nlp and blis_flags(nlp) == {False}
    with_numpy = nlp(TEXT).tensor
    assert with_blis.shape == with_numpy.shape == (len(TEXT.split()), 96)
    numpy.testing.assert_allclose(with_numpy, with_blis, rtol=1e-4, atol=1e-5)
    assert blis_flags(use_numpy_blas(nlp, numpy_blas=False)) == {True}


def test_numpy_blas_is_a_config_callback_and_the_annotate_job_applies_it(tmp_path):
    cnn_pipeline().to_disk(tmp_path)
    assert blis_flags(spacy.load(tmp_path)) == {True}
    config = spacy.util.load_config(tmp_path / "config.cfg")
    config["nlp"]["after_pipeline_creation"] = {"@callbacks": "cable_ner.numpy_blas.v1"}
    config.to_disk(tmp_path / "config.cfg")
    assert blis_flags(spacy.load(tmp_path)) == {False}  # as a `spacy package` wheel loads it
    assert blis_flags(prepare_pipeline(cnn_pipeline())) == {False}


def test_numpy_blas_leaves_other_ops_alone():
    class OtherOps(NumpyOps):  # stands for a GPU's or another backend's ops
        name = "other"

    nlp = cnn_pipeline()
    tok2vec = nlp.get_pipe("tok2vec").model
    for node in tok2vec.walk():
        node.ops = OtherOps()
    use_numpy_blas(nlp)
    assert {type(node.ops) for node in tok2vec.walk()} == {OtherOps}
    assert blis_flags(nlp) == {True, False}  # the NER's models were switched
