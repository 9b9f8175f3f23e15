"""The fused-encoder LM on tiny random models: shapes, what trains, the softmax weights, `last` as a plain
linear map, one optimizer step, the sequence layout and the refusals."""
from __future__ import annotations

import pytest
import torch

from paper_utils.errors import ConfigError, DataError
from paper_utils.fixtures import tiny_model
from paper_utils.fusion import FUSION_MODES, FusedEncoderLM

ENC_LAYERS, ENC_HIDDEN, LLM_VOCAB = 3, 32, 90


def tiny_encoder(layers: int = ENC_LAYERS, hidden: int = ENC_HIDDEN, seed: int = 0):
    from transformers import XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(seed)
    cfg = XLMRobertaConfig(vocab_size=60, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
                           intermediate_size=2 * hidden, max_position_embeddings=20)
    return XLMRobertaModel(cfg, add_pooling_layer=False).eval()


def build(mode: str, kind: str = "llama", **options) -> FusedEncoderLM:
    model = FusedEncoderLM(tiny_encoder(), tiny_model(kind, LLM_VOCAB, seed=1), mode, **options)
    torch.manual_seed(2)
    return model


def batch():
    """Two prompts (the second right-padded) and two targets of different lengths."""
    ids = torch.tensor([[0, 11, 12, 13, 14, 2], [0, 21, 22, 2, 1, 1]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])
    targets = torch.tensor([[31, 32, 33], [41, 42, 0]])
    target_mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    return ids, mask, targets, target_mask


@pytest.mark.parametrize("mode", FUSION_MODES)
@pytest.mark.parametrize("kind", ["llama", "gemma"])
def test_shapes_and_sequence_layout(mode, kind):
    model = build(mode, kind)
    ids, mask, targets, target_mask = batch()
    inputs = model.build_inputs(ids, mask, targets, target_mask)
    llm_hidden = model.llm.config.hidden_size
    assert inputs["inputs_embeds"].shape == (2, 1 + 6 + 1 + 3, llm_hidden)
    assert inputs["attention_mask"].tolist() == [[1] * 11, [1] * (1 + 4 + 1 + 2) + [0] * 3]
    assert inputs["labels"][0].tolist() == [-100] * 8 + [31, 32, 33]
    assert inputs["labels"][1].tolist() == [-100] * 6 + [41, 42] + [-100] * 3
    embeds = inputs["inputs_embeds"]
    table = model.llm.get_input_embeddings()
    bos = table(torch.tensor([model.llm.config.bos_token_id]))[0]
    torch.testing.assert_close(embeds[1, 0], bos)                          # BOS first
    torch.testing.assert_close(embeds[1, 5], model.end_of_input.detach())  # after the 4 real prompt tokens
    torch.testing.assert_close(embeds[1, 6:8], table(torch.tensor([41, 42])))
    prompt = model.soft_prompt(ids, mask)
    torch.testing.assert_close(embeds[1, 1:5], prompt[1, :4])
    out = model(ids, mask, targets, target_mask)
    assert out.logits.shape == (2, 11, LLM_VOCAB) and torch.isfinite(out.loss)
    assert model(ids, mask).logits.shape == (2, 1 + 6 + 1, LLM_VOCAB) and model(ids, mask).loss is None


@pytest.mark.parametrize("mode", FUSION_MODES)
def test_only_fusion_and_projection_receive_gradients(mode):
    model = build(mode)
    model.train()
    assert not model.encoder.training and not model.llm.training
    trainable = {n for n, _ in model.trainable_named_parameters()}
    assert trainable and all(n.startswith(("fusion.", "projection.")) or n == "end_of_input" for n in trainable)
    assert not any(p.requires_grad for p in model.encoder.parameters())
    assert not any(p.requires_grad for p in model.llm.parameters())
    model(*batch()).loss.backward()
    got_grad = {n for n, p in model.named_parameters() if p.grad is not None}
    assert got_grad == trainable
    expected = {"last": 0, "global_softmax": ENC_LAYERS + 1}[mode] if mode != "transformer_softmax" else None
    fusion_count = sum(p.numel() for p in model.fusion.parameters())
    if expected is not None:
        assert fusion_count == expected
    projection = ENC_HIDDEN * model.llm_hidden + model.llm_hidden
    assert model.count_parameters() == fusion_count + projection + model.llm_hidden
    assert model.count_parameters(trainable=False) == (sum(p.numel() for p in model.encoder.parameters())
                                                       + sum(p.numel() for p in model.llm.parameters()))


