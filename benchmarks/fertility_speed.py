"""Fertility computation speed: batched (``paper_utils.fertility``) vs one text at a time.

Run::

    .venv/bin/python benchmarks/fertility_speed.py [--tokenizers smollm2 llama3 gpt2] [--repeat 3]

Texts: Uzbek monolingual training text (``corpora.monolingual("uz")``, first 20,000 lines) plus the
English MMLU questions (first 5,000). The naive loop calls the tokenizer once per text
(``tok.hf(text)`` / ``encoding.encode_ordinary(text)``) and counts words the same way; both sides
produce the same token totals (asserted). Prints tokens/s of each and the ratio.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def naive_tokens(tok, texts) -> int:
    if hasattr(tok, "hf"):
        return sum(len(tok.hf(t, add_special_tokens=False)["input_ids"]) for t in texts)
    return sum(len(tok.encoding.encode_ordinary(t)) for t in texts)


def main() -> None:
    from paper_utils import corpora
    from paper_utils.fertility import fertility
    from paper_utils.tokenization import load_text_tokenizer

    parser = argparse.ArgumentParser()
    parser.add_argument("--tokenizers", nargs="+", default=["smollm2", "llama3", "gpt2", "cl100k"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    texts = list(corpora.monolingual("uz")["text"][:20000]) + list(corpora.mmlu()["question"][:5000])
    print(f"{len(texts)} texts, {sum(len(t.encode()) for t in texts) / 1e6:.2f} MB, {os.cpu_count()} cores")
    print(f"{'tokenizer':<10} {'batched tok/s':>14} {'naive tok/s':>12} {'ratio':>6}")
    for name in args.tokenizers:
        tok = load_text_tokenizer(name)
        best_b = best_n = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            total = sum(len(ids) for ids in tok.encode_batch(texts))
            best_b = min(best_b, time.perf_counter() - t0)
            t0 = time.perf_counter()
            naive = naive_tokens(tok, texts)
            best_n = min(best_n, time.perf_counter() - t0)
        assert naive == total, (name, naive, total)
        t0 = time.perf_counter()
        fertility(tok, texts)                      # the full statistic (tokens + per-word counts)
        full = time.perf_counter() - t0
        print(f"{name:<10} {total / best_b:>14,.0f} {total / best_n:>12,.0f} {best_n / best_b:>6.1f}x"
              f"   (full fertility() incl. per-word pass: {full:.2f} s)")


if __name__ == "__main__":
    main()
