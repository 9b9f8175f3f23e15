import struct

import pytest

from paper_utils.errors import AssetError, ConfigError
from paper_utils.tokenization import HFTextTokenizer, TextTokenizer, load_text_tokenizer, read_o200k_ranks, tokenizer_family


def test_hf_wrapper_batches_without_special_tokens(byte_bpe_tokenizer):
    tok = HFTextTokenizer("tiny", byte_bpe_tokenizer)
    assert isinstance(tok, TextTokenizer)
    ids = tok.encode_batch(["The quick brown fox.", "Oʻzbekiston"])
    assert len(ids) == 2 and all(isinstance(i, int) for i in ids[0])
    assert tok.decode(ids[1]) == "Oʻzbekiston"          # byte-level: exact round trip
    assert tok.encode_batch([]) == []
    assert tokenizer_family(byte_bpe_tokenizer) == "byte_level_bpe"


def test_o200k_rank_file_parser(tmp_path):
    entries = [(b"a", 0), (b"hello", 1), (b"\xe2\x80", 2)]
    blob = struct.pack("<I", len(entries)) + b"".join(struct.pack("<H", len(t)) + t + struct.pack("<I", r)
                                                    for t, r in entries)
    (tmp_path / "o.vocab").write_bytes(blob)
    assert read_o200k_ranks(tmp_path / "o.vocab") == dict(entries)
    (tmp_path / "bad.vocab").write_bytes(blob + b"xx")
    with pytest.raises(AssetError, match="trailing bytes"):
        read_o200k_ranks(tmp_path / "bad.vocab")


def test_unknown_tokenizer_lists_supported():
    with pytest.raises(ConfigError) as err:
        load_text_tokenizer("gpt5")
    assert "llama3" in str(err.value) and "o200k" in str(err.value)


def test_hub_tokenizer_while_offline_names_the_alternative(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(AssetError, match="offline tokenizer"):
        load_text_tokenizer("meta-llama/Llama-3.2-1B")


def test_local_folder_loads(tmp_path, byte_bpe_tokenizer):
    byte_bpe_tokenizer.save_pretrained(tmp_path / "tok")
    tok = load_text_tokenizer(str(tmp_path / "tok"))
    assert tok.encode_batch(["hello"]) == HFTextTokenizer("x", byte_bpe_tokenizer).encode_batch(["hello"])


def test_fast_batch_equals_the_tokenizer_call(byte_bpe_tokenizer):
    tok = HFTextTokenizer("tiny", byte_bpe_tokenizer)
    texts = ["The quick brown fox.", "  spaced  out ", "Oʻzbekiston", "<|endoftext|> special", ""]
    assert tok.encode_batch(texts) == [byte_bpe_tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
