"""Staged adaptation (paper_utils.adapt, paper_utils.adapt_data) on the smoke preset's tiny random Llama."""
from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from paper_utils.adapt import AdaptConfig, Stage, latest_checkpoint, run_adaptation, train
from paper_utils.adapt_data import english_training_text
from paper_utils.train import MixedStream, pack, steps_to_reach
from paper_utils.config import load_preset
from paper_utils.errors import ConfigError, DataError
from paper_utils.paths import NOTEBOOKS_DIR, REPO_ROOT

# Built the same way in this process and in the child process of the kill test.
BUILD = """
import torch
from paper_utils.config import load_preset
from paper_utils.fixtures import tiny_model
from paper_utils.init import apply_patch, initialize, smoke_setup
from paper_utils.study import training_text
from paper_utils.adapt_data import english_training_text

smoke = load_preset("smoke")
setup = smoke_setup(smoke, "uz", "smollm2-135m")
patch = initialize(setup.model, setup.base_tokenizer, setup.extended_tokenizer, "fvt")
model = apply_patch(setup.model, patch)
target_texts = training_text(smoke, "uz")
english_texts = english_training_text(smoke, "uz")
"""


def _config(**kw):
    values = dict(stages=(Stage("embeddings", 2), Stage("lora", 2)), seq_len=16, batch_size=2, learning_rate=1e-2,
                  english_share=0.25, seed=0, eval_every=2)
    values.update(kw)
    return AdaptConfig(**values)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny matrices: one thread is faster and (on a shared 2-core machine) far less noisy."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def built():
    ns: dict = {}
    exec(BUILD, ns)
    return ns


def _fresh(built):
    return copy.deepcopy(built["model"])


def _train(built, out, config, model=None, **kw):
    kw.setdefault("heldout_texts", built["setup"].heldout_texts)
    kw.setdefault("english_texts", built["english_texts"])
    return train(model if model is not None else _fresh(built), built["setup"].extended_tokenizer,
                 kw.pop("target_texts", built["target_texts"]), out, config,
                 new_token_ids=built["patch"].token_ids, log=lambda line: None, **kw)


def _assert_same_weights(a, b, exact=True, atol=1e-6):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        if exact:
            assert torch.equal(sa[k], sb[k]), k
        else:
            diff = float((sa[k] - sb[k]).abs().max())
            assert diff <= atol, (k, diff)


# ------------------------------------------------------------------------------------------------
# data

def test_pack_is_seeded_and_separates_documents(built):
    tok = built["setup"].extended_tokenizer
    texts = built["target_texts"][:60]
    a = pack(tok, texts, 16, seed=0)
    assert a.dtype == torch.long and a.shape[1] == 16 and a.shape[0] > 3
    assert torch.equal(a, pack(tok, texts, 16, seed=0))
    assert not torch.equal(a, pack(tok, texts, 16, seed=1))
    assert (a == tok.eos_token_id).sum() >= 1
    with pytest.raises(DataError, match="empty"):
        pack(tok, ["", "   "], 16)
    with pytest.raises(DataError, match="fewer than one sequence"):
        pack(tok, ["salom"], 1000)


def _bos_adding(tok):
    """A copy of ``tok`` whose encodings open with BOS (as Gemma's and Llama-3's do)."""
    from tokenizers.processors import TemplateProcessing

    tok = copy.deepcopy(tok)
    tok.bos_token = tok.eos_token if tok.bos_token is None else tok.bos_token
    tok.backend_tokenizer.post_processor = TemplateProcessing(
        single=f"{tok.bos_token} $A", special_tokens=[(tok.bos_token, tok.bos_token_id)])
    return tok


