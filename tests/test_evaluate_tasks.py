"""Issue 15's evaluation tasks: translation matching (every language), MMLU cloze, chrF++ primary, McNemar rows.

A hand-built :class:`~paper_utils.evaluate.TextLM` whose log-likelihoods the test sets decides every prediction, so
the expected accuracies are known in advance (seconds; no model).
"""
from collections import Counter

import pytest

from paper_utils import evaluate, fixtures
from paper_utils.errors import DataError
from paper_utils.evaluate import significance
from paper_utils.evaluate.cloze import cloze_prompt, score_mmlu_cloze
from paper_utils.evaluate.matching import matching_items, matching_prompt, normalise, score_matching
from paper_utils.mmlu_format import held_out_split


class ScriptedLM:
    """A TextLM whose ``loglik`` is ``score(context, continuation)``: the test decides every prediction."""

    name = "scripted"

    def __init__(self, score):
        self.score, self.requests = score, []

    def loglik(self, requests, *, batch_size=8, share_prefix=True, groups=None):
        self.requests += list(requests)
        return [float(self.score(c, x)) for c, x in requests]

    def generate(self, prompts, *, max_new_tokens=64, batch_size=8):
        return ["" for _ in prompts]

    def count_tokens(self, texts):
        return [len(t.split()) for t in texts]

    def choice_logprobs(self, contexts, choices, *, groups=None, batch_size=8, share_prefix=True):
        raise NotImplementedError

    def bits_per_byte(self, texts):
        raise NotImplementedError


def _pairs(n=40):
    english = [f"Message number {i} was sent" for i in range(n)]
    english[5] = "save  FILE"                    # normalises like pair 6's English: never both in one item
    english[6] = "Save file"
    targets = [f"Xabar raqami {i} yuborildi" for i in range(n)]
    targets[7] = targets[8] = "Saqlash"          # the same source text twice: neither is the other's distractor
    return targets, english


def test_stub_is_a_text_lm():
    assert isinstance(ScriptedLM(lambda c, x: 0.0), evaluate.TextLM)


def test_matching_distractors_deterministic_never_gold_no_duplicates_and_gold_balanced():
    targets, english = _pairs()
    items = matching_items(targets, english, "uz", n=0, seed=0)
    assert items == matching_items(targets, english, "uz", n=0, seed=0)            # deterministic
    assert items != matching_items(targets, english, "uz", n=0, seed=1)            # the seed matters
    assert len(items) == 2 * len(targets) and {it["direction"] for it in items} == {"uz-en", "en-uz"}
    source_of = {f"p{i:04d}": (t, e) for i, (t, e) in enumerate(zip(targets, english))}
    for it in items:
        gold_text = it["choices"][it["gold"]]
        side = 1 if it["direction"] == "uz-en" else 0
        assert gold_text == source_of[it["pair"]][side]                         # the gold is the pair's translation
        assert it["choice_pairs"][it["gold"]] == it["pair"]
        normed = [normalise(c) for c in it["choices"]]
        assert len(set(normed)) == 4, it                                        # never the gold, no duplicates
        for k, pid in enumerate(it["choice_pairs"]):
            if k != it["gold"]:                                                 # not another translation of it
                assert normalise(source_of[pid][1 - side]) != normalise(it["source"]), it
    for direction in ("uz-en", "en-uz"):
        counts = Counter(it["gold"] for it in items if it["direction"] == direction)
        assert set(counts) == {0, 1, 2, 3} and max(counts.values()) - min(counts.values()) <= 1, counts
    subset = matching_items(targets, english, "uz", n=10)
    assert len(subset) == 20 and [it["pair"] for it in subset[:10]] == [it["pair"] for it in subset[10:]]
    with pytest.raises(DataError, match="fewer than 4 distinct texts"):
        matching_items(["a", "b", "c", "c"], ["A", "B", "C", "D"], "uz")
    with pytest.raises(DataError, match="paired one to one"):
        matching_items(["a", "b"], ["A"], "uz")


def test_matching_accuracy_from_controlled_scores():
    """Per byte, the gold wins on the items of even pair index and a distractor elsewhere: accuracy exactly 0.5;
    the summed score prefers the shortest candidate, which the secondary accuracy_sum follows."""
    targets, english = _pairs(24)
    items = matching_items(targets, english, "uz")
    gold = {(matching_prompt(it["source"], *(("Uzbek", "English") if it["direction"] == "uz-en" else
                                              ("English", "Uzbek"))), " " + it["choices"][it["gold"]]): it
            for it in items}
    wrong = {}
    for it in items:
        if int(it["pair"][1:]) % 2:
            k = (it["gold"] + 1) % 4
            prompt = matching_prompt(it["source"], *(("Uzbek", "English") if it["direction"] == "uz-en" else
                                                     ("English", "Uzbek")))
            wrong[(prompt, " " + it["choices"][k])] = it

    def per_byte(context, continuation):
        if (context, continuation) in wrong:
            return -1.0
        return -1.5 if (context, continuation) in gold and (context, continuation) not in wrong else -3.0

    n_bytes = lambda x: len(x.encode("utf-8"))  # noqa: E731
    lm = ScriptedLM(lambda c, x: per_byte(c, x) * n_bytes(x))
    records, scores = score_matching(lm, items, "uz")
    assert len(lm.requests) == 4 * len(items)
    assert all(c.endswith("English:") or c.endswith("Uzbek:") for c, _ in lm.requests)
    odd = [int(r["id"].split("/p")[1]) % 2 for r in records]
    assert [r["correct"] for r in records] == [not o for o in odd]
    for direction in ("uz-en", "en-uz"):
        assert scores[direction]["accuracy"] == 0.5 and scores[direction]["n"] == 24
        assert scores[direction]["chance"] == 0.25 and "per UTF-8 byte" in scores[direction]["primary"]
        assert sum(scores[direction]["gold_positions"].values()) == 24
    for r in records:
        assert r["predicted"] == max("ABCD", key=lambda L: (r["loglik_per_byte"][L], -"ABCD".index(L)))
        assert r["predicted_sum"] == max("ABCD", key=lambda L: (r["loglik"][L], -"ABCD".index(L)))
        assert r["english_identical"] is None                           # a TextLM without a tokenizer: unchecked


