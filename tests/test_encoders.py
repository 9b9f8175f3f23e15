import numpy as np
import pytest

from paper_utils.encoders import CachedEncoder, load_encoder
from paper_utils.errors import AssetError, ConfigError


def test_cached_encoder_normalizes_orders_and_caches(tmp_path):
    calls = []

    def raw(batch):
        calls.append(list(batch))
        return np.array([[len(t), 1.0] for t in batch])

    enc = CachedEncoder("fake", 2, raw, batch_size=2, cache=tmp_path)
    v = enc.encode(["a", "bbb", "a", "cc"])
    assert v.shape == (4, 2) and np.allclose(np.linalg.norm(v, axis=1), 1)
    assert np.allclose(v[0], v[2])
    assert sum(len(c) for c in calls) == 3            # duplicates encoded once
    again = CachedEncoder("fake", 2, raw, cache=tmp_path)   # a new process reads the disk cache
    assert np.allclose(again.encode(["cc", "a"]), v[[3, 0]])
    assert sum(len(c) for c in calls) == 3
    assert enc.encode([]).shape == (0, 2)


def test_unknown_encoder():
    with pytest.raises(ConfigError, match="e5-small"):
        load_encoder("laser")


def test_labse_offline_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(AssetError, match="e5-small"):
        load_encoder("labse")