def test_blocks_open_with_bos_only_for_a_tokenizer_that_adds_it(built):
    from paper_utils.surfaces import adds_bos

    tok = built["setup"].extended_tokenizer
    texts = built["target_texts"][:60]
    plain = pack(tok, texts, 16, seed=0)
    assert not adds_bos(tok) and not bool((plain[:, 0] == tok.bos_token_id).all())   # unchanged: no BOS column
    bos_tok = _bos_adding(tok)
    assert adds_bos(bos_tok) and bos_tok("salom")["input_ids"][0] == bos_tok.bos_token_id
    blocks = pack(bos_tok, texts, 16, seed=0)
    assert blocks.shape[1] == 16 and bool((blocks[:, 0] == bos_tok.bos_token_id).all())
    # the same stream, cut into 15-token pieces behind the BOS
    stream = plain.flatten().tolist()
    assert blocks[:, 1:].flatten().tolist() == pack(tok, texts, 15, seed=0).flatten().tolist()
    assert stream[:15] == blocks[0, 1:].tolist()
    with pytest.raises(ConfigError, match="opens with BOS"):
        pack(bos_tok, texts, 2)


def test_stream_share_order_and_split_are_pure_functions_of_the_step():
    target = torch.arange(7 * 4).view(7, 4)
    english = -torch.arange(1, 13).view(3, 4)
    s = MixedStream(target, english, english_share=0.2, seed=3)
    assert sum(s.is_english(i) for i in range(100)) == 20
    assert sum(s.is_english(i) for i in range(10)) == 2
    whole = s.batch(step=5, batch_size=8)
    assert torch.equal(whole, s.samples(40, 8))
    # 2 processes x 2 micro-steps x 2 sequences read the same global batch
    parts = {(a, p): s.batch(5, 8, micro=a, micro_size=2, process=p, processes=2) for a in range(2) for p in range(2)}
    assert torch.equal(torch.cat([parts[(0, 0)], parts[(0, 1)], parts[(1, 0)], parts[(1, 1)]]), whole)
    # a fresh stream (a resumed run) serves the same samples; every epoch visits every block once
    assert torch.equal(MixedStream(target, english, 0.2, seed=3).samples(0, 200), s.samples(0, 200))
    firsts = {int(s.samples(i, 1)[0, 0]) for i in range(200) if not s.is_english(i)}
    assert firsts == set(range(0, 28, 4))
    with pytest.raises(ConfigError, match="english_share"):
        MixedStream(target, english, english_share=1.0)
    with pytest.raises(DataError, match="English training text is empty"):
        MixedStream(target, None, english_share=0.2)


def test_english_training_text_is_not_held_out_or_mmlu_eval():
    smoke = load_preset("smoke")
    from paper_utils.study import heldout_parallel

    english = english_training_text(smoke, "uz")
    assert english and not set(english) & set(heldout_parallel(smoke, "uz")[1])


# ------------------------------------------------------------------------------------------------
# bad input

def test_bad_inputs_raise_clear_errors(built, tmp_path):
    with pytest.raises(ConfigError, match="learning_rate"):
        _config(learning_rate=0.0)
    with pytest.raises(ConfigError, match="learning_rate"):
        AdaptConfig.from_preset(load_preset("smoke"), learning_rate=-1e-3)
    with pytest.raises(ConfigError, match="unknown stage name; use one of: embeddings, lora, full"):
        _config(stages=(Stage("embedding", 2),))
    with pytest.raises(ConfigError, match="unknown stage name"):
        run_adaptation(load_preset("smoke"), "uz", "smollm2-135m", "fvt", stage2="adapters")
    with pytest.raises(ConfigError, match="'lora' must be the last stage"):
        _config(stages=(Stage("lora", 2), Stage("embeddings", 2)))
    with pytest.raises(ConfigError, match="seq_len"):
        _train(built, tmp_path / "ctx", _config(seq_len=4096))
    with pytest.raises(DataError, match="training text is empty"):
        _train(built, tmp_path / "empty", _config(), target_texts=["", "  "])
    with pytest.raises(ConfigError, match="multiple of"):
        _train(built, tmp_path / "micro", _config(batch_size=3, micro_batch_size=2))
    for bad in ((("end_of_input", 0.0),), (("", 2.0),), (("end_of_input",),), ("end_of_input", 2.0),
                (("end_of_input", float("inf")),)):
        with pytest.raises(ConfigError, match=r"lr_scales\[0\]"):
            _config(lr_scales=bad)


