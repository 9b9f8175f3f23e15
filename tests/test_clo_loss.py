"""The CLO objective (issue 17): equal to TRL 1.16's DPO loss (+ its NLL term) and to a hand computation; the
attention-only stage kinds change exactly the q/k/v/o projections."""
from __future__ import annotations

import copy
import math
import re
from collections import defaultdict
from types import SimpleNamespace

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from paper_utils.errors import ConfigError
from paper_utils.fixtures import evaluation_model
from paper_utils.train import AdaptConfig, Stage
from paper_utils.train.preference import (clo_loss, clo_terms, collate_pairs, encode_pair, frozen_copy,
                                          sequence_logprobs)
from paper_utils.train.trainable import optimizer_for, select_stage

PAIRS = [{"prompt": "Kitob nima?", "chosen": "Kitob o'qish uchun.", "rejected": "A book is for reading."},
         {"prompt": "What is a book?", "chosen": "A book is for reading.", "rejected": "Kitob o'qish uchun."},
         {"prompt": "Maktab?", "chosen": "Maktab katta.", "rejected": "The school is big."}]


def _tiny_llama(seed=0, vocab=600):
    torch.manual_seed(seed)
    return LlamaForCausalLM(LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128))


def _policy_and_reference():
    """A random reference and a policy that differs from it (so the DPO margin is not zero)."""
    _, tok = evaluation_model()
    reference = _tiny_llama(0, len(tok)).eval()
    policy = copy.deepcopy(reference)
    with torch.no_grad():
        for p in policy.parameters():
            p.add_(0.05 * torch.randn_like(p, generator=torch.Generator().manual_seed(1)))
    return policy.eval(), frozen_copy(reference), tok


def _trl_loss(policy, reference, batch, beta, nll_weight):
    """TRL 1.16's own DPOTrainer._compute_loss on ``batch``, on the smallest object it reads (no Trainer built)."""
    from trl.trainer.dpo_trainer import DPOTrainer
    from trl.trainer.utils import add_fused_lm_head

    policy, reference = copy.deepcopy(policy), copy.deepcopy(reference)
    add_fused_lm_head(policy, outputs=("log_probs", "entropy", "mean_logits", "is_top1"))
    add_fused_lm_head(reference)
    identity = SimpleNamespace(device=torch.device("cpu"), gather_for_metrics=lambda t: t, gather=lambda t: t)
    trainer = DPOTrainer.__new__(DPOTrainer)
    trainer.__dict__.update(
        model=policy, ref_model=reference, accelerator=identity, aux_loss_enabled=False, ld_alpha=None,
        precompute_ref_logps=False, args=SimpleNamespace(gradient_checkpointing_kwargs=None),
        f_divergence_type="reverse_kl", beta=beta, label_smoothing=0.0, use_weighting=False,
        loss_types=["sigmoid", "sft"] if nll_weight else ["sigmoid"],
        loss_weights=[1.0, nll_weight] if nll_weight else [1.0],
        _metrics={"train": defaultdict(list), "eval": defaultdict(list)}, _total_train_tokens=0, _tp_size=1)
    trl_batch = {k: v for k, v in batch.items() if k != "nll_mask"}
    return DPOTrainer._compute_loss(trainer, policy, trl_batch, False)


def _batch(tok, pairs=PAIRS, nll=(True, True, True)):
    examples = [encode_pair(tok, {**p, "nll": n}, max_prompt_tokens=32, max_response_tokens=12)
                for p, n in zip(pairs, nll)]
    return examples, collate_pairs(examples, pad_id=tok.pad_token_id or 0)


def test_batches_have_trl_preference_collator_layout():
    from trl.trainer.dpo_trainer import DataCollatorForPreference

    _, tok = evaluation_model()
    examples, batch = _batch(tok)
    theirs = DataCollatorForPreference(pad_token_id=tok.pad_token_id or 0).torch_call(
        [{k: e[k] for k in ("prompt_ids", "chosen_ids", "rejected_ids")} for e in examples])
    for key in ("input_ids", "attention_mask", "completion_mask"):
        assert torch.equal(batch[key], theirs[key]), key
    prompt_len = len(examples[0]["prompt_ids"])
    assert batch["completion_mask"][0, :prompt_len].sum() == 0                 # prompt tokens never in a loss


@pytest.mark.parametrize("beta, nll_weight", [(0.1, 0.0), (0.1, 1.0), (0.5, 0.3)])
def test_clo_loss_equals_trl_dpo_loss(beta, nll_weight):
    policy, reference, tok = _policy_and_reference()
    policy, reference = policy.double(), reference.double()        # float64: the two sums differ only in rounding
    _, batch = _batch(tok)
    with torch.no_grad():
        ours = clo_loss(policy, reference, batch, beta, nll_weight)
        theirs = _trl_loss(policy, reference, batch, beta, nll_weight)
        dpo = float(clo_terms(policy, reference, batch, beta, 0.0)["dpo"])
    assert abs(float(ours) - float(theirs)) < 1e-6, (float(ours), float(theirs))
    assert dpo != pytest.approx(math.log(2))                       # the policy differs from the reference


