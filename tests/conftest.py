"""Shared fixtures: tiny tokenizers trained in the test, an isolated cache folder, offline Hub."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "A tokenizer splits text into pieces that a model can read.",
    "Which of the following is the capital of France?",
    "Please enter a valid email address.",
    "The answer depends on the temperature of the water.",
] * 20


def pytest_collection_modifyitems(config, items):
    import torch                                  # a dependency: a broken install must fail loudly, not skip

    has_cuda = torch.cuda.is_available()
    skip_gpu = pytest.mark.skip(reason="needs CUDA (gpu tier)")
    for item in items:
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(skip_gpu)


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """Point the package cache at an empty temporary folder."""
    monkeypatch.setenv("PAPER_UTILS_CACHE", str(tmp_path / "cache"))
    from paper_utils import packs

    clear = packs.registry.cache_clear
    clear()
    yield tmp_path / "cache"
    clear()


@pytest.fixture(scope="session")
def byte_bpe_tokenizer():
    """A tiny byte-level BPE (GPT-2 family) trained on English, wrapped for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<|endoftext|>"])
    tok.train_from_iterator(ENGLISH, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>")


@pytest.fixture(scope="session")
def smoke_batch(tmp_path_factory):
    """The whole smoke batch (every notebook, papermill) run once into a temporary results root; the root.

    Shared by the notebooks-tier tests (metrics, saved notebooks, machine-independent outputs), so the
    batch runs once per session instead of once per test module.
    """
    from paper_utils.runner import reproduce

    root = tmp_path_factory.mktemp("results")
    old = os.environ.get("PAPER_UTILS_RESULTS")
    os.environ["PAPER_UTILS_RESULTS"] = str(root)
    try:
        failed = reproduce("smoke", force=True, log=lambda line: None)
    finally:
        if old is None:
            os.environ.pop("PAPER_UTILS_RESULTS")
        else:
            os.environ["PAPER_UTILS_RESULTS"] = old
    failures = {p.name: p.read_text()[-2000:] for p in (root / "smoke" / "failures").glob("*.txt")}
    assert not failed, failures
    return root


@pytest.fixture
def smoke_fusion_preset(tmp_path, monkeypatch):
    """``make(fusion_table)``: a copy of the smoke preset with the fusion recipe on uz and ms and the ``[fusion]``
    table ``fusion_table`` (TOML lines), results under ``tmp_path``; returns the preset file's path."""
    from paper_utils.paths import PRESETS_DIR

    def make(fusion_table: str):
        text = (PRESETS_DIR / "smoke.toml").read_text(encoding="utf-8")
        text = text.replace("seeds = [0]\n", 'seeds = [0]\nrecipes = ["staged", "fusion"]\n', 1)
        text = text.replace('languages = ["uz"]', 'languages = ["uz", "ms"]', 1)
        preset = tmp_path / "smoke_fusion.toml"
        preset.write_text(text + "\n[fusion]\n" + fusion_table, encoding="utf-8")
        monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path / "results"))
        return preset
    return make
