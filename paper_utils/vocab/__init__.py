"""Extend a base tokenizer with target-language tokens without changing English tokenization.

Example::

    >>> from paper_utils.fixtures import evaluation_tokenizer
    >>> from paper_utils.vocab import extend_tokenizer, token_savings
    >>> base = evaluation_tokenizer()
    >>> ext, report = extend_tokenizer(base, ["kitob kitoblar kitobxon"] * 10, 4,
    ...                                english_texts=["The books are on the table."])
    >>> report["added"], report["english_identical_share"], token_savings(ext, base, ["kitob"])
    (4, 1.0, [('itob', 1, 2)])

One module per concern, from the front end down:

==================  ====================================================================================
``extend``          :func:`extend_tokenizer` and its report; ``METHODS``
``savings``         :func:`token_savings`: new tokens ranked by pieces saved
``english``         English protection: the fixpoint that drops merges firing on English
``added_tokens``    the ``method="added_tokens"`` fallback (comparison only)
``build``           kept candidates written into the base model's JSON (BPE merges, Unigram pieces)
``apostrophes``     :func:`join_apostrophe_words`: the Uzbek apostrophe-word pre-tokenizer rule
``candidates``      continue-BPE: :class:`Candidate`, :func:`learn_candidates`, and the base readers
==================  ====================================================================================

The tokenizer-family rule is :func:`paper_utils.surfaces.tokenizer_family` (re-exported here).
"""
from ..surfaces import tokenizer_family
from .apostrophes import join_apostrophe_words
from .candidates import Candidate, learn_candidates
from .extend import METHODS, PreparedEnglish, extend_tokenizer, prepare_english
from .savings import token_savings

__all__ = ["METHODS", "Candidate", "PreparedEnglish", "extend_tokenizer", "prepare_english", "join_apostrophe_words", "learn_candidates",
           "token_savings", "tokenizer_family"]
