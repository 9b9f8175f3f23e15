"""Step 0: every method's patch scored before any training, one record per method.

Example::

    >>> from paper_utils.config import load_preset
    >>> from paper_utils.init import load_setup, step0
    >>> setup = load_setup(load_preset("smoke"), "uz", "smollm2-135m")      # tiny random model, seconds
    >>> result = step0(setup, ["mean", "fvt", "bxod"], write=False, log=lambda *line: None)
    >>> list(result.table["method"])
    ['base', 'mean', 'fvt', 'bxod']

For each method, :func:`step0` measures

* **held-out bits per byte** of the patched model on target-language text encoded with the
  extended tokenizer (:func:`paper_utils.bpb.bits_per_byte`; tokenizer-independent, so it compares
  to the base model reading the same text with the base tokenizer);
* **English next-token KL** ``KL(base || patched)`` on English text (MMLU questions) and the share
  of English positions where a new token becomes the argmax ("new tokens dominate"), from
  :mod:`paper_utils.init.english_shift`;
* **seconds** to initialize, and the per-token provenance (nearest-anchor tables).

Each method writes ``results/<preset>/<language>/<model>/init/<method>.json`` (and its patch under
``init/patches/<method>/``); the base model's reference goes to ``init/base.json``. Every record holds
``per_document_bits`` and ``per_document_bytes`` (and ``per_document_bpb``), so the paired tests recompute the
corpus bits per byte the table shows in every resample. Tables, paired
tests and the figure of these records are in :mod:`paper_utils.init.results`.

**Resume.** Each record carries what it was computed from: ``code_version`` (hash of ``paper_utils/init``,
``bpb.py``, ``tuning.py``), ``inputs`` (model, extended tokenizer, held-out and English texts), ``request``
(the method and options asked for), ``options_digest`` (the content of the options it resolved to: the setup's
lexicon, texts and encoder, the preset's ``[initialization]`` options), ``english_scored`` (whether the English
shift was measured) and ``patch_digest`` (the new rows' bytes and ids). A rerun (``resume=True``, the
default) reuses a record whose first three match and rebuilds only its patch when ``init/patches/<label>/`` is
gone (patches are not committed); the evaluation is reused only when the rebuilt rows have the recorded digest,
else the method is scored again. Stage 03 on ``demo-full`` takes hours on a CPU, so a stopped run keeps every
label it finished, as the dev sweep keeps its rows.

**Twins.** Two labels of one run whose method and complete options (registered defaults included) are equal
(:func:`twin_key`; ``bxod@dev`` when the sweep chose ``bxod_sub75``'s options) are one computation: the second
gets the first's record and patch under its own name, with ``same_as`` naming the label it was computed for.
"""
from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..bpb import bits_per_byte
from ..errors import DataError
from ..io import read_json, write_json
from ..paths import PACKAGE_DIR
from ..registry import initializer, resolve_variant
from ..surfaces import vocab_fingerprint
from ..tuning import options_key
from .english_shift import EnglishReference, english_reference, english_shift
from .initialize import initialize
from .patch import EmbeddingPatch, anchor_table, jsonable, patched
from .results import results_table
from .setup import InitSetup


def code_version() -> str:
    """Hash of the code a step-0 record or sweep row depends on: ``paper_utils/init/*.py``, ``bpb.py``, ``tuning.py``."""
    digest = hashlib.sha256()
    for path in sorted((PACKAGE_DIR / "init").glob("*.py")) + [PACKAGE_DIR / "bpb.py", PACKAGE_DIR / "tuning.py"]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def inputs_version(setup: InitSetup, scored: Sequence[str]) -> str:
    """Hash of what a record was scored on: model name, extended vocabulary, the ``scored`` texts (held-out for
    step 0, dev for the sweep) and the English texts of the KL."""
    digest = hashlib.sha256(f"{setup.model_name}\0{vocab_fingerprint(setup.extended_tokenizer)}".encode())
    for texts in (scored, setup.english_texts):
        digest.update(json.dumps(list(texts), ensure_ascii=False).encode() + b"\x1e")
    return digest.hexdigest()[:12]


