"""paper_utils: the tested package behind the cross-lingual semantic anchoring study.

Example::

    >>> from paper_utils.config import load_preset
    >>> load_preset("demo").grid.models
    ('smollm2-135m',)

One concern per module, in the order of the study: ``packs``/``assets``/``tokenization``/``encoders``
(offline assets), ``corpora``/``study`` (text), ``fertility``, ``vocab``, ``init/`` (patch,
initializers, step-0 diagnostics), ``adapt`` + ``adapt_data``, ``evaluate*`` + ``bpb``, ``stats``,
``plots``/``figures``, ``runner``/``provenance``/``cli``.
"""
