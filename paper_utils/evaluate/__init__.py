"""Evaluation: a ``TextLM`` and the scorers over it (translation, matching, classification, MMLU letter and cloze,
bpb), runs, significance.

Example::

    >>> from paper_utils.evaluate import CausalTextLM, evaluate_bpb
    >>> from paper_utils.fixtures import evaluation_model
    >>> records, scores = evaluate_bpb(CausalTextLM(*evaluation_model()), ["Salom dunyo", "Kitob"])
    >>> len(records), scores["n"], scores["bpb"] > 0
    (2, 2, True)

Modules: ``textlm`` (the interface and the causal-LM implementation), ``decoding`` (shared-prefix KV
caching, batched greedy decoding), ``english_identity`` (the check that every English text scored keeps the
base tokenizer's ids; the function ``english_identity.english_identity`` is not re-exported here, so the
module keeps its name), ``items`` (which test items and demonstrations), ``translation``, ``matching``
(translation matching: zero-shot multiple choice from held-out pairs, every language), ``classification``, ``mmlu``
(letter format), ``cloze`` (MMLU in the cloze form), ``runs`` (one run of stage 05: paths, model loading, ``scores.json``) and
``significance`` (stage 06: paired tests between runs).
"""
from ..io import read_jsonl, write_jsonl
from .classification import FIELDS, NOTES, classification_prompt, classify, label_index
from .cloze import cloze_prompt, score_mmlu_cloze
from .english_identity import check_items, identical_share
from .items import DEMO_SEED, classification_data, select, translation_data
from .matching import matching_items, matching_prompt, score_matching
from .mmlu import MMLUResult, accuracy_ci, score_mmlu
from .runs import (TASKS, base_tokenizer_of, check_parameters, default_model_dir, eval_dir, evaluate_bpb,
                   load_eval_model, run_evaluation, run_label)
from .textlm import CausalTextLM, TextLM
from .translation import evaluate_translation, translation_prompt, translation_scores

__all__ = ["TextLM", "CausalTextLM", "TASKS", "check_parameters", "default_model_dir", "eval_dir", "evaluate_bpb",
           "load_eval_model", "run_evaluation", "run_label", "read_jsonl", "write_jsonl", "FIELDS", "NOTES",
           "classification_prompt", "classify", "label_index", "DEMO_SEED", "classification_data", "select",
           "translation_data", "MMLUResult", "accuracy_ci", "score_mmlu", "evaluate_translation", "translation_prompt",
           "translation_scores", "check_items", "identical_share", "base_tokenizer_of", "cloze_prompt", "score_mmlu_cloze",
           "matching_items", "matching_prompt", "score_matching"]