def test_matching_on_the_smoke_model_checks_english():
    model, tok = fixtures.evaluation_model()
    targets, english = _pairs(12)
    records, scores = score_matching(evaluate.CausalTextLM(model, tok), matching_items(targets, english, "uz"), "uz")
    assert all(r["english_identical"] is True for r in records)
    assert scores["uz-en"]["english_identical_share"] == scores["en-uz"]["english_identical_share"] == 1.0


def test_cloze_prompt_and_per_byte_choice():
    item = {"id": "q1", "subject": "high_school_physics", "question": " Which is heavier? ",
            "choices": ["a", "bbbbbbbb", "cc", "ddd"], "answer": 1}
    assert cloze_prompt(item) == ("The following are questions (with answers) about high school physics.\n\n"
                                  "Question: Which is heavier?\nAnswer:")
    # summed: " a" best (-3 > -9); per byte: " bbbbbbbb" best (-1.0 > -1.5)
    table = {" a": -3.0, " bbbbbbbb": -9.0, " cc": -9.0, " ddd": -8.0}
    lm = ScriptedLM(lambda c, x: table[x])
    records, scores = score_mmlu_cloze(lm, [item])
    assert lm.requests[0] == (cloze_prompt(item), " a")
    assert records[0]["prediction"] == "B" and records[0]["correct"] is True
    assert records[0]["prediction_sum"] == "A" and records[0]["correct_sum"] is False
    assert scores["accuracy"] == 1.0 and scores["accuracy_sum"] == 0.0 and scores["shots"] == 0
    with pytest.raises(DataError, match="empty test set"):
        score_mmlu_cloze(lm, [])


def test_cloze_on_the_smoke_model_scores_the_letter_format_questions():
    items, pool = held_out_split(fixtures.mmlu_rows(), 6, seed=0)
    lm = evaluate.CausalTextLM(*fixtures.evaluation_model())
    records, scores = score_mmlu_cloze(lm, items)
    letter = evaluate.score_mmlu(lm, items, pool)
    assert [r["id"] for r in records] == letter.ids                     # the same questions as the letter format
    assert scores["english_identical_share"] == 1.0
    for r in records:
        assert r["prediction"] == max("ABCD", key=lambda L: (r["loglik_per_byte"][L], -"ABCD".index(L)))


def test_chrf_plus_plus_is_primary_with_both_signatures():
    s = evaluate.translation_scores(["Bu kitob yaxshi"], ["Bu kitob juda yaxshi"])
    assert s["primary"] == "chrf++" and "nw:2" in s["chrf++_signature"] and "tok:13a" in s["bleu_signature"]


def test_significance_has_mcnemar_rows_for_matching_and_cloze(tmp_path):
    a, b = tmp_path / "base", tmp_path / "fvt"
    a.mkdir(), b.mkdir()
    for folder, flips in ((a, set()), (b, {0, 1, 2, 3, 4, 5})):
        for name in ("matching_uz-en.jsonl", "matching_en-uz.jsonl", "mmlu_cloze.jsonl"):
            evaluate.write_jsonl(folder / name, [{"id": f"{name}-{i}", "correct": (i % 2 == 0) != (i in flips)}
                                                 for i in range(20)])
        evaluate.write_jsonl(folder / "translation_en-uz.jsonl",
                             [{"id": str(i), "reference": "bu kitob", "hypothesis": "bu kitob" if folder == b else "u"}
                              for i in range(6)])
    rows = {r.metric: r for r in significance.compare_runs(a, b, "base", "fvt", n_samples=50)}
    for metric in ("matching accuracy uz-en", "matching accuracy en-uz", "MMLU cloze accuracy"):
        assert rows[metric].test == "mcnemar_exact" and rows[metric].statistic == "accuracy"
        assert rows[metric].n == 20 and rows[metric].delta == 0.0          # 3 right->wrong, 3 wrong->right
        assert rows[metric].p_value == 1.0
    assert rows["chrF2++ en-uz"].statistic == "corpus_chrf2++" and rows["chrF2++ en-uz"].primary
    assert rows["BLEU en-uz"].statistic == "corpus_bleu" and not rows["BLEU en-uz"].primary


def test_grouped_loglik_equals_one_group_and_full_sequences():
    """``groups`` only changes which prefix is shared: the values stay those of full, unshared sequences."""
    lm = evaluate.CausalTextLM(*fixtures.evaluation_model())
    items = matching_items(*_pairs(12), "uz", n=3)
    requests = [(matching_prompt(it["source"], *(("Uzbek", "English") if it["direction"] == "uz-en" else
                                                  ("English", "Uzbek"))), " " + c) for it in items for c in it["choices"]]
    groups = [k for k in range(len(items)) for _ in range(4)]
    full = lm.loglik(requests, share_prefix=False)
    assert lm.loglik(requests, groups=groups) == pytest.approx(full, abs=1e-4)
    assert lm.loglik(requests) == pytest.approx(full, abs=1e-4)