def test_optimizer_groups_keep_the_layout_of_checkpoints_from_before_lr_scales():
    from paper_utils.fixtures import tiny_model
    from paper_utils.train.trainable import optimizer_for

    model = tiny_model("llama", 80)
    stage = Stage("full", 1)
    config = _config(stages=(stage,), weight_decay=0.1)
    emb = {id(model.get_input_embeddings().weight), id(model.get_output_embeddings().weight)}
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    no_decay = [p for n, p in params if id(p) in emb or p.ndim < 2 or "norm" in n]
    decay = [p for n, p in params if not (id(p) in emb or p.ndim < 2 or "norm" in n)]
    old = torch.optim.AdamW([{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": 0.1}],
                            lr=1e-2)                                 # the two groups every earlier run saved
    model(torch.tensor([[1, 2, 3]]), labels=torch.tensor([[1, 2, 3]])).loss.backward()
    old.step()
    new = optimizer_for(model, stage, config)
    new.load_state_dict(old.state_dict())                             # a checkpoint from before resumes
    assert [g["weight_decay"] for g in new.param_groups] == [0.0, 0.1]
    scaled = optimizer_for(model, stage, _config(stages=(stage,), lr_scales=(("model.norm", 5.0),)))
    assert [(g["lr_scale"], len(g["params"])) for g in scaled.param_groups][-1] == (5.0, 1)   # scaled groups last
    assert scaled.param_groups[-1]["params"][0] is model.model.norm.weight
    with pytest.warns(UserWarning, match="'model.nrom'"):
        optimizer_for(model, stage, _config(stages=(stage,), lr_scales=(("model.nrom", 5.0),)))


def test_embedding_lr_scale_scales_the_embedding_matrices_by_identity_tied_or_not():
    from paper_utils.fixtures import tiny_model
    from paper_utils.train.trainable import optimizer_for

    for arch, tied in (("llama", False), ("gemma", True)):
        model = tiny_model(arch, 80, tied=tied)
        emb = {id(model.get_input_embeddings().weight), id(model.get_output_embeddings().weight)}
        assert len(emb) == (1 if tied else 2)
        opt = optimizer_for(model, Stage("full", 1), _config(stages=(Stage("full", 1),), embedding_lr_scale=0.1))
        lrs = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
        assert [lrs[i] for i in emb] == pytest.approx([1e-3] * len(emb))           # 1e-2 x 0.1
        assert [v for i, v in lrs.items() if i not in emb] == pytest.approx([1e-2] * (len(lrs) - len(emb)))
    assert _config(embedding_lr_scale=1.0).weights_key() == _config().weights_key()       # old runs keep their key
    assert _config(embedding_lr_scale=0.1).weights_key() != _config().weights_key()
    for bad in (0, -1.0, float("nan"), True, "0.1"):
        with pytest.raises(ConfigError, match="embedding_lr_scale"):
            _config(embedding_lr_scale=bad)


def test_from_preset_gives_a_model_its_embedding_lr_scale():
    from paper_utils.config import load_preset

    preset = load_preset("demo-full")
    assert dict(preset.adaptation.embedding_lr_scales) == {"gemma3-270m": 0.1}
    assert AdaptConfig.from_preset(preset, model="gemma3-270m").embedding_lr_scale == 0.1
    assert AdaptConfig.from_preset(preset, model="smollm2-135m").embedding_lr_scale == 1.0
    assert AdaptConfig.from_preset(preset).embedding_lr_scale == 1.0
    with pytest.raises(ConfigError, match="embedding_lr_scales"):
        load_preset("demo", **{"adaptation.embedding_lr_scales": {"no-such-model": 0.1}})
    with pytest.raises(ConfigError, match="embedding_lr_scales.smollm2-135m"):
        load_preset("demo", **{"adaptation.embedding_lr_scales": {"smollm2-135m": 0.0}})


def test_lr_scales_change_the_weights_key_only_when_set():
    assert _config().weights_key() == "3fcb98ea0443a806"       # the key of this config before lr_scales existed
    assert _config(flush_subnormals=False).weights_key() == _config().weights_key()   # an execution detail
    assert _config(lr_scales=(("model.embed_tokens", 10),)).weights_key() != _config().weights_key()
    scaled = _config(lr_scales=(("model.embed", 10), ("model", 3)))
    assert (scaled.lr_scale("model.embed_tokens.weight"), scaled.lr_scale("model.norm.weight"),
            scaled.lr_scale("lm_head.weight")) == (10.0, 3.0, 1.0)          # the first prefix that matches


class _Stop(Exception):
    pass


def _stop_at(k):
    def callback(step, record):
        if step == k:
            raise _Stop(step)
    return callback


def test_checkpoint_from_another_model_or_setting_is_refused(built, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(_Stop):
        _train(built, out, _config(checkpoint_every=1), callback=_stop_at(1))
    assert latest_checkpoint(out / "checkpoints") is not None
    other = copy.deepcopy(built["model"])
    with torch.no_grad():
        other.get_input_embeddings().weight[built["patch"].token_ids] += 1.0   # another initialization
    with pytest.raises(ConfigError, match="another model"):
        _train(built, out, _config(checkpoint_every=1), model=other)
    with pytest.raises(ConfigError, match="another model"):       # blocks opening with BOS: not the same run
        train(_fresh(built), _bos_adding(built["setup"].extended_tokenizer), built["target_texts"], out,
              _config(checkpoint_every=1), english_texts=built["english_texts"],
              new_token_ids=built["patch"].token_ids, log=lambda line: None)
    with pytest.raises(ConfigError, match="other training text"):  # more (or other) text: another stream
        _train(built, out, _config(checkpoint_every=1), target_texts=built["target_texts"] + ["Matn qo'shildi."])
    with pytest.raises(ConfigError, match="other training text"):
        _train(built, out, _config(checkpoint_every=1), english_texts=built["english_texts"][1:])
    with pytest.raises(ConfigError, match="other training settings"):
        _train(built, out, _config(checkpoint_every=1, seed=1))
    _train(built, out, _config(checkpoint_every=1, seed=1), resume=False, export=False)   # starts over


# ------------------------------------------------------------------------------------------------
# stages

def _rows(model):
    w_in = model.get_input_embeddings().weight.detach().clone()
    out = model.get_output_embeddings()
    w_out = None if out is None or out.weight is model.get_input_embeddings().weight else out.weight.detach().clone()
    return w_in, w_out


@pytest.mark.parametrize("tied", [True, False])
def test_embeddings_stage_with_mask_moves_only_new_rows(built, tmp_path, tied):
    from paper_utils.fixtures import tiny_model
    from paper_utils.init import apply_patch, initialize

    setup = built["setup"]
    if tied:
        model = _fresh(built)
    else:
        net = tiny_model("llama", len(setup.base_tokenizer), tied=False)
        model = apply_patch(net, initialize(net, setup.base_tokenizer, setup.extended_tokenizer, "fvt"))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    in0, out0 = _rows(model)
    res = _train(built, tmp_path / "emb", _config(stages=(Stage("embeddings", 3),)), model=model, export=False)
    in1, out1 = _rows(res.model)
    new = torch.tensor(built["patch"].token_ids)
    old = torch.ones(in0.shape[0], dtype=torch.bool)
    old[new] = False
    assert torch.equal(in0[old], in1[old]) and not torch.equal(in0[new], in1[new])
    if not tied:
        assert out1 is not None and torch.equal(out0[old], out1[old]) and not torch.equal(out0[new], out1[new])
    for k, v in res.model.state_dict().items():
        if "embed" not in k and "lm_head" not in k:
            assert torch.equal(v, before[k]), k
    # without the mask every row trains
    res = _train(built, tmp_path / "all", _config(stages=(Stage("embeddings", 2, new_rows_only=False),)),
                 export=False)
    assert not torch.equal(in0[old], _rows(res.model)[0][old])


@pytest.mark.parametrize("arch, tied", [("llama", False), ("gemma", True)])
def test_rows_only_head_gives_the_masked_gradient_without_the_full_head_product(arch, tied):
    from paper_utils.fixtures import tiny_model
    from paper_utils.train.trainable import select_stage

    new = [70, 71, 75, 79]
    ids = torch.tensor([[1, 70, 5, 71, 9, 79, 3, 2], [4, 4, 75, 8, 70, 6, 7, 1]])
    grads, logits = {}, {}
    for fast in (False, True):
        torch.manual_seed(0)
        model = tiny_model(arch, 80, tied=tied)
        model, hooks = select_stage(model, Stage("embeddings", 1), _config(rows_only_head=fast), new)
        out = model(input_ids=ids, labels=ids)
        out.loss.backward()
        logits[fast] = out.logits.detach()
        grads[fast] = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
        head = model.get_output_embeddings()
        assert ("forward" in head.__dict__) == fast
        for h in hooks:
            h.remove()
        assert "forward" not in head.__dict__                             # the stage's end restores the head
    torch.testing.assert_close(logits[True], logits[False], rtol=1e-5, atol=1e-6)
    assert grads[True].keys() == grads[False].keys() and len(grads[True]) == (1 if tied else 2)
    for name in grads[False]:
        torch.testing.assert_close(grads[True][name], grads[False][name], rtol=1e-5, atol=1e-7)
        old = [i for i in range(80) if i not in new]
        assert grads[True][name][old].abs().sum() == 0 and grads[True][name][new].abs().sum() > 0
    assert _config(rows_only_head=True).weights_key() == _config().weights_key()     # the same training, faster


def test_rows_only_head_trains_the_same_rows_as_the_plain_head(built, tmp_path):
    config = _config(stages=(Stage("embeddings", 3),))
    plain = _train(built, tmp_path / "plain", config, export=False)
    fast = _train(built, tmp_path / "fast", _config(stages=(Stage("embeddings", 3),), rows_only_head=True),
                  export=False)
    _assert_same_weights(plain.model, fast.model, exact=False, atol=1e-5)
    assert "forward" not in fast.model.get_output_embeddings().__dict__


def test_two_stages_log_and_export_loadable_with_lora_merged(built, tmp_path):
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM, AutoTokenizer

    res = _train(built, tmp_path / "run", _config(), reference_bpb=100.0)
    log = [json.loads(x) for x in (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()]
    assert log == res.log
    evals = [r for r in log if r["type"] == "eval"]
    assert [r["step"] for r in evals] == [0, 2, 4] and all(r["heldout_bpb"] > 0 for r in evals)
    for r in evals:       # per-document bits and bytes at every logged step (paired tests on the curve, stage 06)
        assert len(r["document_bits"]) == len(r["document_bytes"]) == res.summary["heldout_documents"] > 0
        assert sum(r["document_bits"]) / sum(r["document_bytes"]) == pytest.approx(r["heldout_bpb"], abs=1e-4)
    trains = [r for r in log if r["type"] == "train"]
    assert [r["stage"] for r in trains] == ["embeddings", "embeddings", "lora", "lora"]
    assert all({"loss", "lr", "tokens_per_s", "tokens"} <= set(r) for r in trains)
    assert res.summary["steps_to_base_bpb"] == 0 and res.summary["final_bpb"] == evals[-1]["heldout_bpb"]
    assert not (tmp_path / "run" / "checkpoints").exists()              # removed after export
    loaded = AutoModelForCausalLM.from_pretrained(res.model_dir).eval()
    tok = AutoTokenizer.from_pretrained(res.model_dir)
    assert len(tok) == len(built["setup"].extended_tokenizer) == loaded.config.vocab_size
    with safe_open(str(Path(res.model_dir) / "model.safetensors"), "pt") as fh:
        assert not [k for k in fh.keys() if "lora" in k]
    ids = tok(["kitob o'qish va yozish"], return_tensors="pt").input_ids
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids).logits, res.model(ids).logits, rtol=0, atol=1e-5)
    # LoRA changed the attention weights (merged), relative to the patched start
    q = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(loaded.state_dict()[q], built["model"].state_dict()[q])
    # a finished run is not trained again
    again = _train(built, tmp_path / "run", _config(), reference_bpb=100.0)
    assert again.summary == res.summary


def test_full_stage_and_gradient_accumulation_match(built, tmp_path):
    cfg = dict(stages=(Stage("full", 2),), batch_size=4, english_share=0.0, max_grad_norm=0.0)
    a = _train(built, tmp_path / "a", _config(**cfg), export=False)
    b = _train(built, tmp_path / "b", _config(micro_batch_size=2, **cfg), export=False)
    assert b.summary["gradient_accumulation"] == 2
    # same samples, same mean loss: the weights differ only by fp32 summation order (Adam divides tiny
    # gradients by tiny norms, so compare with the size of the update itself)
    start, sa, sb = built["model"].state_dict(), a.model.state_dict(), b.model.state_dict()
    for k in sa:
        moved = float((sa[k] - start[k]).abs().max())
        assert moved > 0, k                                              # every weight trains
        assert float((sa[k] - sb[k]).abs().max()) <= 1e-2 * moved, k


def test_the_training_step_flushes_subnormals_and_the_evaluation_does_not(built, tmp_path):
    """flush_subnormals (default on) holds inside the step only; off, the step sees subnormals as they are."""
    from paper_utils.train.loop import loop
    from paper_utils.train.objectives import causal_lm_loss

    tiny = torch.tensor([1e-39])                        # a float32 subnormal
    tok = built["setup"].extended_tokenizer
    stream = MixedStream(pack(tok, built["target_texts"], 16, 0, name="target"), None, 0.0, 0)
    for flush in (True, False):
        seen: dict = {"step": [], "eval": []}

        def objective(model, batch):
            seen["step"].append(bool(tiny * 1.0 == 0))
            return causal_lm_loss(model, batch)

        def evaluator(model, texts):
            seen["eval"].append(bool(tiny * 1.0 == 0))
            return {"heldout_bpb": 1.0}

        config = _config(stages=(Stage("full", 2),), english_share=0.0, eval_every=1, flush_subnormals=flush)
        result = loop(_fresh(built), tok, stream, tmp_path / str(flush), config, objective=objective,
                      evaluator=evaluator, heldout_texts=["held out"], export=False, log=lambda line: None)
        assert seen == {"step": [flush, flush], "eval": [False, False, False]}, flush
        assert result.summary["subnormals_flushed"] is flush
    assert bool(tiny * 1.0 != 0)                        # nothing left flushed after training
    torch.set_num_threads(2)                            # the flag is per thread: with a pool, not applied
    try:
        seen = {"step": [], "eval": []}
        result = loop(_fresh(built), tok, stream, tmp_path / "two", _config(stages=(Stage("full", 1),),
                      english_share=0.0, eval_every=1), objective=objective, evaluator=evaluator,
                      heldout_texts=["held out"], export=False, log=lambda line: None)
        assert seen["step"] == [False] and result.summary["subnormals_flushed"] is False
    finally:
        torch.set_num_threads(1)


# ------------------------------------------------------------------------------------------------
# resume

KILL_STAGES = (Stage("embeddings", 3), Stage("lora", 3))


@pytest.fixture(scope="module")
def uninterrupted(built, tmp_path_factory):
    torch.set_num_threads(1)
    return _train(built, tmp_path_factory.mktemp("full") / "run", _config(stages=KILL_STAGES, checkpoint_every=2),
                  export=False)


@pytest.mark.parametrize("stop", [1, 2, 3, 6])
def test_resume_after_interruption_gives_the_same_weights(built, uninterrupted, tmp_path, stop):
    cfg = _config(stages=KILL_STAGES, checkpoint_every=2)
    with pytest.raises(_Stop):
        _train(built, tmp_path / "run", cfg, callback=_stop_at(stop))
    resumed = _train(built, tmp_path / "run", cfg, export=False)
    _assert_same_weights(resumed.model, uninterrupted.model)
    assert [(r["type"], r["step"]) for r in resumed.log] == [(r["type"], r["step"]) for r in uninterrupted.log]


CHILD = BUILD + """
import sys, time
from pathlib import Path
from paper_utils.adapt import AdaptConfig, Stage, train
torch.set_num_threads(1)
out, marker, kill_at = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])

def callback(step, record):
    if step == kill_at:
        marker.write_text(str(step))
        time.sleep(600)                     # the parent SIGKILLs us here

cfg = AdaptConfig(stages=(Stage("embeddings", 3), Stage("lora", 3)), seq_len=16, batch_size=2, learning_rate=1e-2,
                  english_share=0.25, seed=0, eval_every=2, checkpoint_every=2)
train(model, setup.extended_tokenizer, target_texts, out, cfg, english_texts=english_texts,
      heldout_texts=setup.heldout_texts, new_token_ids=patch.token_ids, callback=callback, log=lambda s: None)
"""


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_gives_the_same_weights(built, uninterrupted, tmp_path):
    out, marker = tmp_path / "run", tmp_path / "marker"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(out), str(marker), "5"], env=env, cwd=str(REPO_ROOT),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while not marker.exists():
        assert child.poll() is None, child.stderr.read().decode()[-3000:]
        assert time.time() < deadline, "child did not reach the kill point"
        time.sleep(0.2)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    ck = latest_checkpoint(out / "checkpoints")
    assert ck is not None and ck.name == "step-000004"                       # mid-LoRA, with optimizer state
    logged = [json.loads(x)["step"] for x in (out / "train_log.jsonl").read_text().splitlines()]
    assert max(logged) == 5                                                   # step 5 ran but was not saved
    resumed = _train(built, out, _config(stages=KILL_STAGES, checkpoint_every=2), export=False)
    _assert_same_weights(resumed.model, uninterrupted.model)
    steps = [(r["type"], r["step"]) for r in resumed.log]
    assert steps == [(r["type"], r["step"]) for r in uninterrupted.log]       # no duplicated log lines


DDP_CHILD = BUILD + """
import sys
from pathlib import Path
from paper_utils.adapt import AdaptConfig, Stage, train
torch.set_num_threads(1)
cfg = AdaptConfig(stages=(Stage("embeddings", 2), Stage("lora", 2)), seq_len=16, batch_size=4, learning_rate=1e-2,
                  english_share=0.25, seed=0, eval_every=2, device="cpu")
train(model, setup.extended_tokenizer, target_texts, Path(sys.argv[1]), cfg, english_texts=english_texts,
      heldout_texts=setup.heldout_texts, new_token_ids=patch.token_ids, log=lambda s: None)
"""


@pytest.mark.slow
def test_two_process_ddp_on_cpu_gives_the_weights_of_one_process(built, tmp_path):
    """``torchrun --nproc_per_node 2``: the multi-GPU code path (DDP), here over gloo on CPU."""
    script = tmp_path / "ddp_child.py"
    script.write_text(DDP_CHILD)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(script), str(tmp_path / "ddp")], env=env, cwd=str(REPO_ROOT),
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    ddp = json.loads((tmp_path / "ddp" / "summary.json").read_text())
    assert (ddp["processes"], ddp["gradient_accumulation"]) == (2, 1)
    one = _train(built, tmp_path / "one", _config(batch_size=4, micro_batch_size=2, device="cpu"))
    assert (one.summary["processes"], one.summary["gradient_accumulation"]) == (1, 2)
    # the same 4 sequences per step, split over 2 processes or 2 micro-batches: same weights up to
    # fp32 summation order
    from transformers import AutoModelForCausalLM

    two = AutoModelForCausalLM.from_pretrained(str(tmp_path / "ddp" / "model")).state_dict()
    start, mine = built["model"].state_dict(), one.model.state_dict()
    for k in mine:
        moved = float((mine[k] - start[k]).abs().max())
        assert float((mine[k] - two[k]).abs().max()) <= 1e-2 * moved + 1e-7, k
    assert ddp["final_bpb"] == pytest.approx(one.summary["final_bpb"], abs=1e-5)
    logged = [json.loads(x) for x in (tmp_path / "ddp" / "train_log.jsonl").read_text().splitlines()]
    assert [(r["type"], r["step"]) for r in logged] == [(r["type"], r["step"]) for r in one.log]  # main writes once


