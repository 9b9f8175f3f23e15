"""The Franken-Adapter comparison table: every compared model's stage-05 scores, paired tests and English regression.

Example::

    >>> regression_percent(0.40, 0.398), regression_percent(1.20, 1.212, lower_is_better=True)
    (0.5, 1.0)

Rows are the recipe's run labels (:func:`paper_utils.franken_grid.franken_labels`) evaluated by stage 05 (missing
ones are skipped, so the table grows as evaluations finish). Columns (:data:`COLUMNS`): translation chrF++ in both
directions, translation matching accuracy in both directions, classification accuracy (where the language has a
labeled set), MMLU letter and cloze accuracy, target-language and English bits per byte, and English instruction
following (exact match and mean sentence chrF++ on the sibling report's held-out English prompts; notebook 10).
:func:`paired_tests` compares each label with a reference (the sibling, by default) on the same items, each on the
number the table reports: paired bootstrap of corpus chrF++, exact McNemar for accuracies and exact match, paired
permutation of mean sentence chrF++, paired approximate randomization of the corpus ratio for bits per byte
(:mod:`paper_utils.stats`), Holm-corrected over the table; :func:`route_tests` runs the same tests, as a second
family, of each ``franken_<init>`` against ``sibling_ext_<init>`` and ``sibling_staged_<init>``
(:func:`pair_tests` takes any pairs). ``english_regression_percent``: the relative drop of
English retention (MMLU letter, MMLU cloze accuracy; English bpb rise) against the sibling, beside the paper's
"< 1 %".
"""
from __future__ import annotations

from typing import Sequence

from .io import read_json, read_jsonl
from .layout import ModelLayout

ENGLISH_TASKS = (("mmlu", "accuracy", False), ("mmlu_cloze", "accuracy", False), ("english_bpb", "bpb", True))


def regression_percent(reference: float, value: float, *, lower_is_better: bool = False) -> float:
    """How much worse ``value`` is than ``reference``, in percent of ``reference`` (negative: better)."""
    change = (value - reference) if lower_is_better else (reference - value)
    return round(100.0 * change / reference, 4) if reference else float("nan")


def _columns(language: str) -> list[tuple[str, tuple[str, ...], str]]:
    """``(column, path in scores["tasks"], per-item file)``."""
    return [(f"chrF++ en-{language}", ("translation", f"en-{language}", "chrf++"), f"translation_en-{language}.jsonl"),
            (f"chrF++ {language}-en", ("translation", f"{language}-en", "chrf++"), f"translation_{language}-en.jsonl"),
            (f"matching {language}-en", ("matching", f"{language}-en", "accuracy"), "matching_" + language + "-en.jsonl"),
            (f"matching en-{language}", ("matching", f"en-{language}", "accuracy"), f"matching_en-{language}.jsonl"),
            ("classification", ("classification", "accuracy"), "classification.jsonl"),
            ("MMLU letter", ("mmlu", "accuracy"), "mmlu.jsonl"), ("MMLU cloze", ("mmlu_cloze", "accuracy"), "mmlu_cloze.jsonl"),
            (f"bpb {language}", ("bpb", "bpb"), "bpb.jsonl"), ("English bpb", ("english_bpb", "bpb"), "english_bpb.jsonl")]


def _get(scores: dict, path: Sequence[str]):
    node = scores.get("tasks", {})
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def instruction_reports(preset: str, language: str, model: str, labels: Sequence[str], seed: int = 0) -> dict:
    """``{label: report}``: each label's English instruction following (``instruction_following.json``, written by
    notebook 10: :func:`paper_utils.recipes.franken.label_instruction_following`; the sibling's own from its
    report), for the labels that have one."""
    from .layout import franken_dir, sibling_dir

    out = {}
    for label in labels:
        if label == "sibling":
            path = sibling_dir(preset, model) / "instruction_following.json"
            if path.exists():
                report = read_json(path)
                out[label] = {"scores": report["scores"]["sibling"], "records": report["records"]["sibling"]}
        elif (franken_dir(preset, language, model, label, seed) / "instruction_following.json").exists():
            out[label] = read_json(franken_dir(preset, language, model, label, seed) / "instruction_following.json")
    return out


