"""Embedding surgery (issue 18): exact on tiny tied and untied models, refusals, nothing half-written; the real
Gemma-3-270M (base vs a copy of itself as sibling) in the assets tier."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from paper_utils.errors import ConfigError
from paper_utils.fixtures import tiny_model, tiny_tokenizer
from paper_utils.surgery import (EmbeddingCheckpoint, check_compatible, embedding_checkpoint, embedding_weights, export,
                                 surgery_check, transplant)
from paper_utils.vocab import extend_tokenizer

ENGLISH = ["The quick brown fox jumps over the lazy dog.", "Please enter a valid email address.",
           "Answer the question in one word."] * 20
UZ = ["Bu kitob juda foydali.", "Kitoblar va maktablar.", "Maktab kitoblari o'qiladi."] * 20
CHAT = "{% for m in messages %}<turn>{{ m['content'] }}</turn>{% endfor %}"


def _pair(kind: str, tied: bool):
    """(base, sibling, base tokenizer with chat template, extended tokenizer, tuned checkpoint)."""
    base_tok = tiny_tokenizer(ENGLISH * 3, kind)
    base_tok.chat_template = CHAT
    ext, _ = extend_tokenizer(base_tok, UZ, budget=8, english_texts=ENGLISH)
    base = tiny_model(kind, len(base_tok), tied=tied, seed=0, restore_rng=True)
    sibling = copy.deepcopy(base)
    with torch.no_grad():                        # a sibling: the body moved, the embeddings did not
        for name, p in sibling.named_parameters():
            if "embed" not in name and "lm_head" not in name:
                p.add_(0.01 * torch.randn_like(p))
    tuned_base = copy.deepcopy(base)
    tuned_base.resize_token_embeddings(len(ext), mean_resizing=False)
    w_in, w_out = embedding_weights(tuned_base)
    with torch.no_grad():                        # "tuned" new rows, the base rows kept (rows-only tuning)
        w_in[len(base_tok):] = torch.randn_like(w_in[len(base_tok):])
        if w_out is not None:
            w_out[len(base_tok):] = torch.randn_like(w_out[len(base_tok):])
    tuned = embedding_checkpoint(tuned_base, ext, base_vocab_size=len(base_tok))
    return base, sibling, base_tok, ext, tuned


@pytest.mark.parametrize("kind,tied", [("llama", True), ("llama", False), ("gemma", True)])
def test_surgery_is_exact_after_export_and_reload(tmp_path, kind, tied):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base, sibling, base_tok, ext, tuned = _pair(kind, tied)
    check_compatible(base, sibling, base_tokenizer=base_tok, sibling_tokenizer=base_tok)
    franken, franken_tok = transplant(sibling, tuned, tokenizer=ext, sibling_tokenizer=base_tok)
    assert sibling.get_input_embeddings().weight.shape[0] == len(base_tok)       # the sibling itself is untouched
    folder = export(franken, franken_tok, tmp_path / "franken", record={"recipe": "franken"})
    loaded = AutoModelForCausalLM.from_pretrained(str(folder)).eval()
    loaded_tok = AutoTokenizer.from_pretrained(str(folder))
    assert (embedding_weights(loaded)[1] is None) == tied
    check = surgery_check(loaded, tuned, sibling, loaded_tok, base_tok, ENGLISH[:3])
    assert check == {"rows_equal": True, "english_identical_share": 1.0, "english_texts": 3, "max_abs_logit_diff": 0.0}
    new_id = len(base_tok)
    assert torch.equal(loaded.get_input_embeddings().weight[new_id], tuned.input[new_id])   # one row, bit for bit
    assert loaded_tok.chat_template == CHAT
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]                    # no temporary left


def test_checkpoint_round_trip_keeps_the_tokenizer_hash(tmp_path):
    *_, ext, tuned = _pair("llama", False)
    back = EmbeddingCheckpoint.load(tuned.save(tmp_path / "emb"))
    assert back.tokenizer_hash == tuned.tokenizer_hash and torch.equal(back.input, tuned.input)
    assert torch.equal(back.output, tuned.output) and back.base_vocab_size == tuned.base_vocab_size


def test_refuses_a_checkpoint_of_another_tokenizer():
    _, sibling, base_tok, ext, tuned = _pair("llama", True)
    other, _ = extend_tokenizer(base_tok, ["Saya suka membaca buku.", "Buku itu bagus."] * 20, budget=8,
                                english_texts=ENGLISH)
    with pytest.raises(ConfigError, match="another tokenizer"):
        transplant(sibling, tuned, tokenizer=other)


@pytest.mark.parametrize("change,named", [
    (lambda: tiny_model("gemma", 300, seed=0), "architecture class"),
    (lambda: tiny_model("llama", 300, hidden=32, seed=0), "hidden size"),
    (lambda: tiny_model("llama", 301, seed=0), "base vocabulary size"),
    (lambda: tiny_model("llama", 300, tied=False, seed=0), "tied embeddings")])
def test_refuses_a_sibling_that_is_no_sibling(change, named):
    with pytest.raises(ConfigError, match=named):
        check_compatible(tiny_model("llama", 300, seed=0), change())


def test_refuses_a_sibling_with_fewer_layers():
    base = tiny_model("llama", 300, seed=0)
    sibling = copy.deepcopy(base)
    sibling.config.num_hidden_layers = 1
    with pytest.raises(ConfigError, match="number of layers"):
        check_compatible(base, sibling)


def test_refuses_another_base_tokenizer():
    a, b = tiny_tokenizer(ENGLISH), tiny_tokenizer(UZ)
    model = tiny_model("llama", 300, seed=0)
    with pytest.raises(ConfigError, match="tokenizer vocabulary hash"):
        check_compatible(model, copy.deepcopy(model), base_tokenizer=a, sibling_tokenizer=b)


def test_a_failed_export_leaves_nothing(tmp_path):
    *_, ext, _ = _pair("llama", True)

    class Broken:
        def save_pretrained(self, folder, **kw):
            (Path(folder) / "model.safetensors").write_bytes(b"half")
            raise OSError("disk full")

    with pytest.raises(OSError):
        export(Broken(), ext, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.assets
def test_real_gemma_surgery_into_a_copy_is_exact(tmp_path):
    if not (Path("data/cache/models/gemma3-270m") / "config.json").exists():
        pytest.skip("data/cache/models/gemma3-270m is not in the asset cache")
    from paper_utils.assets import load_model

    base, tok = load_model("gemma3-270m")
    sibling = copy.deepcopy(base)                 # the real pair's exactness on a copy (no -it sibling installs here)
    check_compatible(base, sibling, base_tokenizer=tok, sibling_tokenizer=tok)
    ext = copy.deepcopy(tok)
    ext.add_tokens(["kitoblarimiz", "maktablarda"])
    tuned_base = copy.deepcopy(base)
    tuned_base.resize_token_embeddings(len(ext), mean_resizing=False)
    with torch.no_grad():
        tuned_base.get_input_embeddings().weight[len(tok):] = 0.02 * torch.randn(len(ext) - len(tok), 640)
    tuned = embedding_checkpoint(tuned_base, ext, base_vocab_size=base.get_input_embeddings().weight.shape[0])
    franken, franken_tok = transplant(sibling, tuned, tokenizer=ext, sibling_tokenizer=tok, in_place=True)
    check = surgery_check(franken, tuned, base, franken_tok, tok, ["The capital of France is Paris."])
    assert check["rows_equal"] and check["english_identical_share"] == 1.0 and check["max_abs_logit_diff"] == 0.0