def test_process_group_of_another_backend_is_refused(tmp_path, monkeypatch):
    import torch.distributed as dist

    from paper_utils.train import devices

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        assert devices.processes(_config(device="cpu")) == 1                   # gloo group, CPU run: fine
        monkeypatch.setattr(devices, "use_cuda", lambda config: True)         # as if a GPU run came next
        with pytest.raises(ConfigError, match="device.*'gloo' backend"):
            devices.processes(_config(device="auto"))
    finally:
        dist.destroy_process_group()
        from accelerate.state import AcceleratorState

        AcceleratorState._reset_state(reset_partial_state=True)


# ------------------------------------------------------------------------------------------------
# study level: run folder, notebook

def test_run_adaptation_smoke_writes_the_run_folder(tmp_path, monkeypatch):
    from paper_utils.init import run_method, smoke_setup
    from paper_utils.layout import MissingStageOutput

    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path))
    cfg = load_preset("smoke")
    with pytest.raises(MissingStageOutput, match="run 03_anchored_initialization for uz/smollm2-135m first"):
        run_adaptation(cfg, "uz", "smollm2-135m", "bxod", 0, log=lambda line: None)     # never rebuilt here
    run_method(smoke_setup(cfg, "uz", "smollm2-135m"), "bxod")                        # stage 03's patch
    res = run_adaptation(cfg, "uz", "smollm2-135m", "bxod", 0, log=lambda line: None)
    run = tmp_path / "smoke" / "uz" / "smollm2-135m" / "adapt" / "bxod__seed0"
    assert res.out_dir == run
    assert (run / "train_log.jsonl").exists() and (run / "summary.json").exists()
    assert (run / "model" / "config.json").exists() and (run / "model" / "tokenizer.json").exists()
    assert (run.parent / "base_bpb.json").exists()                       # shared by the methods' runs
    s = res.summary
    assert s["method"] == "bxod" and s["total_steps"] == 4 and s["base_bpb"] > 0 and s["final_bpb"] > 0
    assert steps_to_reach(res.log, s["base_bpb"]) == s["steps_to_base_bpb"]


