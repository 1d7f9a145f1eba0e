"""cable-ner: U.S. diplomatic cables to spaCy training data, a transformer NER pipeline, metadata."""

__version__ = "0.1.0"