def test_softmax_weights_sum_to_one():
    ids, mask, _, _ = batch()
    model = build("global_softmax")
    with torch.no_grad():
        model.fusion.logits.copy_(torch.tensor([0.3, -1.0, 2.0, 0.5]))
    fused, weights = model.fuse(ids, mask)
    assert weights.shape == (ENC_LAYERS + 1,) and torch.isclose(weights.sum(), torch.tensor(1.0))
    states = model.encoder_states(ids, mask)
    assert states.shape == (ENC_LAYERS + 1, 2, 6, ENC_HIDDEN)
    torch.testing.assert_close(fused, sum(w * s for w, s in zip(weights, states)))
    model = build("transformer_softmax")
    fused, weights = model.fuse(ids, mask)
    assert weights.shape == (2, 6, ENC_LAYERS + 1)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 6))
    assert weights[0, 1].sub(weights[0, 2]).abs().max() > 0                 # per token, not one global vector
    torch.testing.assert_close(fused, torch.einsum("btl,lbth->bth", weights, states))


def test_last_mode_is_a_linear_map_of_the_last_layer():
    ids, mask, _, _ = batch()
    model = build("last")
    last = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    expected = last @ model.projection.weight.T + model.projection.bias
    torch.testing.assert_close(model.soft_prompt(ids, mask), expected)
    assert sum(p.numel() for p in model.fusion.parameters()) == 0


@pytest.mark.parametrize("mode", FUSION_MODES)
def test_one_optimizer_step_lowers_the_loss_on_a_fixed_batch(mode):
    model = build(mode)
    model.train()
    frozen = {n: p.detach().clone() for n, p in model.llm.named_parameters()}
    optimizer = torch.optim.Adam([p for _, p in model.trainable_named_parameters()], lr=1e-3)
    loss = model(*batch()).loss
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        after = model(*batch()).loss
    assert after < loss.detach(), (mode, float(loss), float(after))
    assert all(torch.equal(p, frozen[n]) for n, p in model.llm.named_parameters())


def test_fusion_state_round_trip_and_mismatches_are_refused():
    model = build("transformer_softmax")
    saved = model.fusion_state()
    assert saved["config"] == {"mode": "transformer_softmax", "encoder_layers": ENC_LAYERS,
                               "encoder_hidden": ENC_HIDDEN, "llm_hidden": model.llm_hidden}
    other = FusedEncoderLM(tiny_encoder(seed=5), tiny_model("llama", LLM_VOCAB, seed=1), "transformer_softmax")
    other.load_fusion_state(saved)
    assert all(torch.equal(p, saved["state"][n]) for n, p in other.trainable_named_parameters())
    deeper = FusedEncoderLM(tiny_encoder(layers=ENC_LAYERS + 1), tiny_model("llama", LLM_VOCAB), "transformer_softmax")
    before = {n: p.detach().clone() for n, p in deeper.trainable_named_parameters()}
    with pytest.raises(ConfigError, match="encoder_layers=3"):
        deeper.load_fusion_state(saved)
    assert all(torch.equal(p, before[n]) for n, p in deeper.trainable_named_parameters())   # nothing half-loaded
    wider = FusedEncoderLM(tiny_encoder(hidden=64), tiny_model("llama", LLM_VOCAB), "transformer_softmax")
    with pytest.raises(ConfigError, match="encoder_hidden=32"):
        wider.load_fusion_state(saved)
    with pytest.raises(ConfigError, match="mode='transformer_softmax'"):
        build("global_softmax").load_fusion_state(saved)


def test_bad_mode_heads_and_too_long_prompts_are_refused():
    with pytest.raises(ConfigError, match="mode='mean'.*last, global_softmax, transformer_softmax"):
        build("mean")
    with pytest.raises(ConfigError, match="fusion_heads=3"):
        build("transformer_softmax", fusion_heads=3)
    model = build("last")
    assert model.encoder_limit == 20 - 2                                      # XLM-R: positions start at 2
    long_ids = torch.full((1, 19), 5)
    with pytest.raises(DataError, match="at most 18: tokenize with truncation=True, max_length=18"):
        model(long_ids, torch.ones_like(long_ids), torch.tensor([[3]]))
