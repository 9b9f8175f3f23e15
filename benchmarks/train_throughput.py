"""Training throughput and peak memory per adaptation stage (embeddings only, LoRA + embeddings, full).

Example::

    python benchmarks/train_throughput.py                       # SmolLM2-135M on this machine's CPU
    python benchmarks/train_throughput.py --seq-len 1024 --batch 8 --steps 10     # on a GPU (bf16, SDPA)
    python benchmarks/train_throughput.py --json results/benchmarks/train_throughput.json

Each stage runs in its own child process (peak memory is per process: ``ru_maxrss`` on CPU,
``torch.cuda.max_memory_allocated`` on CUDA) through the same pieces as ``paper_utils.train.loop``:
``select_stage`` (freezing, gradient mask, LoRA), ``optimizer_for`` (AdamW) and ``accelerate`` (fp32 on
CPU, bf16 autocast on CUDA). The embedding matrix is first extended by ``--new-tokens`` rows, as after
vocabulary extension. After ``--warmup`` untimed steps, ``--steps`` optimizer steps are timed.

``--stages fusion_last fusion_global_softmax fusion_transformer_softmax`` (issue 16) time one training step of
the encoder-fusion recipe instead (:class:`paper_utils.fusion.FusedEncoderLM`: multilingual-e5-small as a torch
model, frozen, fused into the frozen LLM; AdamW on fusion + projection + end-of-input vector): each row is a
prompt of ``seq_len // 2`` encoder tokens and a response of ``seq_len // 2`` LLM tokens, the same tokens per step
as the other stages, so ``fusion / embeddings`` compares the two recipes' step costs on the same LLM.

``--stages embeddings embeddings_rows_head`` times the embeddings-only step with ``AdaptConfig.rows_only_head`` (the
output head's weight gradient for the new rows only, :func:`paper_utils.train.trainable.rows_only_head`) beside the
plain one.

``--stages sft_full sft_lora`` (issue 18) time one step of the Franken-Adapter recipe's sibling SFT
(:func:`paper_utils.sibling.select_body`: the body in full or LoRA, the embeddings frozen; no new rows; the loss on
the second half of each row, as on a response), beside ``embeddings`` (the recipe's embedding tuning on the base).

Reported per stage: tokens/s, seconds per step (wall, and process CPU seconds: on a machine shared
with other jobs the CPU time is the better estimate of an idle machine's speed), peak memory, trainable parameters, and on CUDA the
model FLOPs utilization ``MFU = tokens/s x F / peak``, with ``F = 6 N + 12 L H T`` FLOPs per token
(``N`` = parameters of every matrix multiply including the output head, ``L`` layers, ``H`` hidden,
``T`` sequence length; Chinchilla/PaLM convention, counted the same for every stage, so it is the
utilization a full-training step would have at that speed) and the bf16 dense peak of the GPU. The
ratio ``full / embeddings`` of seconds per step says how much cheaper the embeddings-only stage is.
The step flushes CPU subnormals as the training loop does (``--keep-subnormals``: as before that; on Gemma-3's
262k-token head the backward pass was 3-6x slower without it; one intra-op thread only,
:mod:`paper_utils.train.devices`).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

PEAK_BF16 = {"H100 SXM": 989.4e12, "H100 PCIe": 756.0e12, "H100 NVL": 835.0e12, "H100": 989.4e12,
             "H200": 989.4e12, "A100": 312.0e12, "L40S": 362.0e12, "A10G": 125.0e12, "L4": 121.0e12}


def peak_flops(name: str) -> float | None:
    """Dense bf16 peak of the GPU called ``name`` (``torch.cuda.get_device_name``); None if not listed.

    Matched on whole words of the name, most specific entry first: "NVIDIA H100 PCIe" -> "H100 PCIe",
    "NVIDIA L40" is not "L4".
    """
    import re

    words = set(re.split(r"[\s\-_]+", name))
    for key in sorted(PEAK_BF16, key=len, reverse=True):
        if all(part in words for part in key.split()):
            return PEAK_BF16[key]
    return None


def flops_per_token(model, seq_len: int) -> float:
    cfg = model.config
    matmul = sum(p.numel() for n, p in model.named_parameters() if p.ndim == 2 and "embed_tokens" not in n)
    if model.get_output_embeddings() is not None and model.get_output_embeddings().weight is model.get_input_embeddings().weight:
        matmul += model.get_input_embeddings().weight.numel()            # tied head: the matmul still runs
    return 6 * matmul + 12 * cfg.num_hidden_layers * cfg.hidden_size * seq_len


def timed_steps(one_step, args, cuda: bool) -> tuple[float, float]:
    """``--warmup`` untimed steps, then ``(wall seconds, process CPU seconds)`` per step over ``--steps`` steps."""
    import torch

    for _ in range(args.warmup):
        one_step()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(args.steps):
        one_step()
    return (time.perf_counter() - t0) / args.steps, (time.process_time() - c0) / args.steps


def run_fusion_stage(args) -> dict:
    """One encoder-fusion training step configuration in this process (CPU or CUDA fp32): the measurements."""
    import torch

    from paper_utils.assets import load_model
    from paper_utils.e5_torch import load_e5_torch
    from paper_utils.fusion import FusedEncoderLM

    torch.manual_seed(0)
    llm, _ = load_model(args.model)
    encoder, _ = load_e5_torch()
    cuda = torch.cuda.is_available() and not args.cpu
    device = torch.device("cuda" if cuda else "cpu")
    model = FusedEncoderLM(encoder, llm, args.stage.removeprefix("fusion_")).to(device)
    params = [p for _, p in model.trainable_named_parameters()]
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    model.train()
    half = args.seq_len // 2
    gen = torch.Generator().manual_seed(0)

    def one_step():
        prompt = torch.randint(5, encoder.config.vocab_size - 1, (args.batch, half), generator=gen).to(device)
        target = torch.randint(5, llm.config.vocab_size - 1, (args.batch, half), generator=gen).to(device)
        loss = model(prompt, torch.ones_like(prompt), target, torch.ones_like(target)).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()

    seconds, cpu_seconds = timed_steps(one_step, args, cuda)
    out = {"stage": args.stage, "device": str(device), "mixed_precision": "no", "threads": torch.get_num_threads(),
           "seq_len": args.seq_len, "batch": args.batch, "micro_batch": args.batch, "new_tokens": 0,
           "steps": args.steps, "trainable_params": model.count_parameters(), "seconds_per_step": seconds,
           "tokens_per_s": args.batch * args.seq_len / seconds,
           "cpu_seconds_per_step": cpu_seconds, "load_average": os.getloadavg()[0],
           "gradient_checkpointing": False}
    out["peak_memory_gib"] = (torch.cuda.max_memory_allocated() / 2**30 if cuda
                              else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)
    return out


def run_stage(args) -> dict:
    """One stage in this process: returns the measurements."""
    import torch

    if args.stage.startswith("fusion_"):
        return run_fusion_stage(args)

    from paper_utils.train import AdaptConfig, Stage
    from paper_utils.train.devices import accelerator
    from paper_utils.train.trainable import optimizer_for, select_stage
    from paper_utils.assets import load_model

    torch.manual_seed(0)
    model, tok = load_model(args.model)
    cuda = torch.cuda.is_available() and not args.cpu
    if cuda and hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation("sdpa")
    sft = args.stage.startswith("sft_")             # the Franken sibling's SFT: embeddings frozen, no new rows
    new_tokens = 0 if sft else args.new_tokens
    base_rows = model.get_input_embeddings().weight.shape[0]
    model.resize_token_embeddings(base_rows + new_tokens, mean_resizing=False)
    new_ids = list(range(base_rows, base_rows + new_tokens))
    rows_head = args.stage == "embeddings_rows_head"
    stage = Stage(args.stage[4:] if sft else "embeddings" if rows_head else args.stage, args.steps + args.warmup)
    config = AdaptConfig(stages=(stage,), seq_len=args.seq_len, batch_size=args.batch, learning_rate=1e-4,
                         micro_batch_size=args.micro or 0, gradient_checkpointing=args.gradient_checkpointing,
                         device="cpu" if args.cpu else "auto", rows_only_head=rows_head)
    micro = config.micro_batch_size or config.batch_size
    accum = config.batch_size // micro
    acc = accelerator(config, accum)
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False
    if sft:
        from paper_utils.sibling import select_body
        net, hooks = select_body(model, stage, config, new_ids)
    else:
        net, hooks = select_stage(model, stage, config, new_ids)
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    optimizer = optimizer_for(net, stage, config)
    prepared, optimizer = acc.prepare(net, optimizer)
    prepared.train()
    vocab = base_rows + new_tokens
    gen = torch.Generator().manual_seed(0)

    from paper_utils.train.devices import flushes_subnormals, subnormals_flushed

    def one_step():
        for _ in range(accum):
            x = torch.randint(0, vocab, (micro, config.seq_len), generator=gen).to(acc.device)
            with acc.accumulate(prepared), subnormals_flushed(not args.keep_subnormals):
                labels = x.clone()
                if sft:
                    labels[:, :config.seq_len // 2] = -100          # the prompt half: no loss
                loss = prepared(input_ids=x, labels=labels).loss
                acc.backward(loss)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()

    seconds, cpu_seconds = timed_steps(one_step, args, cuda)
    tokens = config.batch_size * config.seq_len
    out = {"stage": args.stage, "device": str(acc.device), "mixed_precision": acc.mixed_precision,
           "subnormals_flushed": flushes_subnormals(not args.keep_subnormals),
           "threads": torch.get_num_threads(), "seq_len": config.seq_len, "batch": config.batch_size,
           "micro_batch": micro, "new_tokens": new_tokens, "steps": args.steps,
           "trainable_params": trainable, "seconds_per_step": seconds, "tokens_per_s": tokens / seconds,
           "cpu_seconds_per_step": cpu_seconds, "load_average": os.getloadavg()[0],
           "gradient_checkpointing": config.gradient_checkpointing}
    if cuda:
        name = torch.cuda.get_device_name()
        out.update(gpu=name, peak_memory_gib=torch.cuda.max_memory_allocated() / 2**30)
        peak = peak_flops(name)
        fpt = flops_per_token(acc.unwrap_model(prepared).get_base_model() if hasattr(prepared, "get_base_model")
                              else acc.unwrap_model(prepared), config.seq_len)
        out.update(flops_per_token=fpt, mfu=(out["tokens_per_s"] * fpt / peak) if peak else None)
    else:
        out["peak_memory_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20   # KiB -> GiB (Linux)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--stages", nargs="*", default=["embeddings", "lora", "full"])
    ap.add_argument("--seq-len", type=int, default=None, help="default: 128 on CPU, 1024 on CUDA")
    ap.add_argument("--batch", type=int, default=None, help="sequences per step; default: 4 on CPU, 16 on CUDA")
    ap.add_argument("--micro", type=int, default=0, help="micro-batch (gradient accumulation); 0: the batch")
    ap.add_argument("--steps", type=int, default=None, help="timed steps; default 3 on CPU, 20 on CUDA")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--new-tokens", type=int, default=8000)
    ap.add_argument("--gradient-checkpointing", action="store_true")
    ap.add_argument("--keep-subnormals", action="store_true",
                    help="do not flush CPU subnormals in the step (the training loop flushes them by default)")
    ap.add_argument("--cpu", action="store_true", help="stay on the CPU even with a GPU present")
    ap.add_argument("--json", default=None, help="write the measurements here")
    ap.add_argument("--stage", default=None, help=argparse.SUPPRESS)      # child process: one stage
    args = ap.parse_args()

    import torch

    cuda = torch.cuda.is_available() and not args.cpu
    args.seq_len = args.seq_len or (1024 if cuda else 128)
    args.batch = args.batch or (16 if cuda else 4)
    args.steps = args.steps or (20 if cuda else 3)
    if args.stage:
        print("RESULT " + json.dumps(run_stage(args)), flush=True)
        return
    results = []
    for stage in args.stages:
        cmd = [sys.executable, __file__, "--stage", stage] + [a for a in sys.argv[1:] if a not in ("--stage",)]
        if "--json" in cmd:
            i = cmd.index("--json")
            del cmd[i:i + 2]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TQDM_DISABLE": "1"})
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            print(proc.stdout[-2000:], proc.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"stage {stage} failed")
        rec = json.loads(line[7:])
        rec["wall_s"] = round(time.perf_counter() - t0, 1)
        results.append(rec)
        extra = f"  MFU {rec['mfu']:.1%}" if rec.get("mfu") is not None else ""
        print(f"{stage:<11} {rec['tokens_per_s']:>9.1f} tokens/s  {rec['seconds_per_step']:>7.2f} s/step "
              f"({rec['cpu_seconds_per_step']:.2f} CPU s/step, load {rec['load_average']:.1f})  "
              f"peak {rec['peak_memory_gib']:.2f} GiB  trainable {rec['trainable_params'] / 1e6:.1f} M  "
              f"[{rec['device']}, {rec['mixed_precision']}, {rec['threads']} threads, seq {rec['seq_len']} x "
              f"batch {rec['batch']}]{extra}", flush=True)
    by = {r["stage"]: r for r in results}
    if "embeddings" in by:
        for other in [s for s in by if s != "embeddings"]:
            ratio = by[other]["seconds_per_step"] / by["embeddings"]["seconds_per_step"]
            cpu = by[other]["cpu_seconds_per_step"] / by["embeddings"]["cpu_seconds_per_step"]
            mem = by[other]["peak_memory_gib"] / by["embeddings"]["peak_memory_gib"]
            print(f"{other} / embeddings-only: {ratio:.2f}x wall time per step ({cpu:.2f}x CPU time), "
                  f"{mem:.2f}x peak memory")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
