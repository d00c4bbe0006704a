"""The start-up error for a missing spaCy model, importable without loading spaCy or Presidio
(the CLI maps it to a one-line error for every command, most of which never load a model)."""

from __future__ import annotations


class ModelNotInstalled(RuntimeError):
    """The configured spaCy model package is not installed; nothing is downloaded at run time."""
