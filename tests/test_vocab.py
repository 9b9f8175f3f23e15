"""Tests of paper_utils.vocab on tiny tokenizers trained here (both families), no network."""
from __future__ import annotations

import json

import pytest
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from paper_utils.errors import ConfigError, DataError
from paper_utils.vocab import extend_tokenizer, learn_candidates, token_savings, tokenizer_family

ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "Which of the following statements about the market is true?",
    "A student measures the temperature of water in a beaker every minute.",
    "In the United States, the president is elected for a term of four years.",
    "What is the capital of France? Paris is the answer, isn't it?",
    "Photosynthesis converts light energy into chemical energy in plants.",
    "She said that they'd arrived, but we'll see whether it's true.",
] * 20
# One English question mentions the place "Zanzibar": target merges building it must go.
ENGLISH_EVAL = ENGLISH[:7] + ["Where is Zanzibar located, and is zanzibar an island?"]
TARGET = [
    "Bu kitob juda qiziqarli va foydali bo'ldi.",
    "Oʻzbekiston Respublikasi poytaxti Toshkent shahri.",
    "Men maktabga boraman, u esa ishga boradi.",
    "Kitoblarimizni o‘qiymiz va yozamiz, to’g’ri javob.",
    "zanzibar zanzibarlik zanzibarliklar zanzibarda zanzibarga",
    "Saya suka membaca buku di perpustakaan setiap hari.",
    "Mereka sedang belajar bahasa Melayu bersama-sama.",
    "한국어 문장을 토큰화합니다. 한국어는 재미있습니다.",
] * 15
HELDOUT = [
    "Kitobni o'qiymiz va maktabga boramiz.",
    "Toshkent shahri juda katta, zanzibarliklar ham keladi.",
    "Saya membaca buku bersama-sama.",
    "한국어 문장은 재미있습니다.",
]
ROUNDTRIP = ["Oʻzbekiston", "o‘qiymiz", "to’g’ri", "bo'ldi", "한국어는 재미있습니다", "bersama-sama, hari ini."]