def test_notebook_parameter_defaults_are_a_run_of_the_demo_grid():
    """The defaults of notebook 04 (papermill's parameters cell) name a run the demo preset accepts.
    Refusing bad values is tested in test_runner.py (behaviour, not cell text)."""
    from paper_utils.adapt_data import check_parameters
    from paper_utils.runner import notebook_parameters

    values = notebook_parameters(NOTEBOOKS_DIR / "04_adaptation.ipynb")
    assert {"preset": "demo", "language": "uz", "model": "smollm2-135m", "method": "bxod", "seed": 0}.items() <= values.items()
    check_parameters(load_preset(values["preset"]), values["language"], values["model"], values["method"],
                     values["seed"], values["stage2"])


def test_summary_table_convergence_columns():
    from paper_utils.adapt_data import summary_table

    def run(bpbs):
        log = [{"type": "eval", "step": 5 * k, "heldout_bpb": b} for k, b in enumerate(bpbs)]
        return {"summary": {"base_bpb": 3.0, "final_bpb": bpbs[-1], "steps_to_base_bpb": steps_to_reach(log, 3.0)},
                "log": log}

    table = summary_table({"fvt": run([3.5, 3.2, 2.9, 2.8]), "bxod": run([3.3, 2.9, 2.7, 2.6])}).set_index("run")
    assert table.loc["fvt", "steps_to_base_bpb"] == 10 and table.loc["bxod", "steps_to_base_bpb"] == 5
    assert table.loc["bxod", "common_bpb"] == 2.8
    assert table.loc["fvt", "steps_to_common_bpb"] == 15 and table.loc["bxod", "steps_to_common_bpb"] == 10


@pytest.mark.gpu
def test_cuda_path_trains_in_bf16_and_exports(built, tmp_path):
    from transformers import AutoModelForCausalLM

    res = _train(built, tmp_path / "gpu", _config(device="cuda"))
    assert res.summary["device"].startswith("cuda") and res.summary["mixed_precision"] == "bf16"
    assert res.summary["final_bpb"] > 0
    loaded = AutoModelForCausalLM.from_pretrained(res.model_dir)
    assert loaded.dtype == torch.float32                         # fp32 master weights are exported
