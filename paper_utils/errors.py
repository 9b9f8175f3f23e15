"""Exceptions that name the offending parameter and the fix.

Example::

    >>> raise ConfigError("model", "llama-9b", "use one of: smollm2-135m, gemma3-270m")
    Traceback (most recent call last):
    ...
    paper_utils.errors.ConfigError: invalid model='llama-9b': use one of: smollm2-135m, gemma3-270m
"""
from __future__ import annotations


class PaperUtilsError(Exception):
    """Base class of every error raised on purpose by ``paper_utils``."""


class ConfigError(PaperUtilsError, ValueError):
    """A parameter has a value we cannot use. The message names the parameter and the fix."""

    def __init__(self, parameter: str, value: object, fix: str):
        self.parameter, self.value, self.fix = parameter, value, fix
        super().__init__(f"invalid {parameter}={value!r}: {fix}")


class AssetError(PaperUtilsError, RuntimeError):
    """An asset cannot be fetched, verified or loaded. The message says what to do."""


class DataError(PaperUtilsError, ValueError):
    """Input data is unusable (empty corpus, undecodable file, ...). The message names the source."""