def comparison_table(preset: str, language: str, model: str, labels: Sequence[str], seed: int = 0,
                     reference: str = "sibling"):
    """A DataFrame: one row per evaluated label, the scores of :func:`_columns` and the English regression."""
    import pandas as pd

    lay = ModelLayout(preset, language, model)
    rows, ref = [], None
    found = {lab: read_json(lay.eval_dir(lab, seed) / "scores.json") for lab in labels
             if (lay.eval_dir(lab, seed) / "scores.json").exists()}
    ref = found.get(reference)
    following = instruction_reports(preset, language, model, labels, seed)
    for label, scores in found.items():
        row = {"label": label}
        for column, path, _ in _columns(language):
            row[column] = _get(scores, path)
        report = following.get(label)
        row["English IF exact"] = report["scores"]["exact_match"] if report else None
        row["English IF chrF++"] = report["scores"]["chrf++"] if report else None
        if ref is not None:
            drops = [regression_percent(_get(ref, (t, k)), _get(scores, (t, k)), lower_is_better=low)
                     for t, k, low in ENGLISH_TASKS if _get(ref, (t, k)) is not None and _get(scores, (t, k)) is not None]
            row["english_regression_percent"] = max(drops) if drops else None
        rows.append(row)
    return pd.DataFrame(rows)


def paired_tests(preset: str, language: str, model: str, labels: Sequence[str], seed: int = 0,
                 reference: str = "sibling", ci_samples: int = 1000, n_samples: int = 10000):
    """Paired tests of each label against ``reference`` on every shared per-item file, each on the number the table
    reports: paired bootstrap of corpus chrF++ (translation; the references must be the same), exact McNemar for
    accuracies and for English instruction-following exact match, paired permutation of the mean sentence chrF++ of
    the English answers, paired approximate randomization of corpus bits per byte; Holm over the table. A DataFrame.
    """
    return pair_tests(preset, language, model, [(reference, label) for label in labels if label != reference], seed,
                      ci_samples=ci_samples, n_samples=n_samples)


def route_tests(preset: str, language: str, model: str, initializers: Sequence[str], seed: int = 0,
                ci_samples: int = 1000, n_samples: int = 10000):
    """What the Franken route itself does, per initializer (a second Holm family beside :func:`paired_tests`):
    ``franken_<init>`` against ``sibling_ext_<init>`` (the same vocabulary and starting rows, untuned: what the base's
    embedding tuning adds once transplanted) and against ``sibling_staged_<init>`` (the paper's route against the
    study's staged route on the sibling). Pairs with a missing evaluation are left out.

    >>> route_pairs(["fvt"])
    [('sibling_ext_fvt', 'franken_fvt'), ('sibling_staged_fvt', 'franken_fvt')]
    """
    lay = ModelLayout(preset, language, model)
    pairs = [(a, b) for a, b in route_pairs(initializers)
             if (lay.eval_dir(a, seed) / "scores.json").exists() and (lay.eval_dir(b, seed) / "scores.json").exists()]
    return pair_tests(preset, language, model, pairs, seed, ci_samples=ci_samples, n_samples=n_samples)


def route_pairs(initializers: Sequence[str]) -> list[tuple[str, str]]:
    """``(reference, label)`` pairs of :func:`route_tests`."""
    from .franken_grid import franken_label

    return [(franken_label(kind, init), franken_label("franken", init))
            for init in initializers for kind in ("sibling_ext", "sibling_staged")]