def test_clo_loss_equals_a_hand_computation_on_two_pairs():
    policy, reference, tok = _policy_and_reference()
    _, batch = _batch(tok, PAIRS[:2], nll=(True, False))      # NLL on the target-language pair only
    beta, weight = 0.2, 0.7
    logits = policy(input_ids=batch["input_ids"]).logits
    ref_logits = reference(input_ids=batch["input_ids"]).logits
    seq, ref_seq, token_lp, token_mask = [], [], [], []
    for row in range(4):
        ids, mask = batch["input_ids"][row].tolist(), batch["completion_mask"][row].tolist()
        lp = [torch.log_softmax(logits[row, t - 1], -1)[ids[t]] for t in range(1, len(ids)) if mask[t]]
        rlp = [torch.log_softmax(ref_logits[row, t - 1], -1)[ids[t]] for t in range(1, len(ids)) if mask[t]]
        seq.append(sum(lp)), ref_seq.append(sum(rlp)), token_lp.append(lp)
    dpo = sum(-math.log(1 / (1 + math.exp(-beta * float((seq[i] - ref_seq[i]) - (seq[i + 2] - ref_seq[i + 2])))))
              for i in range(2)) / 2
    nll = -float(sum(token_lp[0])) / len(token_lp[0])          # chosen response of pair 0, per token
    assert float(clo_loss(policy, reference, batch, beta, weight)) == pytest.approx(dpo + weight * nll, abs=1e-5)
    assert torch.allclose(sequence_logprobs(policy, batch), torch.stack(seq), atol=1e-5)


def test_reference_is_frozen_and_gets_no_gradient():
    policy, reference, tok = _policy_and_reference()
    policy.train()
    _, batch = _batch(tok)
    clo_loss(policy, reference, batch, 0.1, 1.0).backward()
    assert all(p.grad is None and not p.requires_grad for p in reference.parameters())
    assert not reference.training
    assert any(p.grad is not None for p in policy.parameters())


# ------------------------------------------------------------------------------------------------ attention only

@pytest.mark.parametrize("kind", ["attention", "attention_lora"])
def test_attention_stage_changes_only_the_attention_projections(kind):
    policy, reference, tok = _policy_and_reference()
    _, batch = _batch(tok)
    config = AdaptConfig((Stage(kind, 1),), seq_len=64, batch_size=3, learning_rate=1e-2, lora_r=4)
    before = {n: p.detach().clone() for n, p in policy.named_parameters()}
    net, hooks = select_stage(policy, Stage(kind, 1), config, None)
    net.train()
    optimizer = optimizer_for(net, Stage(kind, 1), config)
    for _ in range(2 if kind == "attention_lora" else 1):     # LoRA's B starts at zero: one step moves B only
        clo_loss(net, reference, batch, 0.1, 1.0).backward()
        optimizer.step()
        optimizer.zero_grad()
    trained = sorted(n for n, p in net.named_parameters() if p.requires_grad)
    merged = net.merge_and_unload() if kind == "attention_lora" else net
    after = dict(merged.named_parameters())
    changed = sorted(n for n in before if not torch.equal(before[n], after[n]))
    projections = sorted(n for n in before if n.split(".")[-2] in ("q_proj", "k_proj", "v_proj", "o_proj"))
    assert changed == projections                                  # every other tensor: bit for bit the same
    if kind == "attention":
        assert trained == projections
    else:
        assert trained and all(re.search(r"\.(q|k|v|o)_proj\.lora_[AB]\.", n) for n in trained)


def test_attention_lora_must_be_the_last_stage():
    with pytest.raises(ConfigError) as err:
        AdaptConfig((Stage("attention_lora", 1), Stage("full", 1)), seq_len=8, batch_size=1, learning_rate=1e-3)
    assert err.value.parameter == "stages"


@pytest.mark.assets
def test_smollm2_pairs_use_its_chat_template_and_end_the_turn():
    """SmolLM2-135M-Instruct (the demo-full CLO model): the prompt is its ChatML user turn with the assistant's
    generation prompt, a response ends with <|im_end|> (its EOS), and only response tokens are in the loss."""
    from paper_utils.assets import model_dir

    folder = model_dir("smollm2-135m")
    if not (folder / "tokenizer.json").exists():
        pytest.skip("SmolLM2-135M is not converted (python -m paper_utils assets fetch)")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder))
    example = encode_pair(tok, {"prompt": "Hola?", "chosen": "Bien.", "rejected": "Fine."}, 128, 16)
    prompt = tok.decode(example["prompt_ids"])
    assert prompt.startswith("<|im_start|>system") and prompt.endswith("<|im_start|>user\nHola?<|im_end|>\n"
                                                                       "<|im_start|>assistant\n")
    assert tok.decode(example["chosen_ids"]) == "Bien.<|im_end|>"
    batch = collate_pairs([example], pad_id=tok.pad_token_id)
    assert batch["completion_mask"][0].sum() == len(example["chosen_ids"])
