"""``python -m paper_utils.adapt``: one staged-adaptation run from the command line (also under accelerate).

Example::

    python -m paper_utils.adapt --preset demo --language uz --model smollm2-135m --method bxod_sub75
    accelerate launch -m paper_utils.adapt --preset paper --language uz --model llama-3.2-1b --method bxod
    torchrun --standalone --nproc_per_node 2 -m paper_utils.adapt --preset smoke --method fvt   # DDP on CPU

The recipe is :mod:`paper_utils.recipes.staged`, the loop :mod:`paper_utils.train`; this module keeps
their public names importable from ``paper_utils.adapt`` for notebooks and scripts.

    >>> from paper_utils.adapt import AdaptConfig, run_adaptation, train
    >>> train.__module__, run_adaptation.__module__
    ('paper_utils.train.loop', 'paper_utils.recipes.staged')
"""
from __future__ import annotations

import json
import sys
from typing import Sequence

from .adapt_data import AdaptInputs, adapt_dir, check_parameters, load_inputs
from .config import load_preset
from .paths import shown
from .recipes.staged import run_adaptation
from .train import (STAGE_KINDS, AdaptConfig, AdaptResult, Stage, check_model, export_model, latest_checkpoint,
                    model_fingerprint, read_log, save_checkpoint, steps_to_reach, train)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m paper_utils.adapt`` / ``accelerate launch -m paper_utils.adapt``: one run."""
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="demo")
    ap.add_argument("--language", default="uz")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--method", default="bxod")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stage2", default="lora", choices=STAGE_KINDS)
    ap.add_argument("--micro-batch-size", type=int, default=0)
    ap.add_argument("--gradient-checkpointing", action="store_true")
    ap.add_argument("--no-resume", action="store_true")
    args = ap.parse_args(argv)
    result = run_adaptation(load_preset(args.preset), args.language, args.model, args.method, args.seed,
                            stage2=args.stage2, resume=not args.no_resume, micro_batch_size=args.micro_batch_size,
                            gradient_checkpointing=args.gradient_checkpointing)
    print(json.dumps({**{k: result.summary.get(k) for k in ("base_bpb", "step0_bpb", "final_bpb", "steps_to_base_bpb")},
                      "model_dir": shown(result.model_dir) if result.model_dir else None}))
    return 0


__all__ = ["Stage", "AdaptConfig", "AdaptResult", "AdaptInputs", "STAGE_KINDS", "train", "export_model",
           "run_adaptation", "load_inputs", "adapt_dir", "check_parameters", "read_log", "steps_to_reach",
           "save_checkpoint", "latest_checkpoint", "model_fingerprint", "check_model"]

if __name__ == "__main__":
    sys.exit(main())
