"""Translation prompts: the 5-shot template for every run, the zero-shot chat instruction for the Franken-Adapter's
instruction-model comparison (issue 18); one BOS when a chat template writes its own."""
from __future__ import annotations

import copy

import pytest

from paper_utils import fixtures
from paper_utils.config import load_preset
from paper_utils.errors import ConfigError
from paper_utils.evaluate import CausalTextLM, evaluate_translation
from paper_utils.evaluate.runs import translation_style
from paper_utils.evaluate.textlm import chat_text
from paper_utils.evaluate.translation import instruction_prompt
from paper_utils.sibling import GEMMA_CHAT_TEMPLATE

TEST = [{"id": "1", "en": "Save the file.", "target": "Faylni saqlang."},
        {"id": "2", "en": "Open", "target": "Ochish"}]
DEMOS = [{"id": "d1", "en": "Close", "target": "Yopish"}]


class Recording(CausalTextLM):
    """A CausalTextLM that keeps the prompts it was asked to continue."""

    def generate(self, prompts, **kwargs):
        self.prompts = list(prompts)
        return super().generate(prompts, **kwargs)


@pytest.fixture(scope="module")
def chat_lm():
    model, tok = fixtures.evaluation_model()
    tok = copy.deepcopy(tok)
    tok.chat_template = GEMMA_CHAT_TEMPLATE                  # writes {{ bos_token }} itself
    return Recording(model, tok)


def test_instruction_style_sends_one_chat_turn_without_demonstrations(chat_lm):
    for direction, source, names in (("en-uz", "Save the file.", ("English", "Uzbek")),
                                     ("uz-en", "Faylni saqlang.", ("Uzbek", "English"))):
        records, scores = evaluate_translation(chat_lm, TEST, DEMOS, "uz", direction, max_new_tokens=3,
                                               style="instruction")
        assert scores["style"] == "instruction" and scores["shots"] == 0 and scores["demo_ids"] == []
        first = chat_lm.prompts[0]
        assert first == chat_text(chat_lm.tokenizer, instruction_prompt(source, *names))
        assert first.startswith(chat_lm.tokenizer.bos_token + "<start_of_turn>user\n")   # this tokenizer adds no BOS
        assert first.endswith("<start_of_turn>model\n")
        assert "Yopish" not in first and "Close" not in first                  # no demonstration
        assert scores["template"].count("<source>") == 1 and len(records) == 2
        assert all(r["english_identical"] for r in records)                   # the model's own tokenizer
    few_records, few = evaluate_translation(chat_lm, TEST, DEMOS, "uz", "en-uz", max_new_tokens=3)
    assert few["style"] == "few_shot" and few["shots"] == 1 and "English: Close\nUzbek: Yopish" in chat_lm.prompts[0]
    with pytest.raises(ConfigError) as err:
        evaluate_translation(chat_lm, TEST, DEMOS, "uz", "en-uz", style="chat")
    assert err.value.parameter == "style"


class TemplateTokenizer:
    """What chat_text reads of a tokenizer: a template that writes BOS, and whether encoding adds BOS."""

    bos_token, bos_token_id, chat_template = "<bos>", 2, "{{ bos_token }}..."

    def __init__(self, adds_bos: bool):
        self.adds_bos = adds_bos

    def apply_chat_template(self, messages, add_generation_prompt, tokenize):
        return f"<bos><start_of_turn>user\n{messages[0]['content']}<end_of_turn>\n<start_of_turn>model\n"

    def __call__(self, text):
        return {"input_ids": ([2] if self.adds_bos else []) + [7]}


def test_chat_text_keeps_one_bos():
    _, tok = fixtures.evaluation_model()
    assert chat_text(copy.deepcopy(tok), "Hi") == "User: Hi\nAssistant: "        # no template
    adds, keeps = chat_text(TemplateTokenizer(True), "Hi"), chat_text(TemplateTokenizer(False), "Hi")
    assert adds == "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n"   # encoding will add the BOS
    assert keeps == "<bos>" + adds                                                # nothing else would


def test_franken_runs_translate_by_instruction_every_other_run_by_five_shots():
    cfg = load_preset("smoke", **{"grid.recipes": ["staged", "franken"], "franken": {"initializers": ["fvt"]}})
    for label in ("sibling", "sibling_ext_fvt", "franken_fvt", "base_tuned_fvt"):
        assert translation_style(cfg, label) == "instruction"
    assert translation_style(cfg, "base") == "few_shot" and translation_style(cfg, "fvt") == "few_shot"


def test_a_chat_formats_end_of_turn_token_ends_generation():
    from paper_utils.evaluate.decoding import end_token_ids

    _, tok = fixtures.evaluation_model()
    tok = copy.deepcopy(tok)
    assert end_token_ids(tok) == {tok.eos_token_id}
    tok.add_special_tokens({"additional_special_tokens": ["<end_of_turn>"]})
    turn = tok.convert_tokens_to_ids("<end_of_turn>")
    assert turn != tok.eos_token_id and end_token_ids(tok) == {tok.eos_token_id, turn}
