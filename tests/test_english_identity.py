"""Stage 05 checks the English it scores: an extension whose merge fires on an English word is reported per item.

The fixture tokenizer encodes " bash" as ``Ġb ash``; the "extended" tokenizer here appends the merge
``Ġb ash -> Ġbash`` (as a vocabulary extension appends its merges after the base ones), so every English text
containing " bash" gets other ids and every other text keeps them. Tiny tokenizers and models (seconds).
"""
import json

import pytest

from paper_utils import fixtures, mmlu_format
from paper_utils.evaluate import CausalTextLM, classify, evaluate_translation, score_mmlu
from paper_utils.evaluate.english_identity import check_items, english_identity, identical_share


def with_merge(base, left: str, right: str):
    """``base`` with the merge ``left right`` appended and its result as a new token at the next id."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    spec = json.loads(base.backend_tokenizer.to_str())
    vocab = spec["model"]["vocab"]
    assert left + right not in vocab
    vocab[left + right] = max(len(base), max(vocab.values()) + 1)
    spec["model"]["merges"].append([left, right])
    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(json.dumps(spec)), bos_token=base.bos_token,
                                   eos_token=base.eos_token, pad_token=base.pad_token)


@pytest.fixture(scope="module")
def tokenizers():
    base = fixtures.evaluation_tokenizer()
    assert base.convert_ids_to_tokens(base(" bash", add_special_tokens=False)["input_ids"]) == ["Ġb", "ash"]
    ext = with_merge(base, "Ġb", "ash")
    assert ext.convert_ids_to_tokens(ext(" bash", add_special_tokens=False)["input_ids"]) == ["Ġbash"]   # it fires
    return base, ext


def test_a_merge_that_fires_on_an_english_word_is_reported_for_that_item_only(tokenizers):
    base, ext = tokenizers
    texts = [" bash", "Open the file.", "Run bash now.", "bash"]
    assert english_identity(base, ext, texts) == [False, True, False, True]
    assert english_identity(base, base, [" bash"]) == [True]          # the base model with its own tokenizer
    checks = check_items(base, ext, [{"prompt": "Question: Which shell is bash?\nAnswer:", "choice A": " A"},
                                     {"prompt": "Question: Which file is open?\nAnswer:", "choice A": " A"}])
    assert [c["english_identical"] for c in checks] == [False, True]
    changed = checks[0]["english_changed"]
    assert [(c["text"], c["base"], c["extended"]) for c in changed] == [("prompt", "Ġb ash", "Ġbash")]
    assert "bash" in changed[0]["around"] and checks[1]["english_changed"] == []
    assert identical_share(checks) == 0.5
    assert check_items(base, None, [{"prompt": "x"}])[0]["english_identical"] is None   # nothing to check against


def test_every_scorer_marks_the_item_and_keeps_its_scores(tokenizers):
    base, ext = tokenizers
    model, _ = fixtures.evaluation_model(tokenizer=ext)
    lm = CausalTextLM(model, ext)

    # MMLU: the full prompt of the question that mentions bash differs; its scores are the unchecked ones
    items, pool = mmlu_format.held_out_split(fixtures.mmlu_rows(), 4, seed=0)
    items = [dict(it) for it in items]
    items[1]["question"] += " (in bash)"
    assert all(" bash" not in mmlu_format.build_prompt(it, pool[it["subject"]]) for k, it in enumerate(items) if k != 1)
    checked, unchecked = score_mmlu(lm, items, pool, base_tokenizer=base), score_mmlu(lm, items, pool)
    records = checked.records()
    assert [r["english_identical"] for r in records] == [True, False, True, True]
    assert records[1]["english_changed"][0]["text"] == "prompt"
    assert checked.summary()["english_identical_share"] == 0.75 and checked.summary()["english_changed_items"] == 1
    assert checked.logprobs == unchecked.logprobs and checked.predictions == unchecked.predictions
    assert unchecked.summary()["english_identical_share"] == 1.0          # the model's own tokenizer: identical

    # translation: the English source (en->uz) or reference (uz->en) that says bash differs, both directions
    test = [{"id": "1", "en": "Run bash now.", "target": "Hozir bashni ishga tushiring."},
            {"id": "2", "en": "Open the file.", "target": "Faylni oching."}]
    demos = [{"id": "d1", "en": "Save", "target": "Saqlash"}, {"id": "d2", "en": "Close", "target": "Yopish"}]
    for direction in ("en-uz", "uz-en"):
        recs, scores = evaluate_translation(lm, test, demos, "uz", direction, max_new_tokens=4, base_tokenizer=base)
        plain, plain_scores = evaluate_translation(lm, test, demos, "uz", direction, max_new_tokens=4)
        assert [r["english_identical"] for r in recs] == [False, True], direction
        assert recs[0]["english_changed"][0]["text"] == ("source" if direction == "en-uz" else "reference")
        assert scores["english_identical_share"] == 0.5 and plain_scores["english_identical_share"] == 1.0
        assert [r["hypothesis"] for r in recs] == [r["hypothesis"] for r in plain]
        assert scores["bleu"] == plain_scores["bleu"] and scores["chrf++"] == plain_scores["chrf++"]

    # classification: the English is the template and the labels, the same for every item
    items = [{"id": "a", "text": "Yaxshi", "label": "good"}, {"id": "b", "text": "Yomon", "label": "bash"}]
    demos = [{"text": "Zo'r", "label": "good"}]
    recs, scores = classify(lm, items, demos, ["good", "bash"], "fixture-sentiment", base_tokenizer=base)
    assert [r["english_identical"] for r in recs] == [False, False] and scores["english_identical_share"] == 0.0
    assert {c["text"] for c in recs[0]["english_changed"]} == {"instruction", "label bash", "continuation bash"}
    plain, plain_scores = classify(lm, items, demos, ["good", "bash"], "fixture-sentiment")
    assert [r["loglik"] for r in recs] == [r["loglik"] for r in plain]
    assert plain_scores["english_identical_share"] == 1.0
