"""The training loop: one objective, a trainable-parameter selection per stage, a stateless stream.

Example::

    >>> import tempfile
    >>> from paper_utils.fixtures import evaluation_model
    >>> from paper_utils.train import AdaptConfig, Stage, train
    >>> model, tok = evaluation_model()                      # random 2-layer Llama; a real run: run_adaptation
    >>> config = AdaptConfig(stages=(Stage("embeddings", 1), Stage("lora", 1)), seq_len=8, batch_size=2,
    ...                      learning_rate=1e-2, eval_every=1)
    >>> texts = ["Kitob o'qish foydali.", "Maktab kitoblari."] * 8
    >>> new_rows = list(range(len(tok) - 10, len(tok)))     # the rows stage `embeddings` may move
    >>> result = train(model, tok, texts, tempfile.mkdtemp(), config, heldout_texts=texts[:2],
    ...                new_token_ids=new_rows, export=False, log=lambda line: None)   # seconds
    >>> [(r["step"], r["stage"]) for r in result.log if r["type"] == "train"]
    [(1, 'embeddings'), (2, 'lora')]
    >>> result.summary["final_bpb"] > 0
    True

:func:`loop` runs any objective (``objective(model, batch) -> loss``; causal-LM loss by default,
:mod:`paper_utils.train.objectives`) over any stateless stream, stage after stage, with one code path
for CPU and GPUs (:mod:`paper_utils.train.devices`), checkpoints that survive SIGKILL and resume
bit-identically (:mod:`paper_utils.train.checkpoint`), held-out bits per byte, a JSONL log, a
``summary.json`` and a ``save_pretrained`` export with LoRA merged. :func:`train` is the staged
causal-LM use of it over packed target text with English mixed in (:mod:`paper_utils.train.streams`).

**Files** in ``out_dir``: ``train_log.jsonl`` (``{"type": "train", step, stage, loss, lr,
tokens_per_s, ...}`` per ``log_every`` steps and ``{"type": "eval", step, heldout_bpb, document_bits,
document_bytes}`` every ``eval_every`` steps and at each stage end; step 0 = the model before training;
``document_bits`` rounded to 1e-4 bits, both lists in the order of the held-out texts), ``summary.json``
(step-0/final held-out bpb, steps to reach the base model's bpb, timings), ``checkpoints/`` (removed
after a successful export unless ``keep_checkpoints``) and ``model/``.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import ConfigError
from ..io import atomic_dir, read_json, write_json
from ..surfaces import adds_bos, vocab_fingerprint
from .checkpoint import latest_checkpoint, load_weights, read_checkpoint_state, save_checkpoint, set_rng_state
from .config import AdaptConfig
from .devices import accelerator, flushes_subnormals, processes, progress, subnormals_flushed
from .logs import read_log, steps_to_reach
from .objectives import causal_lm_loss, to_device
from .streams import MixedStream, pack
from .trainable import embeddings, optimizer_for, select_stage


def model_context(model) -> int | None:
    cfg = getattr(model, "config", None)
    if cfg is None:                     # not a transformers model (FusedEncoderLM): no context to check here
        return None
    cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    return getattr(cfg, "max_position_embeddings", None)


def check_model(model, config: AdaptConfig) -> None:
    """ConfigError when ``seq_len`` exceeds the model's context or LoRA targets are missing."""
    ctx = model_context(model)
    if ctx is not None and config.seq_len > ctx:
        raise ConfigError("seq_len", config.seq_len, f"the model reads at most {ctx} tokens "
                                                     f"(max_position_embeddings); use seq_len <= {ctx}")
    if any(st.kind == "lora" and st.steps for st in config.stages):
        names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
        if not names & set(config.lora_targets):
            raise ConfigError("lora_targets", list(config.lora_targets),
                              f"none of these modules is in {type(model).__name__}")


def model_fingerprint(model, tokenizer) -> str:
    """Identity of the model a run starts from: architecture, vocabulary and a digest of its weights."""
    import torch

    w_in, w_out = embeddings(model)
    cfg = model.config
    digest = hashlib.sha256()
    digest.update(json.dumps([type(model).__name__, list(w_in.shape), w_out is None,
                              getattr(cfg, "num_hidden_layers", None), vocab_fingerprint(tokenizer)]).encode())
    with torch.no_grad():
        for w in [w_in, w_out] + [p for _, p in list(model.named_parameters())[1:4]]:
            if w is not None:
                digest.update(w.detach().float().cpu().flatten()[::97].numpy().tobytes())
    return digest.hexdigest()[:16]


@dataclass
class AdaptResult:
    out_dir: Path
    model_dir: Path | None
    log: list[dict]
    summary: dict
    model: Any = field(default=None, repr=False)


