"""Step-0 diagnostics of an embedding patch, before any training.

Example::

    >>> from paper_utils.config import load_preset
    >>> from paper_utils.diagnostics import load_setup, step0
    >>> setup = load_setup(load_preset("smoke"), "uz", "smollm2-135m")      # tiny random model, seconds
    >>> result = step0(setup, ["mean", "fvt", "bxod"], write=False, log=lambda *line: None)
    >>> list(result.table["method"])
    ['base', 'mean', 'fvt', 'bxod']

For each method, :func:`step0` measures

* **held-out bits per byte** of the patched model on target-language text encoded with the
  extended tokenizer (:func:`paper_utils.bpb.bits_per_byte`; tokenizer-independent, so it compares
  to the base model reading the same text with the base tokenizer);
* **English next-token KL** ``KL(base || patched)`` on English text (MMLU questions) and the share
  of English positions where a new token becomes the argmax ("new tokens dominate"). The extended
  tokenizer cuts English exactly as the base one (``paper_utils.vocab``), so the patched model sees
  the same ids and computes the same hidden states; only the softmax gains the new rows. Hence,
  per position, ``KL = logsumexp(z_base, z_new) - logsumexp(z_base) = -log(1 - new-token mass)``,
  computed from the base model's final hidden states once and a matrix product per method
  (tested equal to the full forward pass). Documents whose English tokenization changed are
  excluded and counted;
* **seconds** to initialize, and the per-token provenance (nearest-anchor tables).

Each method writes ``results/<preset>/<language>/<model>/init/<method>.json`` (and its patch under
``init/patches/<method>/``); the base model's reference goes to ``init/base.json``;
:func:`paired_tests` writes ``init/significance.csv`` (``bxod`` vs each rival on per-document bpb).

:func:`load_setup` gathers model, tokenizers and texts for a preset: ``fixtures`` (the smoke
preset) builds a tiny random Llama or Gemma model and a byte-level BPE trained on the fixture
text (:mod:`paper_utils.fixtures`), extended with :func:`paper_utils.vocab.extend_tokenizer`, and a
spelling-only :class:`~paper_utils.embedding_init.NgramHashEncoder`; ``offline``/``hub`` load the real model,
the stage-2 tokenizer (or build it), the held-out target text, MMLU questions, the lexicon and the
multilingual encoder.
"""
from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from .bpb import bits_per_byte
from .config import Preset
from .embedding_init import EmbeddingPatch, _jsonable, anchor_table, initialize, patched
from .errors import ConfigError, DataError
from .fixtures import tiny_model, tiny_tokenizer
from .io import read_json, write_json
from .layout import ModelLayout
from .registry import initializer, initializers, resolve_variant
from .study import data_source, heldout_parallel


# ------------------------------------------------------------------------------------------------
# English: KL to the base model, new-token argmax share

@dataclass
class EnglishReference:
    """Final hidden states of the base model on English positions, and the base log-normaliser."""

    hidden: Any                   # (positions, hidden) float32
    lse: Any                      # (positions,) logsumexp of the base logits
    max_logit: Any                # (positions,)
    documents: int
    excluded: int                 # documents whose English tokenization the extension changed
    softcap: float | None = None


def _hidden_states(model, input_ids, mask):
    out = model.base_model(input_ids=input_ids, attention_mask=mask)
    return out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]


def _logits(hidden, rows, softcap):
    import torch

    z = hidden @ rows.T
    return z if not softcap else softcap * torch.tanh(z / softcap)


