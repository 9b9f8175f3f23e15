"""Static subword-aware embeddings: fastText's model (CBOW or skipgram + char n-grams), trained with gensim.

Example::

    >>> from paper_utils.init.static_vectors import FastTextOptions, train_static_vectors
    >>> sentences = [["kitob", "va", "qalam"], ["kitob", "va", "daftar"]] * 20
    >>> sv = train_static_vectors(sentences, FastTextOptions(dim=8, epochs=2, min_count=1, bucket=1000),
    ...                           queries=["kitoblar", ""], cache=False)
    >>> sv.words[:2], sv.vectors.shape, sv.query_vectors.shape
    (['va', 'kitob'], (4, 8), (2, 8))
    >>> bool(sv.query_vectors[1].any())                 # no n-gram at all: the zero vector, as fastText
    False

WECHSEL and FOCUS both use fastText (Bojanowski et al. 2017). ``fasttext`` 0.9.3 must be compiled at install
time; gensim 4.4 ships manylinux wheels of the same model (Cython), so it is used here with fastText's own
defaults where gensim's differ: learning rate 0.05 decaying to 0, sub-sampling threshold 1e-4, negative
sampling from counts ** 0.5, 2,000,000 hash buckets, CBOW averaging its context. Training is seeded and
single-threaded (``workers=1``), hence deterministic. A word's vector is fastText's ``get_word_vector``: for a
vocabulary word the mean of its own vector and its n-gram vectors, for any other string the mean of its n-gram
vectors (zero when it has none). An n-gram that no vocabulary word contains was never trained: its bucket
holds its random initial vector, which carries no information, so by default (``unseen_ngrams="zero"``) it
counts as zero for query strings; a string made only of such n-grams then has the zero vector ("no vector"), as
with fastText's own one-thread training, which initializes only the first tenth of its matrix. Results are cached under ``paths.cache_dir()/static_vectors/``, keyed by a
hash of the sentences, the options and the query strings.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import ConfigError, DataError
from ..paths import cache_dir

CACHE_VERSION = 2


@dataclass(frozen=True)
class FastTextOptions:
    """fastText's hyper-parameters (its names; defaults are ``fasttext.train_unsupervised``'s)."""

    dim: int = 100
    epochs: int = 5
    min_count: int = 5
    window: int = 5
    negative: int = 5
    minn: int = 3
    maxn: int = 6
    model: str = "cbow"
    lr: float = 0.05
    sample: float = 1e-4
    bucket: int = 2_000_000
    seed: int = 0
    unseen_ngrams: str = "zero"    # query strings: n-gram buckets no training word uses count as zero ("random": kept)

    def check(self) -> "FastTextOptions":
        """ConfigError naming the first invalid option."""
        if self.model not in ("cbow", "skipgram"):
            raise ConfigError("model", self.model, "use 'cbow' or 'skipgram'")
        for key in ("dim", "epochs", "min_count", "window", "negative", "minn", "maxn", "bucket"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(key, value, "use an integer >= 1")
        if self.unseen_ngrams not in ("zero", "random"):
            raise ConfigError("unseen_ngrams", self.unseen_ngrams, "use 'zero' or 'random'")
        if self.maxn < self.minn:
            raise ConfigError("maxn", self.maxn, f"use an integer >= minn ({self.minn})")
        return self


@dataclass
class StaticVectors:
    """A trained model's vocabulary (frequent first), its word vectors and the vectors of the query strings."""

    words: list[str]
    counts: np.ndarray             # (n,) occurrences in the training text
    vectors: np.ndarray            # (n, dim) fastText word vectors of ``words``
    queries: list[str]
    query_vectors: np.ndarray      # (len(queries), dim) fastText word vectors (zero: no known n-gram)

    def index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.words)}


def fasttext_options(opts: Mapping[str, Any]) -> FastTextOptions:
    """The fastText options among an initializer's options (same names), checked."""
    return FastTextOptions(**{k: opts[k] for k in FastTextOptions.__dataclass_fields__ if k in opts}).check()