def texts_digest(*text_lists: Sequence[str]) -> str:
    """12 hex digits of sha256 over the texts of each list, in order (the training text's identity in a fingerprint).

    Example::

        >>> texts_digest(["a", "b"]) == texts_digest(["a", "b"]), texts_digest(["a", "b"]) == texts_digest(["ab"])
        (True, False)
    """
    digest = hashlib.sha256()
    for texts in text_lists:
        for text in texts:
            digest.update(text.encode("utf-8") + b"\x00")
        digest.update(b"\x1e")
    return digest.hexdigest()[:12]


def train(model, tokenizer, target_texts: Sequence[str], out_dir: str | Path, config: AdaptConfig, *,
          english_texts: Sequence[str] = (), heldout_texts: Sequence[str] = (), new_token_ids=None,
          reference_bpb: float | None = None, resume: bool = True, export: bool = True,
          extra_summary: dict | None = None, callback: Callable[[int, dict], None] | None = None,
          log: Callable[[str], None] = print) -> AdaptResult:
    """Staged causal-LM adaptation: pack ``target_texts`` (+ ``english_share`` English) and run :func:`loop`.

    ``new_token_ids``: rows that ``new_rows_only`` stages may change. ``reference_bpb``: the base
    model's held-out bpb (for ``steps_to_base_bpb``). ``callback(step, record)`` runs after each step
    (and its checkpoint). Returns an :class:`AdaptResult` (``model`` is the trained, merged model).
    """
    def stream():          # built by the loop only when it trains (a finished run is just loaded)
        target_blocks = pack(tokenizer, target_texts, config.seq_len, config.seed, name="target")
        english_blocks = (pack(tokenizer, english_texts, config.seq_len, config.seed, name="English")
                          if config.english_share > 0 else None)
        return MixedStream(target_blocks, english_blocks, config.english_share, config.seed)

    # blocks that open with BOS (a BOS-adding tokenizer, streams.pack) are another run than the BOS-less blocks
    # packed before that, and other training text is another run: their checkpoints and finished runs are not reused
    fingerprint = (model_fingerprint(model, tokenizer) + ("+bos-blocks" if adds_bos(tokenizer) else "")
                   + "+text-" + texts_digest(target_texts, english_texts if config.english_share > 0 else ()))
    return loop(model, tokenizer, stream, out_dir, config, heldout_texts=heldout_texts, new_token_ids=new_token_ids,
                reference_bpb=reference_bpb, resume=resume, export=export, extra_summary=extra_summary,
                callback=callback, log=log, fingerprint=fingerprint)


