"""Asset resolution logic without downloads: names, Hub-while-offline, local folders."""
import pytest

from paper_utils import assets
from paper_utils.errors import AssetError, ConfigError


def test_unknown_model_lists_valid_names():
    with pytest.raises(ConfigError) as err:
        assets.get_model_asset("llama-9b")
    assert "smollm2-135m" in str(err.value) and "gemma-2-2b" in str(err.value)


def test_hub_model_while_offline_names_offline_alternative(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(AssetError) as err:
        assets.load_model("llama-3.2-1b")
    assert "meta-llama/Llama-3.2-1B" in str(err.value) and "smollm2-135m" in str(err.value)
    assert "demo" in str(err.value)


def test_local_model_folder_round_trip(tmp_path, byte_bpe_tokenizer):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=len(byte_bpe_tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=True)
    torch.manual_seed(0)
    LlamaForCausalLM(cfg).save_pretrained(tmp_path / "m")
    with pytest.raises(AssetError, match="tokenizer"):
        assets.load_model(str(tmp_path / "m"))
    byte_bpe_tokenizer.save_pretrained(tmp_path / "m")
    model, tok = assets.load_model(str(tmp_path / "m"))
    assert model.config.vocab_size == len(tok)
    assert not model.training


def test_local_folder_without_config_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="config.json"):
        assets.model_dir(str(tmp_path))


def test_registry_knows_offline_and_hub_models():
    assert set(assets.OFFLINE_MODELS) == {"smollm2-135m", "gemma3-270m"}
    for name in ("llama-3.2-1b", "llama-3.2-3b", "gemma-2-2b", "gemma-2-2b-it"):
        assert assets.MODELS[name].hub_id
