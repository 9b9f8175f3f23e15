"""The smoke preset's fixtures: one module knows where the files live and builds the tiny models."""
from __future__ import annotations

import ast

import pytest
import torch

from paper_utils import fixtures
from paper_utils.errors import ConfigError
from paper_utils.paths import PACKAGE_DIR, REPO_ROOT

FILES = ("parallel.tsv", "parallel_dev.tsv", "uz_train.txt", "english.txt", "classification.tsv", "mmlu.jsonl")


def test_fixture_files_live_under_data():
    assert fixtures.FIXTURES_DIR == REPO_ROOT / "data" / "fixtures"
    for name in FILES:
        assert (fixtures.FIXTURES_DIR / name).is_file(), name
    assert not (REPO_ROOT / "tests" / "fixtures").exists()


def _fixture_path_mentions(path) -> list[str]:
    """Places in one module's source that name the fixtures folder (strings, ``/`` joins, ``joinpath``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.replace("\\", "/")
            if "fixtures/" in text or text.endswith("/fixtures"):
                found.append(f"line {node.lineno}: {text[:60]!r}")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            for side in (node.left, node.right):
                if isinstance(side, ast.Constant) and side.value in ("fixtures", "tests"):
                    found.append(f"line {node.lineno}: path join with {side.value!r}")
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "joinpath":
            if any(isinstance(a, ast.Constant) and a.value in ("fixtures", "tests") for a in node.args):
                found.append(f"line {node.lineno}: joinpath")
    return found


def test_only_the_fixtures_module_knows_where_fixture_files_live():
    offenders = {p.name: _fixture_path_mentions(p) for p in sorted(PACKAGE_DIR.glob("*.py")) if p.name != "fixtures.py"}
    assert {k: v for k, v in offenders.items() if v} == {}
    # the check itself finds what it looks for
    assert _fixture_path_mentions(PACKAGE_DIR / "fixtures.py")


def test_parallel_pairs_of_an_unknown_language_name_the_file_and_the_fix():
    with pytest.raises(ConfigError, match="smoke preset uses") as err:
        fixtures.parallel_pairs("xx")
    assert err.value.parameter == "language"


def test_parallel_rows_ids_count_every_row_of_the_file():
    rows = fixtures.read_tsv(fixtures.PARALLEL)
    uz = fixtures.parallel_rows("uz", "test")
    assert [r["id"] for r in uz] == [f"fixture-{i}" for i, r in enumerate(rows) if r["lang"] == "uz"]
    assert [(r["target"], r["en"]) for r in uz] == fixtures.parallel_pairs("uz")
    with pytest.raises(ConfigError, match="'test' or 'dev'"):
        fixtures.parallel_rows("uz", "train")


def test_unknown_model_kind_names_the_valid_ones():
    with pytest.raises(ConfigError, match="llama, gemma"):
        fixtures.tiny_model("mamba", 100)
    with pytest.raises(ConfigError, match="llama, gemma"):
        fixtures.tiny_tokenizer(["a b"], "mamba")


def test_tiny_model_is_seeded_and_leaves_the_generator_seeded():
    a = fixtures.tiny_model("llama", 100, tied=False, seed=3)
    after_a = torch.rand(3)
    b = fixtures.tiny_model("llama", 100, tied=False, seed=3)
    assert torch.equal(torch.rand(3), after_a)              # the generator is left where the seed put it
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert a.lm_head.weight.data_ptr() != a.model.embed_tokens.weight.data_ptr()
    gemma = fixtures.tiny_model("gemma", 300)
    assert (gemma.config.pad_token_id, gemma.config.eos_token_id, gemma.config.bos_token_id) == (0, 1, 2)


def test_evaluation_model_is_deterministic_and_restores_the_generator():
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    model, tok = fixtures.evaluation_model()
    assert torch.equal(torch.rand(3), expected)
    again, _ = fixtures.evaluation_model(tokenizer=tok)
    assert all(torch.equal(x, y) for x, y in zip(model.state_dict().values(), again.state_dict().values()))
    assert (model.config.initializer_range, model.config.max_position_embeddings) == (0.2, 4096)
    assert model.config.pad_token_id == tok.pad_token_id == tok.eos_token_id
    for word in (" A", " B", " C", " D", " negative", " positive"):     # the evaluation templates are single tokens
        assert len(tok(word, add_special_tokens=False)["input_ids"]) == 1, word
