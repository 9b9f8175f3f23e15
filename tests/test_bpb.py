import math

import pytest
import torch

from paper_utils.bpb import bits_per_byte
from paper_utils.errors import DataError


@pytest.fixture(scope="module")
def tiny_model(byte_bpe_tokenizer):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(byte_bpe_tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=4, tie_word_embeddings=True,
                      bos_token_id=byte_bpe_tokenizer.eos_token_id, eos_token_id=byte_bpe_tokenizer.eos_token_id)
    return LlamaForCausalLM(cfg).eval()


def test_bpb_matches_a_manual_loop(tiny_model, byte_bpe_tokenizer):
    texts = ["The quick brown fox.", "Please enter a valid email address to continue.", "Oʻzbekiston"]
    got = bits_per_byte(tiny_model, byte_bpe_tokenizer, texts, batch_size=2)
    manual_bits = []
    for t in texts:
        ids = [byte_bpe_tokenizer.eos_token_id] + byte_bpe_tokenizer(t, add_special_tokens=False)["input_ids"]
        x = torch.tensor([ids])
        with torch.no_grad():
            logp = torch.log_softmax(tiny_model(x).logits[0, :-1], -1)
        manual_bits.append(-float(logp.gather(-1, x[0, 1:, None]).sum()) / math.log(2))
    assert got.bits == pytest.approx(manual_bits, rel=1e-4)
    assert got.bpb == pytest.approx(sum(manual_bits) / sum(len(t.encode()) for t in texts), rel=1e-4)
    assert len(got.per_document) == 3


def test_chunking_scores_every_token(tiny_model, byte_bpe_tokenizer):
    text = "The answer depends on the temperature of the water. " * 5
    whole = bits_per_byte(tiny_model, byte_bpe_tokenizer, [text], max_tokens=512)
    chunked = bits_per_byte(tiny_model, byte_bpe_tokenizer, [text], max_tokens=7)
    assert whole.tokens == chunked.tokens
    assert chunked.bpb > 0 and whole.bpb > 0


def test_empty_held_out_set_is_rejected(tiny_model, byte_bpe_tokenizer):
    with pytest.raises(DataError, match="empty"):
        bits_per_byte(tiny_model, byte_bpe_tokenizer, ["", "  "])


def test_logit_budget_scores_fewer_rows_and_the_same_bits(tiny_model, byte_bpe_tokenizer):
    texts = ["The quick brown fox.", "Please enter a valid email address.", "Oʻzbekiston", "Salom dunyo", "A b c"]
    seen = []
    hook = tiny_model.model.register_forward_pre_hook(lambda mod, args, kw: seen.append(kw["input_ids"].shape),
                                                      with_kwargs=True)
    try:
        whole = bits_per_byte(tiny_model, byte_bpe_tokenizer, texts, batch_size=16)
        assert [s[0] for s in seen] == [5]
        seen.clear()
        vocab = tiny_model.get_output_embeddings().weight.shape[0]
        capped = bits_per_byte(tiny_model, byte_bpe_tokenizer, texts, batch_size=16, max_logit_bytes=4 * vocab * 24)
    finally:
        hook.remove()
    assert all(rows * width * vocab * 4 <= 4 * vocab * 24 or rows == 1 for rows, width in seen)
    assert len(seen) > 1
    assert capped.bits == pytest.approx(whole.bits, rel=1e-5)


def test_bad_batch_settings_name_the_parameter(tiny_model, byte_bpe_tokenizer):
    with pytest.raises(ValueError, match="batch_size"):
        bits_per_byte(tiny_model, byte_bpe_tokenizer, ["a"], batch_size=0)
    with pytest.raises(ValueError, match="max_logit_bytes"):
        bits_per_byte(tiny_model, byte_bpe_tokenizer, ["a"], max_logit_bytes=0)


def test_log_softmax_is_taken_one_row_at_a_time(tiny_model, byte_bpe_tokenizer, monkeypatch):
    shapes = []
    real = torch.log_softmax
    monkeypatch.setattr(torch, "log_softmax", lambda x, *a, **k: shapes.append(tuple(x.shape)) or real(x, *a, **k))
    bits_per_byte(tiny_model, byte_bpe_tokenizer, ["The quick brown fox.", "Salom dunyo", "A b"], batch_size=3)
    assert len(shapes) == 3 and all(len(s) == 2 for s in shapes)


def test_a_model_of_unknown_width_is_scored_without_the_cap(tiny_model, byte_bpe_tokenizer):
    class Wrapper(torch.nn.Module):                     # returns .logits, has neither a head nor a config
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, **kw):
            return self.inner(**kw)

    texts = ["The quick brown fox.", "Salom dunyo"]
    got = bits_per_byte(Wrapper(tiny_model), byte_bpe_tokenizer, texts, max_logit_bytes=1)
    assert got.bits == pytest.approx(bits_per_byte(tiny_model, byte_bpe_tokenizer, texts).bits, rel=1e-5)