def loop(model, tokenizer, stream, out_dir: str | Path, config: AdaptConfig, *,
         objective: Callable[[Any, Any], Any] = causal_lm_loss, select: Callable[..., Any] = select_stage,
         heldout_texts: Sequence[Any] = (), new_token_ids=None, reference_bpb: float | None = None,
         resume: bool = True, export: bool = True, extra_summary: dict | None = None,
         callback: Callable[[int, dict], None] | None = None, log: Callable[[str], None] = print,
         evaluator: Callable[[Any, list], dict] | None = None, fingerprint: str | None = None) -> AdaptResult:
    """Train ``model`` through ``config.stages`` on ``stream``, minimizing ``objective(model, batch)``.

    ``stream`` (or a function that builds it, called only when training is needed)
    ``.batch(step, batch_size, micro, micro_size, process, processes)`` gives a process's slice
    of a global batch (a tensor, or a dict of tensors) as a pure function of the step, so a resumed run
    reads the same samples; ``select(model, stage, config, new_token_ids) -> (model, hooks)`` picks
    the trainable parameters of each stage. Checkpoints, resume, held-out bpb, the log and the export
    are the same for every objective (module doc).

    ``evaluator(model, heldout) -> {name: value, ...}`` replaces the held-out bits per byte (its values go into
    each ``eval`` record; the first one is what the progress line prints), for a model that is not a causal LM
    over ``tokenizer`` (held-out items may then be anything but empty strings, e.g. prompt/response pairs);
    ``fingerprint`` replaces :func:`model_fingerprint` (the identity a checkpoint must match on resume).
    Without ``export`` a finished run is not reloaded: its last checkpoint is (checkpoints are kept).
    """
    import torch

    out = Path(out_dir)
    check_model(model, config)
    if new_token_ids is not None:
        new_token_ids = sorted(int(i) for i in new_token_ids)
    if any(s.rows_only and s.steps for s in config.stages) and not new_token_ids:
        raise ConfigError("new_token_ids", new_token_ids, "stages with new_rows_only need the new tokens' ids")
    fingerprint = fingerprint or model_fingerprint(model, tokenizer)
    wkey = config.weights_key()
    log_path = out / "train_log.jsonl"
    if resume and export and (out / "summary.json").exists() and (out / "model" / "config.json").exists():
        prev = read_json(out / "summary.json")
        if prev.get("weights_key") == wkey and prev.get("model_fingerprint") == fingerprint:
            from transformers import AutoModelForCausalLM

            log(f"{out.name} is complete (same model and settings): loading it; pass resume=False to train again")
            done = AutoModelForCausalLM.from_pretrained(str(out / "model")).eval()
            return AdaptResult(out, out / "model", read_log(log_path), prev, done)

    # every process builds the same stream; each reads its own slice
    if callable(stream) and not hasattr(stream, "batch"):
        stream = stream()
    heldout = [t for t in heldout_texts if t and (not isinstance(t, str) or t.strip())][:config.eval_documents]

    # processes, micro-batches, accumulation
    world = processes(config)
    micro = config.micro_batch_size or max(1, config.batch_size // world)
    if config.batch_size % (micro * world):
        raise ConfigError("micro_batch_size", micro, f"batch_size={config.batch_size} must be a multiple of "
                          f"micro_batch_size x processes = {micro} x {world}")
    accum = config.batch_size // (micro * world)
    acc = accelerator(config, accum)
    main = acc.is_main_process

    # resume
    ckdir = out / "checkpoints"
    state = None
    if resume and (ck := latest_checkpoint(ckdir)) is not None:
        state = read_checkpoint_state(ck, fingerprint, wkey)
    elif not resume and main:
        shutil.rmtree(ckdir, ignore_errors=True)
    step = state["step"] if state else 0
    records = [r for r in read_log(log_path) if r["step"] <= step] if state else []
    if main:
        out.mkdir(parents=True, exist_ok=True)
        log_path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    meta = {"model_fingerprint": fingerprint, "weights_key": wkey, "config": asdict(config)}

    def emit(rec):
        records.append(rec)
        if main:
            with open(log_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec) + "\n")

    def evaluate(net, at_step, stage_kind):
        if not heldout:
            return None
        from ..bpb import bits_per_byte

        t0 = time.perf_counter()
        if evaluator is not None:
            values = evaluator(acc.unwrap_model(net), heldout) if main else {}
        else:
            scored = bits_per_byte(acc.unwrap_model(net), tokenizer, heldout) if main else None
            values = {"heldout_bpb": scored.bpb if main else float("nan"),
                      # per document, in the order of the held-out texts: paired tests at a logged step
                      "document_bits": [round(b, 4) for b in scored.bits] if main else [],
                      "document_bytes": list(scored.bytes) if main else []}
        first = dict(list(values.items())[:1])
        rec = {"type": "eval", "step": at_step, "stage": stage_kind, **first,
               "seconds": round(time.perf_counter() - t0, 3), **values}
        emit(rec)
        if main and values:
            name, value = next(iter(values.items()))
            log(f"step {at_step:>5} [{stage_kind}] {name.replace('heldout_', 'held-out ').replace('_', ' ')} {value:.4f}")
        return rec

    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model_config = getattr(model, "config", None)         # None: not a transformers model (FusedEncoderLM)
    use_cache = getattr(model_config, "use_cache", None)
    if model_config is not None:
        model_config.use_cache = False
    if step == 0 and reference_bpb is not None:
        emit({"type": "reference", "step": 0, "base_bpb": reference_bpb})
    t_start = time.perf_counter()
    if step == 0:
        evaluate(model.to(acc.device), 0, "init")
    bar = progress(config.total_steps, step, main)
    net, hooks, stage_start = model, [], 0
    tokens_per_step = config.batch_size * config.seq_len
    for k, stage in enumerate(config.stages):
        stage_end = stage_start + stage.steps
        if stage.steps == 0 or step >= stage_end and not (state and state["stage_index"] == k):
            stage_start = stage_end
            continue
        net, hooks = select(model, stage, config, new_token_ids)
        optimizer = optimizer_for(net, stage, config)
        if state and state["stage_index"] == k:
            load_weights(ckdir / read_json(ckdir / "latest.json")["dir"], net, state)
        prepared, optimizer = acc.prepare(net, optimizer)
        if state and state["stage_index"] == k and step < stage_end:
            ck = ckdir / read_json(ckdir / "latest.json")["dir"]
            optimizer.load_state_dict(torch.load(ck / "optimizer.pt", weights_only=True))
            set_rng_state(torch.load(ck / "rng.pt", weights_only=False))
        state = None
        params = [p for p in prepared.parameters() if p.requires_grad]
        prepared.train()
        window: list[float] = []
        while step < stage_end:
            t0 = time.perf_counter()
            lr = config.lr_at(stage, step - stage_start)
            for g in optimizer.param_groups:
                g["lr"] = lr * g.get("lr_scale", 1.0)     # AdaptConfig.lr_scales
            micro_losses = []
            for a in range(accum):
                x = to_device(stream.batch(step, config.batch_size, a, micro, acc.process_index, world), acc.device)
                with acc.accumulate(prepared), subnormals_flushed(config.flush_subnormals):
                    loss = objective(prepared, x)
                    acc.backward(loss)
                    if acc.sync_gradients and config.max_grad_norm:
                        acc.clip_grad_norm_(params, config.max_grad_norm)
                    optimizer.step()
                    optimizer.zero_grad(set_to_none=True)
                micro_losses.append(loss.detach())
            mean_loss = acc.reduce(torch.stack(micro_losses).mean(), reduction="mean").item()
            step += 1
            seconds = time.perf_counter() - t0
            window.append(mean_loss)
            rec = {"type": "train", "step": step, "stage": stage.kind, "loss": mean_loss, "lr": lr}
            if step % config.log_every == 0 or step == stage_end:
                rec.update(loss=sum(window) / len(window), tokens=step * tokens_per_step,
                           tokens_per_s=round(tokens_per_step / seconds, 1), seconds=round(seconds, 3),
                           **({"english_fraction": stream.english_fraction((step - 1) * config.batch_size, config.batch_size)}
                              if hasattr(stream, "english_fraction") else {}))
                emit(rec)
                window = []
            if step % config.eval_interval == 0 or step == stage_end:
                evaluate(prepared, step, stage.kind)
            if step % config.checkpoint_interval == 0 or step == stage_end:
                if main:
                    save_checkpoint(ckdir, acc.unwrap_model(prepared), optimizer.optimizer, step, k,
                                    config.stages[:k + 1], new_token_ids, meta)
                acc.wait_for_everyone()
            bar.update(1)
            bar.set_postfix(loss=f"{mean_loss:.3f}", stage=stage.kind, refresh=False)
            if callback is not None:
                callback(step, rec)
        for h in hooks:
            h.remove()
        net = acc.unwrap_model(prepared, keep_fp32_wrapper=False)
        acc.free_memory()
        stage_start = stage_end
    bar.close()
    train_seconds = time.perf_counter() - t_start

    final = net.merge_and_unload() if hasattr(net, "merge_and_unload") else net
    for p in final.parameters():
        p.requires_grad_(False)
    if config.gradient_checkpointing:
        final.gradient_checkpointing_disable()
    if model_config is not None:
        final.config.use_cache = use_cache
    final.eval()
    evals = [r for r in records if r["type"] == "eval"]
    trains = [r for r in records if r["type"] == "train" and "tokens_per_s" in r]
    summary = {
        "base_bpb": reference_bpb,
        "step0_bpb": evals[0].get("heldout_bpb") if evals else None,
        "final_bpb": evals[-1].get("heldout_bpb") if evals else None,
        "steps_to_base_bpb": steps_to_reach(evals, reference_bpb),
        "total_steps": config.total_steps, "stages": [[s.kind, s.steps] for s in config.stages],
        "final_loss": trains[-1]["loss"] if trains else None,
        "tokens": config.total_steps * tokens_per_step,
        "median_tokens_per_s": sorted(r["tokens_per_s"] for r in trains)[len(trains) // 2] if trains else None,
        "train_seconds_this_session": round(train_seconds, 1),
        "train_seconds": round(sum(r.get("seconds", 0) for r in trains)
                               + sum(r.get("seconds", 0) for r in evals), 1),
        "model_fingerprint": fingerprint, "weights_key": wkey,
        "device": str(acc.device), "mixed_precision": acc.mixed_precision, "processes": world,
        "subnormals_flushed": flushes_subnormals(config.flush_subnormals),
        "gradient_accumulation": accum, "heldout_documents": len(heldout),
        "config": asdict(config), **(extra_summary or {}),
    }
    model_dir = None
    if main:
        summary = json.loads(json.dumps(summary, default=str))        # what summary.json holds
        if export:
            model_dir = export_model(final, tokenizer, out / "model")
            summary["model_dir"] = model_dir.name                  # relative to the run folder
        write_json(out / "summary.json", summary)
        if export and not config.keep_checkpoints:
            shutil.rmtree(ckdir, ignore_errors=True)
    acc.wait_for_everyone()
    return AdaptResult(out, model_dir, records, summary, final.to("cpu") if not torch.cuda.is_available() else final)


def export_model(model, tokenizer, folder: str | Path) -> Path:
    """``save_pretrained`` (safetensors) + tokenizer into ``folder``, atomically (tmp folder, rename)."""
    from transformers.utils import logging as hf_logging

    folder = Path(folder)
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        with atomic_dir(folder) as tmp:
            model.save_pretrained(str(tmp), safe_serialization=True)
            tokenizer.save_pretrained(str(tmp))
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    return folder


__all__ = ["train", "loop", "AdaptResult", "export_model", "model_fingerprint", "check_model", "model_context"]
