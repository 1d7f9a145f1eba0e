"""cable-ner: U.S. diplomatic cables to spaCy training data, a NER pipeline and cable metadata."""

__version__ = "0.1.0"