def _chunk(columns: int) -> int:
    """Positions per logit block (about 2**25 floats)."""
    return max(16, (1 << 25) // max(columns, 1))


def _output_matrix(model):
    out = model.get_output_embeddings()
    return (out.weight if out is not None else model.get_input_embeddings().weight).detach().float()


def english_reference(model, base_tokenizer, texts: Sequence[str], extended_tokenizer=None, batch_size: int = 8,
                      max_tokens: int = 128) -> EnglishReference:
    """Run the base model once over ``texts`` (BOS + tokens, truncated at ``max_tokens``)."""
    import torch

    from .bpb import _context_id

    texts = [t for t in texts if t and t.strip()]
    if not texts:
        raise DataError("english_texts is empty: the English KL needs English text (e.g. MMLU questions)")
    ids = base_tokenizer(texts, add_special_tokens=False)["input_ids"]
    excluded = 0
    if extended_tokenizer is not None:
        ext_ids = extended_tokenizer(texts, add_special_tokens=False)["input_ids"]
        keep = [a == b for a, b in zip(ids, ext_ids)]
        excluded = keep.count(False)
        ids = [s for s, k in zip(ids, keep) if k]
    ctx = _context_id(base_tokenizer)
    seqs = [[ctx] + s[:max_tokens - 1] for s in ids if s]
    softcap = getattr(model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config,
                      "final_logit_softcapping", None)
    device = next(model.parameters()).device
    w_out = _output_matrix(model)
    chunk = _chunk(w_out.shape[0])
    hiddens, lses, maxes = [], [], []
    was = model.training
    model.eval()
    with torch.no_grad():
        order = sorted(range(len(seqs)), key=lambda k: -len(seqs[k]))
        for s in range(0, len(order), batch_size):
            batch = [seqs[k] for k in order[s:s + batch_size]]
            width = max(len(b) for b in batch)
            inp = torch.zeros((len(batch), width), dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, b in enumerate(batch):
                inp[r, :len(b)] = torch.tensor(b)
                mask[r, :len(b)] = 1
            h = _hidden_states(model, inp.to(device), mask.to(device)).float()
            # positions that predict a text token: every real position but the last of each row
            sel = mask.clone()
            sel[torch.arange(len(batch)), mask.sum(1) - 1] = 0
            h = h[sel.bool().to(device)]
            for c in range(0, h.shape[0], chunk):
                z = _logits(h[c:c + chunk], w_out, softcap)
                lses.append(torch.logsumexp(z, -1))
                maxes.append(z.max(-1).values)
            hiddens.append(h)
    model.train(was)
    if not hiddens:
        raise DataError("no English positions to score (all texts empty or tokenization changed)")
    return EnglishReference(torch.cat(hiddens), torch.cat(lses), torch.cat(maxes), len(seqs), excluded, softcap)


def english_shift(ref: EnglishReference, patch: EmbeddingPatch) -> dict[str, float]:
    """KL(base || patched) per English position (mean, max), new-token mass and argmax share."""
    import torch

    rows = (patch.output_rows if patch.output_rows is not None else patch.input_rows).float().to(ref.hidden.device)
    chunk = _chunk(rows.shape[0])
    kls, argmax = [], []
    with torch.no_grad():
        for c in range(0, ref.hidden.shape[0], chunk):
            z = _logits(ref.hidden[c:c + chunk], rows, ref.softcap)
            lse_new = torch.logsumexp(z, -1)
            lse = ref.lse[c:c + chunk]
            kls.append(torch.logaddexp(lse, lse_new) - lse)
            argmax.append(z.max(-1).values > ref.max_logit[c:c + chunk])
    kl = torch.cat(kls).double()
    return {"english_kl": float(kl.mean()), "english_kl_max": float(kl.max()),
            "english_new_mass": float((1 - torch.exp(-kl)).mean()),
            "english_new_argmax_share": float(torch.cat(argmax).float().mean()),
            "english_positions": int(kl.numel()), "english_documents": ref.documents,
            "english_documents_excluded": ref.excluded}


def english_kl_exact(base_model, patched_model, tokenizer, texts: Sequence[str], max_tokens: int = 128) -> float:
    """Mean KL(base || patched) from two full forward passes (reference for tests; slow)."""
    import torch

    from .bpb import _context_id

    total, count = 0.0, 0
    with torch.no_grad():
        for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
            inp = torch.tensor([[_context_id(tokenizer)] + ids[:max_tokens - 1]])
            lp = torch.log_softmax(base_model(input_ids=inp).logits[0, :-1].double(), -1)
            lq = torch.log_softmax(patched_model(input_ids=inp).logits[0, :-1].double(), -1)
            v = lp.shape[-1]
            kl = (lp.exp() * (lp - lq[:, :v])).sum(-1)
            total += float(kl.sum())
            count += kl.numel()
    return total / count


# ------------------------------------------------------------------------------------------------
# what a preset runs on

@dataclass
class InitSetup:
    """Everything step 0 needs for one (preset, language, model)."""

    preset: str
    language: str
    model_name: str
    model: Any
    base_tokenizer: Any
    extended_tokenizer: Any
    heldout_texts: list[str]
    english_texts: list[str]
    target_texts: list[str]
    encoder: Any = "e5-small"
    lexicon: Any = None
    notes: dict = field(default_factory=dict)
    method_options: dict = field(default_factory=dict)     # extra options per method (e.g. smoke: min_count=1)

    @property
    def layout(self) -> ModelLayout:
        return ModelLayout(self.preset, self.language, self.model_name)

    @property
    def out_dir(self) -> Path:
        return self.layout.init_dir

    def options(self, method: str) -> dict[str, Any]:
        """The data-bound options of ``method`` (those it registers as ``data``) for this setup."""
        supplied = {"encoder": self.encoder, "target_texts": self.target_texts, "lexicon": self.lexicon}
        opts: dict[str, Any] = {name: supplied[name] for name in initializer(method).data}
        opts.update(self.method_options.get(method, {}))
        return opts


def _extend(base, target_texts, budget, english_texts):
    from .vocab import extend_tokenizer

    while True:
        try:
            return extend_tokenizer(base, target_texts, budget, english_texts, min_frequency=2)
        except ConfigError as exc:
            if exc.parameter != "budget" or budget <= 1:
                raise
            budget = max(1, budget // 2)


def smoke_setup(preset: Preset, language: str, model: str) -> InitSetup:
    """Tiny random model + tokenizers on the fixture sentences (:mod:`paper_utils.fixtures`; seconds, no download)."""
    from .embedding_init import NgramHashEncoder

    targets, english = heldout_parallel(preset, language)
    kind = "gemma" if "gemma" in model else "llama"
    base = tiny_tokenizer(english * 3, kind)
    ext, report = _extend(base, targets * 3, preset.vocabulary.budget, english)
    net = tiny_model(kind, len(base))
    small = {"min_count": 1, "dim": 16}
    return InitSetup(preset.name, language, model, net, base, ext, targets, english, targets * 3,
                     NgramHashEncoder(), None, {"model": f"tiny random {kind} (smoke)", "added": report["added"],
                                               "encoder": "ngram-hash (spelling only)"},
                     {"focus": small, "wechsel": small})


def extended_tokenizer_for(preset: Preset, language: str, model: str):
    """Stage 02's extended tokenizer ``results/<preset>/<lang>/<model key>/tokenizer/`` and its folder.

    Never rebuilt here: a missing folder raises :class:`~paper_utils.layout.MissingStageOutput`
    ("run 02_vocabulary_expansion for <language>/<model> first").
    """
    from transformers import AutoTokenizer

    folder = ModelLayout(preset.name, language, model).require_tokenizer()
    return AutoTokenizer.from_pretrained(str(folder)), str(folder)


def load_setup(preset: Preset, language: str, model: str, english_questions: int = 0) -> InitSetup:
    """Model, tokenizers, held-out/English/target text, encoder and lexicon for step 0."""
    source = data_source(preset)
    if source.tiny_models:
        return smoke_setup(preset, language, model)
    from . import corpora
    from .assets import load_model
    from .encoders import load_encoder

    ext, where = extended_tokenizer_for(preset, language, model)       # first: fails fast without stage 02
    net, base = load_model(model)
    target = list(corpora.monolingual(language, "train")["text"])
    n = english_questions or preset.evaluation.mmlu_questions or 1000
    english = list(corpora.mmlu_subset(n, seed=1)["question"])
    heldout = source.step0_heldout_text(language)
    lexicon = corpora.lexicon(language)
    anchors = preset.initialization.max_anchors
    return InitSetup(preset.name, language, model, net, base, ext, heldout, english, target,
                     load_encoder(preset.encoder), lexicon,
                     {"extended_tokenizer": ModelLayout(preset.name, language, model).relative(Path(where)),
                      "english_questions": n, "lexicon_entries": lexicon.num_rows, "max_anchors": anchors or "all"},
                     {name: {"max_anchors": anchors} for name, m in initializers().items() if m.anchored}
                     if anchors else {})


# ------------------------------------------------------------------------------------------------
# step 0

def _rules(patch: EmbeddingPatch) -> dict[str, int]:
    return dict(Counter(r.get("rule", "") for r in patch.provenance).most_common())


def evaluate_patch(setup: InitSetup, patch: EmbeddingPatch, ref: EnglishReference | None = None) -> dict[str, Any]:
    """Held-out bpb and English shift of one patch (model restored afterwards)."""
    t0 = time.perf_counter()
    with patched(setup.model, patch):
        held = bits_per_byte(setup.model, setup.extended_tokenizer, setup.heldout_texts)
    t_bpb = time.perf_counter() - t0
    out: dict[str, Any] = {"heldout_bpb": held.bpb, "heldout_documents": len(held.bits),
                           "heldout_tokens": sum(held.tokens), "per_document_bpb": held.per_document}
    if ref is not None:
        out.update(english_shift(ref, patch))
    out["seconds_eval"] = round(time.perf_counter() - t0, 3)
    out["seconds_bpb"] = round(t_bpb, 3)
    return out


def base_reference(setup: InitSetup, write: bool = True) -> dict[str, Any]:
    """Held-out bpb of the unextended base model (base tokenizer); ``init/base.json``."""
    held = bits_per_byte(setup.model, setup.base_tokenizer, setup.heldout_texts)
    rec = {"method": "base", "preset": setup.preset, "language": setup.language, "model": setup.model_name,
           "heldout_bpb": held.bpb, "heldout_documents": len(held.bits), "heldout_tokens": sum(held.tokens),
           "per_document_bpb": held.per_document, "english_kl": 0.0, "english_new_argmax_share": 0.0,
           "notes": setup.notes}
    if write:
        write_json(setup.layout.init_record("base"), rec)
    return rec


def run_method(setup: InitSetup, method: str, ref: EnglishReference | None = None, base: dict | None = None,
               write: bool = True, save_patch: bool = True, label: str | None = None, **options) -> dict[str, Any]:
    """Initialize with ``method`` (setup's data options + ``options``), evaluate, write ``init/<label>.json``."""
    label = label or method
    opts = {**setup.options(method), **options}
    t0 = time.perf_counter()
    patch = initialize(setup.model, setup.base_tokenizer, setup.extended_tokenizer, method, **opts)
    seconds_init = time.perf_counter() - t0
    rec: dict[str, Any] = {"method": label, "base_method": method, "preset": setup.preset,
                           "language": setup.language, "model": setup.model_name, "new_tokens": len(patch.token_ids),
                           "options": _jsonable(patch.options)}
    rec.update(evaluate_patch(setup, patch, ref))
    if base is not None:
        rec["base_bpb"] = base["heldout_bpb"]
    rec["seconds"] = round(seconds_init, 3)
    rec["rules"] = _rules(patch)
    rec["examples"] = anchor_table(patch, n=8).to_dict(orient="records")
    if write:
        if save_patch:
            patch.save(setup.layout.patch_dir(label))
        write_json(setup.layout.init_record(label), rec)
    rec["_patch"] = patch
    return rec


@dataclass
class Step0:
    """What :func:`step0` returns: the table, the per-method records (with their patches) and the base record."""

    table: Any                          # pandas.DataFrame, one row per method, the base first
    records: dict[str, dict]            # label -> record (``record["_patch"]`` is the EmbeddingPatch)
    base: dict[str, Any]


def step0(setup: InitSetup, methods: Sequence[str], variants: Mapping[str, Mapping[str, Any]] | None = None,
          write: bool = True, save_patches: bool = True, log=print) -> Step0:
    """Base reference + every method (and named ``variants``: ``{label: {"method": m, **options}}``)."""
    for m in methods:
        initializer(m)                                   # ConfigError naming the registered methods
    checked = {label: resolve_variant(label, spec) for label, spec in (variants or {}).items()}
    t0 = time.perf_counter()
    base = base_reference(setup, write=write)
    ref = english_reference(setup.model, setup.base_tokenizer, setup.english_texts, setup.extended_tokenizer)
    log(f"base bpb {base['heldout_bpb']:.4f}; English reference {ref.hidden.shape[0]} positions "
        f"({time.perf_counter() - t0:.1f} s)")
    records = {}
    jobs = [(m, m, {}) for m in methods] + [(label, m, opts) for label, (m, opts) in checked.items()]
    for label, method, opts in jobs:
        rec = run_method(setup, method, ref, base, write=write, save_patch=save_patches, label=label, **opts)
        records[label] = rec
        log(f"{label:<24} bpb {rec['heldout_bpb']:.4f}  KL {rec['english_kl']:.4f}  "
            f"argmax {rec['english_new_argmax_share']:.3f}  init {rec['seconds']:.1f} s")
    return Step0(results_table({"base": base, **records}), records, base)


COLUMNS = ("method", "heldout_bpb", "english_kl", "english_new_argmax_share", "english_new_mass", "seconds",
           "seconds_eval", "new_tokens", "heldout_documents")


def results_table(records: Mapping[str, Mapping[str, Any]]):
    """Records (as returned or read back from ``init/*.json``) as a DataFrame with ``COLUMNS``."""
    import pandas as pd

    rows = [{c: rec.get(c, math.nan) for c in COLUMNS} for rec in records.values()]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def read_results(out_dir: str | Path) -> dict[str, dict]:
    """Every ``init/*.json`` record in ``out_dir`` by label (``base`` first)."""
    out_dir = Path(out_dir)
    files = sorted(out_dir.glob("*.json"))
    if not files:
        raise DataError(f"no step-0 results in {out_dir}; run notebook 03 (or diagnostics.step0) first")
    recs = {p.stem: read_json(p) for p in files}
    return {k: recs[k] for k in sorted(recs, key=lambda k: (k != "base", k))}


def paired_tests(records: Mapping[str, Mapping[str, Any]], reference: str = "bxod", rivals: Sequence[str] | None = None,
                 test: str = "paired_permutation", correction: str = "holm", out_csv: str | Path | None = None,
                 language: str = "", model: str = "", seed: int = 12345):
    """``reference`` vs each rival on per-document held-out bpb (delta = reference - rival; < 0 favours it).

    ``test``: ``"paired_permutation"`` or ``"wilcoxon"``; p-values corrected across the rivals (Holm).
    """
    from . import stats

    if reference not in records:
        raise ConfigError("reference", reference, f"use one of the methods run: {', '.join(records)}")
    tests = {"paired_permutation": stats.paired_permutation, "wilcoxon": stats.wilcoxon_signed_rank}
    if test not in tests:
        raise ConfigError("test", test, f"use one of: {', '.join(tests)}")
    rivals = [r for r in (rivals or records) if r != reference]
    results = []
    for rival in rivals:
        a, b = records[rival]["per_document_bpb"], records[reference]["per_document_bpb"]
        results.append(tests[test](a, b, method_a=rival, method_b=reference, label="bpb", seed=seed))
    results = stats.correct(results, correction)
    if out_csv is not None:
        stats.write_significance_csv(out_csv, results, language=language or "?", model=model or "?")
    return results


def example_tokens(setup: InitSetup, n: int = 8) -> list[str]:
    """Surface forms of the ``n`` new word-initial tokens used most often on the held-out text."""
    base_size = len(setup.base_tokenizer.get_vocab())
    counts: Counter = Counter()
    for ids in setup.extended_tokenizer(setup.heldout_texts, add_special_tokens=False)["input_ids"]:
        counts.update(i for i in ids if i >= base_size)
    from .embedding_init import new_tokens

    info = new_tokens(setup.base_tokenizer, setup.extended_tokenizer)
    surface = dict(zip(info.ids, info.surfaces))
    ranked = [surface[i] for i, _ in counts.most_common() if i in surface]
    initial = [s for s in ranked if s[:1].isspace() and len(s.strip()) > 2]
    return (initial + [s for s in ranked if s not in initial])[:n]


def anchor_tables(records: Mapping[str, Mapping[str, Any]], tokens: Sequence[str], methods: Sequence[str] | None = None,
                  top: int = 4):
    """Nearest-anchor table of ``tokens`` for each method (from the records' patches)."""
    import pandas as pd

    frames = [anchor_table(rec["_patch"], tokens, top=top) for label, rec in records.items()
              if "_patch" in rec and (methods is None or label in methods)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def comparison_table(results):
    import pandas as pd

    return pd.DataFrame([{"rival": r.method_a, "reference": r.method_b, "delta_bpb": r.delta, "ci_low": r.ci_low,
                          "ci_high": r.ci_high, "p": r.p_value, "p_holm": r.p_adjusted, "n": r.n, "test": r.test}
                         for r in results])


def step0_figure(table, base_bpb: float | None = None):
    """Held-out bpb per method (bars, base as a dashed line) and English KL (second panel)."""
    import matplotlib.pyplot as plt

    from .plots import set_style

    set_style()
    t = table[table["method"] != "base"].sort_values("heldout_bpb")
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.5 * len(t) + 1.8))
    axes[0].barh(t["method"], t["heldout_bpb"], color="C0")
    if base_bpb is not None:
        axes[0].axvline(base_bpb, color="grey", ls="--", lw=1, label=f"base model {base_bpb:.3f}")
        axes[0].legend(loc="lower right")
    lo = min(t["heldout_bpb"].min(), base_bpb or math.inf)
    axes[0].set_xlim(lo * 0.95, t["heldout_bpb"].max() * 1.02)
    axes[0].invert_yaxis()
    axes[0].set_xlabel("held-out bits per byte (lower is better)")
    axes[0].set_title("Target language, step 0")
    axes[1].barh(t["method"], t["english_kl"], color="C1")
    axes[1].invert_yaxis()
    axes[1].set_xlabel("English KL to the base model (nats / position)")
    axes[1].set_title("English, step 0")
    fig.tight_layout()
    return fig


__all__ = ["EnglishReference", "InitSetup", "english_reference", "english_shift", "english_kl_exact",
           "load_setup", "smoke_setup", "base_reference", "run_method", "evaluate_patch", "step0", "Step0",
           "results_table", "read_results", "paired_tests", "comparison_table", "step0_figure", "example_tokens",
           "anchor_tables"]