def _bytelevel() -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(ENGLISH, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>")


def _sentencepiece(style: str = "metaspace", model: str = "bpe") -> PreTrainedTokenizerFast:
    """SentencePiece-style: '▁' metaspace, byte fallback (BPE) or Unigram."""
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    if model == "bpe":
        tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
        trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<unk>", "<s>", "</s>"] + byte_tokens,
                                      show_progress=False)
    else:
        tok = Tokenizer(models.Unigram())
        trainer = trainers.UnigramTrainer(vocab_size=400, special_tokens=["<unk>", "<s>", "</s>"],
                                          unk_token="<unk>", show_progress=False)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    tok.train_from_iterator(ENGLISH, trainer=trainer)
    spec = json.loads(tok.to_str())
    spec["added_tokens"] = [t for t in spec["added_tokens"] if t["content"] in ("<unk>", "<s>", "</s>")]
    if style == "llama2":  # Llama-2 / Mistral v1 layout: normalizer does the '▁', no pre-tokenizer
        spec["pre_tokenizer"] = None
        spec["normalizer"] = json.loads(normalizers.Sequence(
            [normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")]).__getstate__())
    tok = Tokenizer.from_str(json.dumps(spec))
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>")


@pytest.fixture(scope="module")
def bytelevel():
    return _bytelevel()


@pytest.fixture(scope="module", params=["metaspace", "llama2"])
def spm(request):
    return _sentencepiece(request.param)


def _ids(tok, texts):
    return [tok(t)["input_ids"] for t in texts]


def test_family_detection(bytelevel, spm):
    assert tokenizer_family(bytelevel) == "byte_level_bpe"
    assert tokenizer_family(spm) == "sentencepiece_bpe"
    assert tokenizer_family(_sentencepiece(model="unigram")) == "unigram"


@pytest.mark.parametrize("family", ["bytelevel", "spm"])
def test_extension_keeps_english_and_cuts_fertility(family, bytelevel, spm, tmp_path):
    base = bytelevel if family == "bytelevel" else spm
    ext, rep = extend_tokenizer(base, TARGET, 60, ENGLISH_EVAL, heldout_texts=HELDOUT)
    assert rep["added"] == 60 == len(ext) - len(base)
    assert rep["english_identical_share"] == 1.0
    assert _ids(ext, ENGLISH_EVAL) == _ids(base, ENGLISH_EVAL)
    assert rep["fertility_after"] < rep["fertility_before"] and rep["fertility_reduction"] > 0.1
    assert rep["roundtrip_failures"] == []
    for text in ROUNDTRIP + TARGET[:8]:
        assert ext.decode(ext(text, add_special_tokens=False)["input_ids"]) == text
    json.dumps(rep)  # serialisable
    # save and reload with AutoTokenizer: same ids
    ext.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    probe = ENGLISH_EVAL + TARGET[:8] + HELDOUT + ROUNDTRIP
    assert _ids(again, probe) == _ids(ext, probe)


def test_new_ids_follow_added_special_tokens():
    """Llama-3 layout: special tokens sit above the model vocabulary; new ids must not collide."""
    base = _bytelevel()
    base.add_special_tokens({"additional_special_tokens": ["<|reserved_0|>", "<|reserved_1|>"]})
    ext, rep = extend_tokenizer(base, TARGET, 20, ENGLISH_EVAL)
    top_special = max(base.convert_tokens_to_ids(["<|reserved_0|>", "<|reserved_1|>"]))
    new_ids = set(ext.get_vocab().values()) - set(base.get_vocab().values())
    assert len(new_ids) == 20 and min(new_ids) > top_special
    assert ext.convert_tokens_to_ids("<|reserved_1|>") == top_special
    assert len(ext) == max(ext.get_vocab().values()) + 1 == len(base) + 20  # embedding rows to allocate


def test_english_protection_learns_around_english_pairs(bytelevel):
    """'zanzibar' is frequent in the target text and occurs in one English question."""
    free, _ = extend_tokenizer(bytelevel, TARGET, 60, ENGLISH)  # English without zanzibar
    assert "Ġzanzibar" in free.get_vocab()
    assert "Ġzanzibarlik" in free.get_vocab()  # built on top of Ġzanzibar
    ext, rep = extend_tokenizer(bytelevel, TARGET, 60, ENGLISH_EVAL)
    assert rep["refused_for_english"] >= 1          # learning went around the pairs of English 'zanzibar'
    assert rep["dropped_for_english"] == 0           # so nothing learned had to be dropped afterwards
    assert "Ġzanzibar" not in ext.get_vocab()
    assert rep["english_identical_share"] == 1.0 and rep["added"] == 60
    assert _ids(ext, ENGLISH_EVAL) == _ids(bytelevel, ENGLISH_EVAL)


def test_candidates_in_base_vocabulary_space(bytelevel):
    cands = learn_candidates(bytelevel, TARGET, 30)
    assert len(cands) >= 30                                  # at least max_new (with headroom)
    vocab = bytelevel.get_vocab()
    have = set(vocab)
    for c in cands:
        assert c.left in have and c.right in have and c.token == c.left + c.right
        have.add(c.token)
    assert any(c.token.startswith("Ġ") for c in cands)  # the leading-space marker is the base's


def test_token_savings_ranks_new_tokens(bytelevel):
    ext, _ = extend_tokenizer(bytelevel, TARGET, 40, ENGLISH)
    ranked = token_savings(ext, bytelevel, HELDOUT + TARGET[:8])
    assert ranked and all(saved >= 0 for _, _, saved in ranked)
    assert [r[2] for r in ranked] == sorted((r[2] for r in ranked), reverse=True)


def test_sentencepiece_adds_bytefallback_characters():
    base = _sentencepiece()
    assert "한" not in base.get_vocab()
    ext, rep = extend_tokenizer(base, TARGET, 80, ENGLISH_EVAL)
    assert "한" in ext.get_vocab()  # needed by merges over Hangul
    assert rep["english_identical_share"] == 1.0 and rep["roundtrip_failures"] == []


def test_unigram_adds_scored_pieces():
    base = _sentencepiece(model="unigram")
    ext, rep = extend_tokenizer(base, TARGET, 30, ENGLISH_EVAL, heldout_texts=HELDOUT)
    assert rep["added"] == 30 and rep["english_identical_share"] == 1.0
    assert rep["fertility_after"] < rep["fertility_before"]
    assert _ids(ext, ENGLISH_EVAL) == _ids(base, ENGLISH_EVAL)


def test_added_tokens_fallback_is_explicit(bytelevel):
    ext, rep = extend_tokenizer(bytelevel, TARGET, 20, ENGLISH_EVAL, method="added_tokens")
    assert rep["method"] == "added_tokens" and rep["english_identical_share"] == 1.0
    assert len(ext.get_added_vocab()) > len(bytelevel.get_added_vocab())


@pytest.mark.parametrize("texts", [[], ["", "  \n\t "]])
def test_empty_corpus(bytelevel, texts):
    with pytest.raises(DataError, match="empty or whitespace-only"):
        extend_tokenizer(bytelevel, texts, 10, ENGLISH)
    with pytest.raises(DataError, match="english_texts"):
        extend_tokenizer(bytelevel, TARGET, 10, texts)


@pytest.mark.parametrize("budget", [0, -5, 2.5, True])
def test_bad_budget(bytelevel, budget):
    with pytest.raises(ConfigError, match="budget"):
        extend_tokenizer(bytelevel, TARGET, budget, ENGLISH)


def test_budget_above_candidates(bytelevel):
    with pytest.raises(ConfigError, match=r"yields only \d+ new tokens"):
        extend_tokenizer(bytelevel, ["kitob kitoblar"], 5000, ENGLISH)


def test_unsupported_tokenizer():
    wp = Tokenizer(models.WordPiece({"[UNK]": 0, "a": 1}, unk_token="[UNK]"))
    wp.pre_tokenizer = pre_tokenizers.Whitespace()
    with pytest.raises(ConfigError, match="byte-level BPE") as err:
        extend_tokenizer(PreTrainedTokenizerFast(tokenizer_object=wp), TARGET, 10, ENGLISH)
    assert "WordPiece" in str(err.value)
    with pytest.raises(ConfigError, match="fast tokenizer"):
        extend_tokenizer(object(), TARGET, 10, ENGLISH)


def test_unknown_method(bytelevel):
    with pytest.raises(ConfigError, match="method"):
        extend_tokenizer(bytelevel, TARGET, 10, ENGLISH, method="add_tokens")


def test_target_weights_count_a_text_that_many_times():
    base = _bytelevel()
    texts = ["kitoblarimizdan", "uylarimizdan", "maktablarimizdan", "qalamchalar"]
    plain = learn_candidates(base, texts + ["qalamchalar"] * 9, max_new=5)
    weighted = learn_candidates(base, texts, max_new=5, target_weights=[1, 1, 1, 10])
    assert [c.token for c in weighted] == [c.token for c in plain]       # weight == repetition
    with pytest.raises(ConfigError, match="target_weights"):
        learn_candidates(base, texts, max_new=5, target_weights=[1, 1])
    with pytest.raises(ConfigError, match="target_weights"):
        extend_tokenizer(base, texts, 2, english_texts=["the cat"], target_weights=[1, 0, 1, 1])


# --- apostrophe words (Uzbek o' g') ------------------------------------------------------------

APOSTROPHE_ENGLISH = ENGLISH + ["C'mon, don't say O'Brien's rock 'n' roll isn't John's, y'all.",
                                "'Tis the season; ma'am, it's o'clock and they're here."]
UZ = ["To'g'ri javob: o'zbek tili, g'isht va ma'lumot to'g'risida.", "o'zbekcha ma'lumotlar to'g'ri"] * 30


def _llama3_style() -> PreTrainedTokenizerFast:
    """Byte-level BPE with Llama-3's Split regex (case-insensitive contractions) + ByteLevel."""
    regex = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
             r"|\s*[\r\n]+|\s+(?!\S)|\s+")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(pattern=__import__("tokenizers").Regex(regex), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|end|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(APOSTROPHE_ENGLISH + ["lemon Cmon demon"] * 60, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|end|>")


@pytest.mark.parametrize("style", ["gpt2", "llama3"])
def test_join_apostrophe_words_keeps_ids_and_joins_units(style, bytelevel):
    from paper_utils.vocab import join_apostrophe_words

    base = bytelevel if style == "gpt2" else _llama3_style()
    joined = join_apostrophe_words(base)
    texts = APOSTROPHE_ENGLISH + UZ
    assert _ids(joined, texts) == _ids(base, texts)          # same merges: ids unchanged everywhere
    units = [u for u, _ in joined.backend_tokenizer.pre_tokenizer.pre_tokenize_str("to'g'ri C'mon o'zbek")]
    assert units[0] == "to'g'ri" and units[-1] == "Ġo'zbek"  # Uzbek words whole
    assert "C'mon" not in "".join(units[1:2])                # English contraction + letters: cut as before


@pytest.mark.parametrize("style", ["gpt2", "llama3"])
def test_extension_with_apostrophe_words(style, bytelevel, tmp_path):
    base = bytelevel if style == "gpt2" else _llama3_style()
    plain, rep0 = extend_tokenizer(base, UZ, 25, APOSTROPHE_ENGLISH, heldout_texts=UZ[:2])
    ext, rep = extend_tokenizer(base, UZ, 25, APOSTROPHE_ENGLISH, heldout_texts=UZ[:2], apostrophe_words=True)
    assert rep["apostrophe_words"] == "on" and rep0["apostrophe_words"] == "off"
    assert rep["english_identical_share"] == 1.0 and not rep["roundtrip_failures"]
    assert _ids(ext, APOSTROPHE_ENGLISH) == _ids(base, APOSTROPHE_ENGLISH)
    assert any("'" in t[1:-1] for t in ext.convert_ids_to_tokens(ext(" to'g'ri")["input_ids"]))  # across the '
    assert len(ext(" to'g'ri")["input_ids"]) < len(plain(" to'g'ri")["input_ids"])
    assert rep["fertility_after"] < rep0["fertility_after"]
    assert all(ext.decode(ext(t)["input_ids"]) == t for t in UZ + ROUNDTRIP)
    ext.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    assert _ids(again, UZ + APOSTROPHE_ENGLISH) == _ids(ext, UZ + APOSTROPHE_ENGLISH)


def test_apostrophe_words_off_where_not_needed_or_unsafe(spm, bytelevel, monkeypatch):
    _, rep = extend_tokenizer(spm, UZ, 10, APOSTROPHE_ENGLISH, apostrophe_words=True)
    assert rep["apostrophe_words"].startswith("off: a sentencepiece_bpe")
    from paper_utils.vocab import apostrophes

    monkeypatch.setattr(apostrophes, "_CONTRACTION", "(?:zzz)")   # would join C'mon -> English changes
    with pytest.warns(UserWarning, match="apostrophe_words=True ignored"):
        _, rep = extend_tokenizer(_llama3_style(), UZ, 10, APOSTROPHE_ENGLISH, apostrophe_words=True)
    assert rep["apostrophe_words"].startswith("off: the joined pre-tokenizer alone changes")
    assert rep["english_identical_share"] == 1.0


def test_join_apostrophe_words_rejects_other_pretokenizers(spm, bytelevel):
    from paper_utils.vocab import join_apostrophe_words

    with pytest.raises(ConfigError, match="apostrophe_words"):
        join_apostrophe_words(spm)
    spec = json.loads(bytelevel.backend_tokenizer.to_str())
    spec["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    odd = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(json.dumps(spec)))
    with pytest.raises(ConfigError, match="add_prefix_space=False"):
        join_apostrophe_words(odd)


@pytest.mark.parametrize("family", ["bytelevel", "spm"])
def test_report_fertility_is_the_fertility_module_s(family, bytelevel, spm):
    """One definition: the report's fertility is paper_utils.fertility's (tokens per regex word), and the cut
    is the share of held-out tokens saved (independent of the word rule)."""
    from paper_utils.fertility import fertility, words
    from paper_utils.tokenization import HFTextTokenizer

    base = bytelevel if family == "bytelevel" else spm
    held = HELDOUT + ["Kitob — juda yaxshi , rahmat !"]   # whitespace chunks (6) and words (4) differ here
    ext, rep = extend_tokenizer(base, TARGET, 60, ENGLISH_EVAL, heldout_texts=held)
    before, after = fertility(HFTextTokenizer("base", base), held), fertility(HFTextTokenizer("ext", ext), held)
    assert rep["fertility_before"] == before["fertility"] and rep["fertility_after"] == after["fertility"]
    tokens = [sum(len(t(x, add_special_tokens=False)["input_ids"]) for x in held) for t in (base, ext)]
    n_words = sum(len(words(x)) for x in held)
    assert n_words < sum(len(x.split()) for x in held)
    assert rep["fertility_before"] == tokens[0] / n_words and rep["fertility_after"] == tokens[1] / n_words
    assert rep["fertility_reduction"] == 1 - tokens[1] / tokens[0]
