"""Registered functions the configs use beyond stock spaCy / spacy-transformers, one module per
registry kind (as spacy-transformers lays out its own):

- `readers`: `cable_ner.SentenceChunkCorpus.v1`, the corpus reader of `[corpora]`;
- `augmenters`: `cable_ner.UpperCase.v1`, a share of the training examples in upper case;
- `architectures`: `cable_ner.TransformerModel.v1`, the transformer's model (window-sliced
  inference, frozen lower layers);
- `optimizers`: `cable_ner.Adam.v1`, Adam with a second learning rate for the heads;
- `loggers`: `cable_ner.ThroughputLogger.v1`, words/s and peak memory at each evaluation;
- `callbacks`: `cable_ner.warm_start_ner.v1`, starts a transformer + CNN NER from a trained CNN.

Each name has an entry point in pyproject.toml under its registry's group (`spacy_readers`,
`spacy_augmenters`, `spacy_architectures`, `thinc_optimizers`, `spacy_loggers`,
`spacy_callbacks`), so a config resolves it after `pip install` without importing anything
first; this package imports none of its modules, so nothing here resolves by the accident of
another name's import.
"""
