"""BPE continued around protected pairs: merges of two base tokens that sit side by side in English are never learned.

Example::

    >>> words = {("Ġk", "it", "ob"): 5, ("Ġk", "it", "ob", "lar"): 4, ("Ġk", "it"): 1}
    >>> guarded_merges(words, 3, protected={("Ġk", "it")}, base={"Ġk", "it", "ob", "lar"})
    [('it', 'ob'), ('Ġk', 'itob'), ('Ġkitob', 'lar')]
    >>> guarded_merges(words, 3, protected=set(), base={"Ġk", "it", "ob", "lar"})
    [('Ġk', 'it'), ('Ġkit', 'ob'), ('Ġkitob', 'lar')]

Why it keeps English: new merges rank after every base merge, so on any text the first new merge that can fire
joins two *base* tokens adjacent in the base tokenization. If no learned merge of two base tokens is a pair
adjacent in the English protection set, no new merge can ever start on that English, and merges that involve
a new token are free. Dropping such merges after learning (:mod:`paper_utils.vocab.english`) also loses every
merge built on them (``Ġk+it`` gone takes ``Ġkit+ob`` and ``Ġkitob+lar`` along); learning around them finds
another order (``it+ob``, ``Ġk+itob``, ...) that reaches the same target words.

The learner is a plain greedy BPE over weighted words (the most frequent allowed pair first, ties by the pair's
text), with a pair index and a lazy heap so a few hundred thousand words and ~12,000 merges take seconds.
"""
from __future__ import annotations

import heapq
from collections import defaultdict
from typing import Callable, Mapping, Sequence


def guarded_merges(words: Mapping[Sequence[str], int], n_merges: int, protected: set[tuple[str, str]],
                   base: set[str], min_frequency: int = 2,
                   allowed: Callable[[str, str], bool] | None = None,
                   refused_out: set | None = None) -> list[tuple[str, str]]:
    """Learn up to ``n_merges`` merges over ``words`` (base-token sequences -> weight), in rank order.

    A merge of two ``base`` tokens is skipped when the pair is in ``protected``; ``allowed(left, right)``
    (optional) may refuse any other merge (e.g. a token without a letter). Pairs seen fewer than
    ``min_frequency`` times (weighted) are not merged. ``refused_out`` (a set) receives the pairs refused.
    """
    seqs = [list(w) for w in words]
    weight = [int(n) for n in words.values()]
    counts: dict[tuple[str, str], int] = defaultdict(int)
    where: dict[tuple[str, str], set[int]] = defaultdict(set)
    for i, seq in enumerate(seqs):
        for p in zip(seq, seq[1:]):
            counts[p] += weight[i]
            where[p].add(i)
    heap = [(-c, p) for p, c in counts.items()]
    heapq.heapify(heap)
    refused: set[tuple[str, str]] = set()
    merges: list[tuple[str, str]] = []
    while heap and len(merges) < n_merges:
        neg, p = heapq.heappop(heap)
        if -neg != counts.get(p, 0) or p in refused:
            continue                                             # stale entry, or refused before
        if -neg < min_frequency:
            break
        a, b = p
        if (a in base and b in base and p in protected) or (allowed is not None and not allowed(a, b)):
            refused.add(p)
            continue
        merges.append(p)
        new = a + b
        touched: dict[tuple[str, str], None] = {}
        for i in list(where.pop(p, ())):
            seq, w = seqs[i], weight[i]
            for q in zip(seq, seq[1:]):                          # forget the word's old pairs
                counts[q] -= w
                where[q].discard(i)
                touched[q] = None
            out, j = [], 0
            while j < len(seq):
                if j + 1 < len(seq) and seq[j] == a and seq[j + 1] == b:
                    out.append(new)
                    j += 2
                else:
                    out.append(seq[j])
                    j += 1
            seqs[i] = out
            for q in zip(out, out[1:]):
                counts[q] += w
                where[q].add(i)
                touched[q] = None
        counts.pop(p, None)
        for q in touched:
            if counts.get(q, 0) > 0 and q not in refused:
                heapq.heappush(heap, (-counts[q], q))
    if refused_out is not None:
        refused_out.update(refused)
    return merges
