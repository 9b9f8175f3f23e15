import pytest

from paper_utils.errors import DataError
from paper_utils.fertility import COLUMNS, fertility, fertility_table, words
from paper_utils.tokenization import HFTextTokenizer


class CharTokenizer:
    """One token per character: every statistic can be computed by hand."""

    name = "chars"
    vocab_size = 0x110000

    def encode_batch(self, texts):
        return [[ord(c) for c in t] for t in texts]

    def decode(self, ids):
        return "".join(map(chr, ids))


def test_word_segmentation_keeps_apostrophes_and_drops_punctuation():
    assert words("Oʻzbekiston — go'zal yurt!") == ["Oʻzbekiston", "go'zal", "yurt"]
    assert words("한국어 문장입니다.") == ["한국어", "문장입니다"]
    assert words("தமிழ் மொழி") == ["தமிழ்", "மொழி"]       # combining marks stay inside words
    assert words("e-mail, 2024") == ["e-mail", "2024"]


def test_fertility_by_hand():
    stats = fertility(CharTokenizer(), ["ab cd!", "efg"], english=["a", "bc"])
    assert stats["words"] == 3 and stats["tokens"] == 9
    assert stats["fertility"] == pytest.approx(3.0)
    assert stats["tokens_per_whitespace_word"] == pytest.approx(3.0)
    # mid-sentence " ab" -> space token dropped -> 2 tokens: all words are continued
    assert stats["continued_share"] == 1.0
    assert stats["parity"] == pytest.approx(9 / 3)
    assert stats["bytes_per_token"] == pytest.approx(1.0)


def test_fertility_without_the_per_word_pass_only_drops_continued_share():
    texts = ["ab cd !", "efg — h"]
    full, quick = fertility(CharTokenizer(), texts), fertility(CharTokenizer(), texts, per_word=False)
    assert quick["continued_share"] is None
    assert {k: v for k, v in quick.items() if k != "continued_share"} == \
        {k: v for k, v in full.items() if k != "continued_share"}
    assert full["fertility"] == 14 / 4                       # 14 characters, 4 words


def test_fertility_real_bpe_is_consistent(byte_bpe_tokenizer):
    tok = HFTextTokenizer("tiny", byte_bpe_tokenizer)
    en = fertility(tok, ["The quick brown fox jumps over the lazy dog."])
    uz = fertility(tok, ["Tez jigarrang tulki dangasa itning ustidan sakraydi."])
    assert en["fertility"] < uz["fertility"]
    assert 0 <= en["continued_share"] < uz["continued_share"] <= 1


def test_table_columns_and_english_parity(byte_bpe_tokenizer):
    tok = HFTextTokenizer("tiny", byte_bpe_tokenizer)
    df = fertility_table({"tiny": tok}, {"en": ["The quick brown fox jumps over the lazy dog."],
                                            "uz": ["Tez jigarrang tulki dangasa itning ustidan sakraydi."]},
                         english={"uz": ["The quick brown fox jumps over the lazy dog."]})
    assert tuple(df.columns) == COLUMNS
    assert df.set_index("language").loc["en", "parity"] == 1.0
    assert df.set_index("language").loc["uz", "parity"] > 1.0


@pytest.mark.parametrize("texts", [[], ["", "   "], ["!!! ..."]])
def test_empty_or_wordless_corpus_is_rejected(texts):
    with pytest.raises(DataError):
        fertility(CharTokenizer(), texts)


def test_parity_needs_aligned_english():
    with pytest.raises(DataError, match="same parallel sentences"):
        fertility(CharTokenizer(), ["a", "b"], english=["a"])


def test_invalid_utf8_file_names_file_and_line(tmp_path):
    from paper_utils.io import read_lines

    path = tmp_path / "uz.txt"
    path.write_bytes("Salom\nyaxshi\n".encode() + b"caf\xe9 latin1\n")
    with pytest.raises(DataError, match=r"uz.txt, line 3: not valid UTF-8"):
        read_lines(path)


def test_unpaired_surrogate_text_is_rejected():
    with pytest.raises(DataError, match=r"texts\[1\]"):
        fertility(CharTokenizer(), ["ok", "bad \udcff text"])