def options_digest(options: Mapping[str, Any]) -> str:
    """Hash of the **content** of a method's resolved options (the setup's encoder name, lexicon, texts and pairs,
    the preset's ``[initialization]`` options, the given ones; a blend's ``with_options`` inside), which the
    record's ``options`` only summarize (texts as their size)."""
    def plain(value):
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if value is None or isinstance(value, (str, int, float, bool)):
            return value
        return getattr(value, "name", type(value).__name__)           # an encoder object: its name

    text = json.dumps(plain(options), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _provenance(setup: InitSetup, request: str, opts: Mapping[str, Any] | None = None,
                english: bool = True) -> dict[str, Any]:
    """The resume keys of a step-0 record (module doc): code, inputs, the request, the content of its resolved
    options and whether the English shift was scored."""
    keys = {"code_version": code_version(), "inputs": inputs_version(setup, setup.heldout_texts), "request": request}
    if opts is not None:
        keys["options_digest"] = options_digest(opts)
    keys["english_scored"] = english
    return keys


def _complete(method: str, opts: Mapping[str, Any]) -> dict[str, Any]:
    """``opts`` over ``method``'s registered defaults (a blend's inner method likewise): two labels whose complete
    options are equal compute the same patch."""
    full = {**initializer(method).options, **opts}
    if isinstance(full.get("with_options"), Mapping) and full.get("with_method"):
        full["with_options"] = _complete(full["with_method"], full["with_options"])
    return full


def twin_key(setup: InitSetup, method: str, opts: Mapping[str, Any], english: bool = True) -> tuple:
    """What makes two step-0 labels the same computation: code, inputs, whether the English shift is scored, the
    method and the content of its complete options (``bxod@dev`` when the sweep chose ``bxod_sub75``'s options,
    ``salt@dev`` when it chose salt's defaults)."""
    return (code_version(), inputs_version(setup, setup.heldout_texts), english, method,
            options_digest(_complete(method, setup.options(method, dict(opts)))))


def _twin_record(setup: InitSetup, twin: Mapping[str, Any], label: str, write: bool, save_patch: bool) -> dict:
    """``twin``'s record under ``label`` (``same_as`` names the label it was computed for), written like any."""
    rec = {k: v for k, v in twin.items() if not k.startswith("_")}
    rec.update(method=label, same_as=twin.get("same_as", twin["method"]))
    if write:
        if save_patch:
            twin["_patch"].save(setup.layout.patch_dir(label))
        write_json(setup.layout.init_record(label), rec)
    rec["_patch"] = twin["_patch"]
    return rec


def _reusable(path, keys: Mapping[str, Any]) -> dict[str, Any] | None:
    """The record at ``path`` when it was computed from ``keys`` (code, inputs, request), else None."""
    if not path.exists():
        return None
    rec = read_json(path)
    return rec if all(rec.get(k) == v for k, v in keys.items()) else None


def _rules(patch: EmbeddingPatch) -> dict[str, int]:
    return dict(Counter(r.get("rule", "") for r in patch.provenance).most_common())


def _per_document(held) -> dict[str, list]:
    """Per-document bits, bytes and bpb: the corpus value (sum bits / sum bytes) is recomputable from them."""
    return {"per_document_bits": list(held.bits), "per_document_bytes": list(held.bytes),
            "per_document_bpb": held.per_document}


def evaluate_patch(setup: InitSetup, patch: EmbeddingPatch, ref: EnglishReference | None = None) -> dict[str, Any]:
    """Held-out bpb and English shift of one patch (model restored afterwards)."""
    t0 = time.perf_counter()
    with patched(setup.model, patch):
        held = bits_per_byte(setup.model, setup.extended_tokenizer, setup.heldout_texts)
    t_bpb = time.perf_counter() - t0
    out: dict[str, Any] = {"heldout_bpb": held.bpb, "heldout_documents": len(held.bits),
                           "heldout_tokens": sum(held.tokens), **_per_document(held)}
    if ref is not None:
        out.update(english_shift(ref, patch))
    out["seconds_eval"] = round(time.perf_counter() - t0, 3)
    out["seconds_bpb"] = round(t_bpb, 3)
    return out


def base_reference(setup: InitSetup, write: bool = True, resume: bool = True) -> dict[str, Any]:
    """Held-out bpb of the unextended base model (base tokenizer); ``init/base.json`` (reused under ``resume``
    when it was computed from the same code and inputs)."""
    keys = _provenance(setup, "base")
    if write and resume and (old := _reusable(setup.layout.init_record("base"), keys)) is not None:
        if old.get("notes") != setup.notes:                     # paths and options of this setup, not the old one
            old["notes"] = setup.notes
            write_json(setup.layout.init_record("base"), old)
        return {**old, "_resumed": True}
    held = bits_per_byte(setup.model, setup.base_tokenizer, setup.heldout_texts)
    rec = {"method": "base", "preset": setup.preset, "language": setup.language, "model": setup.model_name,
           "heldout_bpb": held.bpb, "heldout_documents": len(held.bits), "heldout_tokens": sum(held.tokens),
           **_per_document(held), "english_kl": 0.0, "english_new_argmax_share": 0.0,
           "notes": setup.notes, **keys}
    if write:
        write_json(setup.layout.init_record("base"), rec)
    return rec


def _resumed(setup: InitSetup, label: str, method: str, opts: dict, keys: Mapping[str, Any], save_patch: bool,
             log) -> tuple[dict[str, Any] | None, EmbeddingPatch | None]:
    """``(finished record of label with its patch, None)`` when it can be reused (its patch loaded, or rebuilt and
    checked by digest); ``(None, rebuilt patch)`` when the rebuilt rows differ (score that patch, no third build);
    ``(None, None)`` when there is nothing to reuse."""
    layout = setup.layout
    old = _reusable(layout.init_record(label), keys)
    if old is None or "patch_digest" not in old:
        return None, None
    folder = layout.patch_dir(label)
    try:
        patch, how = EmbeddingPatch.load(folder), "saved"
    except Exception as err:                             # missing (not committed), damaged or an older format
        if not isinstance(err, DataError):
            log(f"{label}: the saved patch in {folder.name}/ could not be read ({type(err).__name__}: {err}); "
                "rebuilding it")
        patch, how = initialize(setup.model, setup.base_tokenizer, setup.extended_tokenizer, method, **opts), "rebuilt"
        if patch.digest() == old["patch_digest"] and save_patch:
            patch.save(folder)
    if patch.digest() != old["patch_digest"]:
        log(f"{label}: the {how} rows differ from init/{label}.json's (digest {patch.digest()} != "
            f"{old['patch_digest']}); scoring it again")
        return None, (patch if how == "rebuilt" else None)
    old["_patch"], old["_resumed"] = patch, True
    return old, None


def run_method(setup: InitSetup, method: str, ref: EnglishReference | None = None, base: dict | None = None,
               write: bool = True, save_patch: bool = True, label: str | None = None, resume: bool = True,
               log=print, **options) -> dict[str, Any]:
    """Initialize with ``method`` (setup's data options + ``options``), evaluate, write ``init/<label>.json``;
    under ``resume`` (with ``write``) a record of the same code, inputs and request is reused (module doc)."""
    label = label or method
    opts = setup.options(method, options)
    keys = _provenance(setup, options_key({"method": method, **options}), opts, english=ref is not None)
    patch = None
    if write and resume:
        old, patch = _resumed(setup, label, method, opts, keys, save_patch, log or print)
        if old is not None:
            return old
    t0 = time.perf_counter()
    if patch is None:
        patch = initialize(setup.model, setup.base_tokenizer, setup.extended_tokenizer, method, **opts)
    seconds_init = time.perf_counter() - t0
    rec: dict[str, Any] = {"method": label, "base_method": method, "preset": setup.preset,
                           "language": setup.language, "model": setup.model_name, "new_tokens": len(patch.token_ids),
                           "options": jsonable(patch.options), **keys, "patch_digest": patch.digest()}
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
          write: bool = True, save_patches: bool = True, log=print, ref: EnglishReference | None = None,
          resume: bool = True) -> Step0:
    """Base reference + every method (and named ``variants``: ``{label: {"method": m, **options}}``); ``ref``:
    the English reference when the caller has it already (the dev sweep computes the same one); ``resume``:
    reuse the records of a stopped run (module doc)."""
    for m in methods:
        initializer(m)                                   # ConfigError naming the registered methods
    checked = {label: resolve_variant(label, spec) for label, spec in (variants or {}).items()}
    t0 = time.perf_counter()
    base = base_reference(setup, write=write, resume=resume)
    ref = ref or english_reference(setup.model, setup.base_tokenizer, setup.english_texts, setup.extended_tokenizer)
    log(f"base bpb {base['heldout_bpb']:.4f}; English reference {ref.hidden.shape[0]} positions "
        f"({time.perf_counter() - t0:.1f} s)")
    records, computed = {}, {}
    jobs = [(m, m, {}) for m in methods] + [(label, m, opts) for label, (m, opts) in checked.items()]
    for label, method, opts in jobs:
        key = twin_key(setup, method, opts)
        if key in computed:                      # the same method and options under another label: not scored twice
            rec = _twin_record(setup, records[computed[key]], label, write, save_patches)
        else:
            rec = run_method(setup, method, ref, base, write=write, save_patch=save_patches, label=label,
                             resume=resume, log=log, **opts)
            computed[key] = label
        records[label] = rec
        log(f"{label:<24} {'(resumed) ' if rec.get('_resumed') else ''}"
            f"{'(= ' + rec['same_as'] + ') ' if rec.get('same_as') else ''}bpb {rec['heldout_bpb']:.4f}  KL {rec['english_kl']:.4f}  "
            f"argmax {rec['english_new_argmax_share']:.3f}  init {rec['seconds']:.1f} s")
    return Step0(results_table({"base": base, **records}), records, base)
