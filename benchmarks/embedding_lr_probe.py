"""Which embedding learning rate for a model's new rows, judged on DEV documents only (never the test documents).

Example::

    python benchmarks/embedding_lr_probe.py --lrs 1e-3 3e-4 1e-4 3e-5          # ms x gemma3-270m, fvt rows, demo-full
    python benchmarks/embedding_lr_probe.py --steps 150 --eval-every 50 --lrs 1e-4 3e-4 --json probe150.json

For each learning rate: the base model with stage 03's patch (``--init``) applied, ``--steps`` optimizer steps of
embedding tuning on the new rows only (the Franken recipe's embedding stage, :func:`paper_utils.recipes.franken.
embedding_config`: ``[adaptation]``'s 4 x 64-token blocks of the preset's adaptation text), and the held-out bits per
byte of the first ``--dev-documents`` DEV documents (``data_source.step0_dev_text``: for ``demo-full`` the Firefox
dev files) every ``--eval-every`` steps. Needs stages 02 and 03 of the language and model (their outputs are read,
never rebuilt). Prints one line per rate: dev bpb by step, mean training loss of the first and last five steps,
wall seconds. Run one process per rate to use several cores (``--lrs`` takes one value as well).

Why: Gemma-3-270M's embedding rows are about 3.3x smaller than SmolLM2-135M's (RMS 0.041 vs 0.136) and Adam moves
each coordinate by about the learning rate, so the rate SmolLM2 adapts well at (1e-3) changes Gemma's rows several
times faster relative to their size; the ``demo-full`` Malay runs lost held-out bpb from their first evaluation.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="demo-full")
    parser.add_argument("--language", default="ms")
    parser.add_argument("--model", default="gemma3-270m")
    parser.add_argument("--init", default="fvt", help="stage 03 patch whose new rows are tuned")
    parser.add_argument("--lrs", type=float, nargs="+", default=[1e-3, 3e-4, 1e-4, 3e-5])
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--eval-every", type=int, default=25)
    parser.add_argument("--dev-documents", type=int, default=48)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None, help="folder for the runs' logs (default: a temporary folder)")
    parser.add_argument("--json", default=None, help="write the numbers here")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.eval_every < 1 or args.dev_documents < 1:
        parser.error("--steps, --eval-every and --dev-documents must be >= 1")

    import tempfile

    import torch

    from paper_utils.adapt_data import load_inputs
    from paper_utils.config import load_preset
    from paper_utils.init import apply_patch
    from paper_utils.recipes.franken import embedding_config
    from paper_utils.study import data_source
    from paper_utils.train import train
    from paper_utils.train.config import Stage

    torch.set_num_threads(args.threads)
    cfg = load_preset(args.preset)
    inputs = load_inputs(cfg, args.language, args.model, args.init)
    apply_patch(inputs.model, inputs.patch, tokenizer=inputs.tokenizer)
    dev = [t for t in data_source(cfg).step0_dev_text(args.language) if t.strip()][:args.dev_documents]
    root = Path(args.out or tempfile.mkdtemp(prefix="embedding_lr_probe_"))
    results = {"preset": cfg.name, "language": args.language, "model": args.model, "init": args.init,
               "steps": args.steps, "dev_documents": len(dev), "training_texts": len(inputs.target_texts), "runs": {}}
    for lr in args.lrs:
        config = embedding_config(cfg, 0, stages=(Stage("embeddings", args.steps, new_rows_only=True),),
                                  learning_rate=lr, eval_every=args.eval_every, eval_documents=len(dev),
                                  checkpoint_every=10 * args.steps)
        t0 = time.perf_counter()
        run = train(copy.deepcopy(inputs.model), inputs.tokenizer, inputs.target_texts, root / f"lr_{lr:g}", config,
                    english_texts=inputs.english_texts, heldout_texts=dev, new_token_ids=inputs.patch.token_ids,
                    resume=False, export=False, log=lambda line: None)
        losses = [r["loss"] for r in run.log if r["type"] == "train"]
        row = {"dev_bpb": {r["step"]: round(r["heldout_bpb"], 4) for r in run.log if r["type"] == "eval"},
               "loss_first5": round(sum(losses[:5]) / len(losses[:5]), 3),
               "loss_last5": round(sum(losses[-5:]) / len(losses[-5:]), 3),
               "seconds": round(time.perf_counter() - t0)}
        results["runs"][f"{lr:g}"] = row
        print(f"lr {lr:g}: dev bpb {row['dev_bpb']}, loss {row['loss_first5']} -> {row['loss_last5']}, "
              f"{row['seconds']} s", flush=True)
    if args.json:
        from paper_utils.io import write_json

        write_json(args.json, results)
    return results


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
