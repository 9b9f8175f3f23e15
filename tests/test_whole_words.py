"""The whole-word vocabulary mode: English units change only if they are an added word, and none is protected."""
from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from paper_utils.config import load_preset
from paper_utils.errors import ConfigError
from paper_utils.fixtures import tiny_tokenizer
from paper_utils.vocab import extend_tokenizer
from paper_utils.vocab.candidates import backend_of, units
from paper_utils.vocab.whole_words import check_supported, self_encoding_failures

ENGLISH = ["The quick brown fox jumps over the lazy dog.", "Please enter a valid email address.",
           "Books and tables, kit and caboodle."] * 20
UZBEK = ["Bu kitob juda foydali.", "Kitoblar va maktablar.", "Maktab kitoblari.", "Yangi kitob olib keldim.",
         "Kitoblarni o'qing."] * 20


@pytest.fixture(scope="module")
def base():
    return tiny_tokenizer(ENGLISH * 3 + UZBEK, "llama", vocab_size=300)


def test_whole_words_keep_english_and_cut_target(base):
    ext, report = extend_tokenizer(base, UZBEK, 6, english_texts=ENGLISH, heldout_texts=UZBEK[:5],
                                   method="whole_words")
    assert report["method"] == "whole_words" and report["added"] == 6 and report["merges_added"] == 0
    assert report["english_identical_share"] == 1.0 and report["fertility_reduction"] > 0
    added = set(ext.get_vocab()) - set(base.get_vocab())
    assert not added & set(units(backend_of(base), ENGLISH))     # no protected unit is added
    # an English text changes exactly where one of its units is an added word, nowhere else
    probe = ["A kitob on the table.", "Kitoblar everywhere", "The kitten sat.", "Unrelated words here."]
    changed = [ext(text)["input_ids"] != base(text)["input_ids"] for text in probe]
    assert changed == [any(u in added for u in units(backend_of(base), [text])) for text in probe]
    assert any(changed) and not all(changed)
    assert ext.decode(ext(UZBEK[0], add_special_tokens=False)["input_ids"]) == UZBEK[0]   # round trip


def test_protected_units_are_refused_and_counted(base):
    english = ENGLISH + [" kitob", "Kitoblar"]                  # make two Uzbek words "English"
    ext, report = extend_tokenizer(base, UZBEK, 4, english_texts=english, method="whole_words")
    added = set(ext.get_vocab()) - set(base.get_vocab())
    assert "Ġkitob" not in added and "Kitoblar" not in added
    assert report["refused_for_english"] >= 2


def test_saved_tokenizer_reloads_to_identical_ids(base, tmp_path):
    ext, _ = extend_tokenizer(base, UZBEK, 6, english_texts=ENGLISH, method="whole_words")
    ext.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    for text in UZBEK[:5] + ENGLISH[:3]:
        assert again(text)["input_ids"] == ext(text)["input_ids"]


def test_ignore_merges_is_safe_on_byte_level_and_refused_on_sentencepiece(base):
    assert self_encoding_failures(base) == []
    check_supported(base)
    gemma_like = tiny_tokenizer(ENGLISH + UZBEK, "gemma", vocab_size=200)
    with pytest.raises(ConfigError, match="method"):
        check_supported(gemma_like)


def test_budget_above_the_whole_words_is_refused(base):
    with pytest.raises(ConfigError, match="budget"):
        extend_tokenizer(base, UZBEK, 10_000, english_texts=ENGLISH, method="whole_words")


def test_preset_method_is_validated():
    assert load_preset("demo").vocabulary.method == "continue_bpe"
    assert load_preset("demo", **{"vocabulary.method": "whole_words"}).vocabulary.method == "whole_words"
    with pytest.raises(ConfigError, match="vocabulary.method"):
        load_preset("demo", **{"vocabulary.method": "words"})
