"""lessons: make a language model learn from its own mistakes."""

__version__ = "0.1.0"