def _stable_hash(text: str) -> int:
    """gensim's ``hashfxn``: Python's ``hash`` of a str changes per process (PYTHONHASHSEED); crc32 does not."""
    return zlib.crc32(text.encode("utf-8"))


def _key(sentences: Sequence[Sequence[str]], options: FastTextOptions, queries: Sequence[str]) -> str:
    h = hashlib.sha256(json.dumps({"v": CACHE_VERSION, **dataclasses.asdict(options)}, sort_keys=True).encode())
    for sentence in sentences:
        h.update("\x1f".join(sentence).encode("utf-8", "surrogatepass") + b"\x1e")
    h.update(b"\x1d")
    for q in queries:
        h.update(q.encode("utf-8", "surrogatepass") + b"\x1e")
    return h.hexdigest()[:32]


def _query_vectors(wv, queries: Sequence[str], unseen_ngrams: str) -> np.ndarray:
    from gensim.models.fasttext import ft_ngram_hashes

    seen = np.ones(wv.bucket, dtype=bool)
    if unseen_ngrams == "zero":                      # buckets no vocabulary word trains keep their random init
        seen[:] = False
        for w in wv.index_to_key:
            seen[ft_ngram_hashes(w, wv.min_n, wv.max_n, wv.bucket)] = True
    out = np.zeros((len(queries), wv.vector_size), dtype=np.float32)
    for r, q in enumerate(queries):
        if q in wv.key_to_index:
            out[r] = wv.vectors[wv.key_to_index[q]]
        elif q:
            hashes = ft_ngram_hashes(q, wv.min_n, wv.max_n, wv.bucket)
            if len(hashes):
                hashes = np.asarray(hashes)
                out[r] = (wv.vectors_ngrams[hashes] * seen[hashes, None]).sum(0) / len(hashes)
    return out


def _train(sentences: Sequence[Sequence[str]], options: FastTextOptions, queries: Sequence[str]) -> StaticVectors:
    from gensim.models import FastText

    sentences = [list(s) for s in sentences if len(s)]
    if not sentences:
        raise DataError("no text to train static embeddings on: pass non-empty texts")
    model = FastText(vector_size=options.dim, window=options.window, min_count=options.min_count,
                     sg=int(options.model == "skipgram"), negative=options.negative, ns_exponent=0.5, cbow_mean=1,
                     alpha=options.lr, min_alpha=0.0, sample=options.sample, min_n=options.minn, max_n=options.maxn,
                     bucket=options.bucket, epochs=options.epochs, workers=1, seed=options.seed, hashfxn=_stable_hash,
                     sorted_vocab=1)
    model.build_vocab(corpus_iterable=sentences)
    if not model.wv.index_to_key:
        raise DataError(f"no word occurs min_count={options.min_count} times in the training text; pass more text "
                        "or a smaller min_count")
    model.train(corpus_iterable=sentences, total_examples=len(sentences), epochs=options.epochs)
    wv = model.wv
    words = list(wv.index_to_key)
    counts = np.array([wv.get_vecattr(w, "count") for w in words], dtype=np.int64)
    return StaticVectors(words, counts, np.asarray(wv.vectors, dtype=np.float32), list(queries),
                         _query_vectors(wv, queries, options.unseen_ngrams))


def train_static_vectors(sentences: Sequence[Sequence[str]], options: FastTextOptions = FastTextOptions(),
                         queries: Sequence[str] = (), cache: bool = True) -> StaticVectors:
    """fastText vectors of the words of ``sentences`` (lists of words) and of ``queries`` (cached, see module doc)."""
    options.check()
    queries = list(queries)
    path: Path | None = None
    if cache:
        path = cache_dir() / "static_vectors" / f"{_key(sentences, options, queries)}.npz"
        if path.exists():
            with np.load(path, allow_pickle=False) as z:
                return StaticVectors(z["words"].tolist(), z["counts"], z["vectors"], z["queries"].tolist(),
                                     z["query_vectors"])
    sv = _train(sentences, options, queries)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, words=np.array(sv.words, dtype=str), counts=sv.counts, vectors=sv.vectors,
                 queries=np.array(sv.queries, dtype=str), query_vectors=sv.query_vectors)
        tmp.replace(path)
    return sv