def pair_tests(preset: str, language: str, model: str, pairs: Sequence[tuple[str, str]], seed: int = 0,
               ci_samples: int = 1000, n_samples: int = 10000):
    """The tests of :func:`paired_tests` for any ``(reference, label)`` pairs of evaluated labels; Holm over all."""
    import pandas as pd

    from .stats import correct

    lay = ModelLayout(preset, language, model)
    following = instruction_reports(preset, language, model, sorted({x for pair in pairs for x in pair}), seed)
    results = []
    for reference, label in pairs:
        results += _pair_results(lay, following, reference, label, language, seed, ci_samples, n_samples)
    results = correct(results, "holm") if results else []
    return pd.DataFrame([{"metric": r.metric, "a": r.method_a, "b": r.method_b, "delta": r.delta, "ci_low": r.ci_low,
                          "ci_high": r.ci_high, "p": r.p_value, "p_holm": r.p_adjusted, "test": r.test, "n": r.n}
                         for r in results])


def _pair_results(lay: ModelLayout, following: dict, reference: str, label: str, language: str, seed: int,
                  ci_samples: int, n_samples: int) -> list:
    """Every test of ``label`` against ``reference`` (uncorrected results of :mod:`paper_utils.stats`)."""
    from .errors import DataError
    from .stats import compare_bpb, compare_translations, mcnemar_exact, paired_permutation

    ref_dir, results = lay.eval_dir(reference, seed), []
    for column, _, name in _columns(language):
        a_path, b_path = ref_dir / name, lay.eval_dir(label, seed) / name
        if not (a_path.exists() and b_path.exists()):
            continue
        a, b = _paired(read_jsonl(a_path), read_jsonl(b_path), name)
        if not a:
            continue
        if name.startswith("translation"):
            refs = [r["reference"] for r in a]
            if refs != [r["reference"] for r in b]:
                raise DataError(f"{name}: the references differ between {reference} and {label}")
            results.append(compare_translations([r["hypothesis"] for r in a], [r["hypothesis"] for r in b], refs,
                                                "chrf++", test="paired_bootstrap", n_samples=n_samples,
                                                method_a=reference, method_b=label, label=column))
        elif "bpb" in name:
            results.append(compare_bpb([r["bits"] for r in a], [r["bytes"] for r in a], [r["bits"] for r in b],
                                       [r["bytes"] for r in b], method_a=reference, method_b=label,
                                       secondary=None, n_samples=n_samples, ci_samples=ci_samples,
                                       label=column)[0])
        else:
            results.append(mcnemar_exact([r["correct"] for r in a], [r["correct"] for r in b], method_a=reference,
                                         method_b=label, label=column, ci_samples=ci_samples))
    if reference in following and label in following:
        a, b = _paired(following[reference]["records"], following[label]["records"], "instruction_following.json")
        if [r["prompt"] for r in a] != [r["prompt"] for r in b]:
            raise DataError(f"instruction_following.json: {label} answered other prompts than {reference}; "
                            "rerun notebook 10 (every label answers the sibling report's prompts)")
        if a:
            results.append(mcnemar_exact([r["exact"] for r in a], [r["exact"] for r in b], method_a=reference,
                                         method_b=label, label="English IF exact", ci_samples=ci_samples))
            results.append(paired_permutation([r["chrf++"] for r in a], [r["chrf++"] for r in b],
                                              method_a=reference, method_b=label, label="English IF chrF++",
                                              statistic="mean_sentence_chrf2++", n_samples=n_samples,
                                              ci_samples=ci_samples))
    return results


def _paired(a: list[dict], b: list[dict], name: str = "") -> tuple[list[dict], list[dict]]:
    """The records of both files in the order of ``a``; DataError when they hold other items (the table's numbers
    would then not be the tested ones)."""
    from .errors import DataError

    by_id = {str(r.get("id")): r for r in b}
    if sorted(by_id) != sorted(str(r.get("id")) for r in a) or len(by_id) != len(b):
        raise DataError(f"{name}: the two runs scored different items; evaluate both on the same items "
                        "([franken.evaluation] sizes)")
    return a, [by_id[str(r.get("id"))] for r in a]


__all__ = ["ENGLISH_TASKS", "regression_percent", "instruction_reports", "comparison_table", "paired_tests",
           "pair_tests", "route_tests", "route_pairs"]
