"""Every results path of the study, built in one place, and the check that an upstream stage ran.

Example::

    >>> from paper_utils.layout import ModelLayout, model_key
    >>> model_key("smollm2-135m"), model_key("/ckpt/llama")
    ('smollm2-135m', 'llama')
    >>> run = ModelLayout("demo", "uz", "/ckpt/llama")
    >>> run.root.relative_to(study_root("demo")).as_posix()
    'uz/llama'
    >>> run.patch_dir("bxod").relative_to(run.root).as_posix()
    'init/patches/bxod'
    >>> run.adapt_dir("bxod", 0).name, run.eval_dir("bxod", 0).name, run.eval_dir("bxod", 1).name
    ('bxod__seed0', 'bxod', 'bxod__seed1')

The tree under ``results/<preset>/`` (``PAPER_UTILS_RESULTS`` moves the root)::

    fertility.csv  heldout_documents.json  significance.csv  run_info.json  figures/  executed/  failures/
    <language>/<model key>/
        vocabulary.json  budget_curve.csv  tokenizer/                  stage 02
        init/<label>.json  init/base.json  init/significance.csv  init/sweep.csv
        init/patches/<label>/                                        stage 03
        adapt/<label>__seed<k>/{summary.json, train_log.jsonl, model/}  stage 04
        adapt/summary.csv
        eval/<label>[__seed<k>]/scores.json + per-item *.jsonl        stage 05
    fusion/<model key>/fusion_<mode>__seed<k>/{summary.json, train_log.jsonl, fusion_state.pt, token_weights.json}
                                               notebook 08 (fusion recipe: English training, every language's)

One rule names the model folder (:func:`model_key`): a model of the asset registry keeps its name; a
local folder (``/ckpt/llama``) is keyed by its last path component, never joined as a path, so an
absolute model path cannot escape the results root. Stages read upstream outputs through
:func:`require`, which stops with the stage to run instead of rebuilding anything.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import DataError
from .paths import results_dir, shown

_KEY_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

# stage number -> notebook stem, for the "run NN_<stage> first" messages
STAGES = {"01": "01_fertility", "02": "02_vocabulary_expansion", "03": "03_anchored_initialization",
          "04": "04_adaptation", "05": "05_evaluation", "06": "06_significance", "07": "07_figures",
          "08": "08_encoder_fusion", "09": "09_cross_lingual_optimization", "10": "10_franken_adapter"}


class MissingStageOutput(DataError):
    """An upstream stage's output is missing; the message names the stage to run first."""

    def __init__(self, stage: str, language: str, model: str, path: Path):
        self.stage, self.path = STAGES.get(stage, stage), Path(path)
        where = f" for {language}/{model}" if language else f" for {model}" if model else ""
        super().__init__(f"run {self.stage}{where} first: {shown(path)} does not exist")


def model_key(model: str) -> str:
    """The folder name of a model under ``results/<preset>/<language>/``.

    A registry name stays as it is; a path (anything with a path separator, or ``~``) gives its last
    component. The key is checked to be a plain folder name.

    >>> model_key("gemma3-270m"), model_key("~/models/Llama-3.2-1B/")
    ('gemma3-270m', 'Llama-3.2-1B')
    """
    text = str(model)
    key = Path(text).expanduser().name if ("/" in text or "\\" in text or text.startswith("~")) else text
    if not _KEY_OK.match(key):
        raise DataError(f"model={model!r} gives no usable results folder name ({key!r}); name the model folder "
                        f"with letters, digits, '.', '_' or '-'")
    return key


def study_root(preset: str) -> Path:
    """``results/<preset>/``."""
    return results_dir(preset)


def fertility_csv(preset: str) -> Path:
    return study_root(preset) / "fertility.csv"


def heldout_documents_json(preset: str) -> Path:
    """How the held-out documents were built, per language (stage 01; ``offline-debian`` presets)."""
    return study_root(preset) / "heldout_documents.json"


def significance_csv(preset: str) -> Path:
    return study_root(preset) / "significance.csv"


def run_info_json(preset: str) -> Path:
    return study_root(preset) / "run_info.json"


def figures_dir(preset: str) -> Path:
    return study_root(preset) / "figures"


def executed_dir(preset: str) -> Path:
    """Executed notebooks and their ``.done.json`` stamps."""
    return study_root(preset) / "executed"


def failures_dir(preset: str) -> Path:
    return study_root(preset) / "failures"


def adapt_label(method: str, seed: int = 0) -> str:
    """Folder of an adaptation run: always ``<label>__seed<k>``."""
    return f"{method}__seed{seed}"


def eval_label(method: str, seed: int = 0) -> str:
    """Folder of an evaluation: the label, with ``__seed<k>`` only for seeds other than 0 (base has none)."""
    return method if method == "base" or seed == 0 else f"{method}__seed{seed}"


def eval_method(folder_name: str) -> str:
    """The run label of an evaluation folder (:func:`eval_label` read back): ``"fvt__seed1"`` -> ``"fvt"``."""
    return folder_name.rpartition("__seed")[0] or folder_name


@dataclass(frozen=True)
class ModelLayout:
    """Paths of one (preset, language, model): ``results/<preset>/<language>/<model key>/...``."""

    preset: str
    language: str
    model: str

    @property
    def key(self) -> str:
        return model_key(self.model)

    @property
    def root(self) -> Path:
        return study_root(self.preset) / self.language / self.key

    # stage 02
    @property
    def tokenizer_dir(self) -> Path:
        return self.root / "tokenizer"

    @property
    def vocabulary_json(self) -> Path:
        return self.root / "vocabulary.json"

    @property
    def budget_curve_csv(self) -> Path:
        return self.root / "budget_curve.csv"

    # stage 03
    @property
    def init_dir(self) -> Path:
        return self.root / "init"

    def init_record(self, label: str) -> Path:
        """``init/<label>.json`` (``base`` for the unextended model)."""
        return self.init_dir / f"{label}.json"

    def patch_dir(self, label: str) -> Path:
        return self.init_dir / "patches" / label

    @property
    def init_significance_csv(self) -> Path:
        return self.init_dir / "significance.csv"

    @property
    def sweep_csv(self) -> Path:
        """``init/sweep.csv``: the dev sweep (every configuration, its dev bpb and English KL, the chosen one)."""
        return self.init_dir / "sweep.csv"

    # stage 04
    @property
    def adapt_root(self) -> Path:
        return self.root / "adapt"

    def adapt_dir(self, label: str, seed: int = 0) -> Path:
        return self.adapt_root / adapt_label(label, seed)

    def adapted_model_dir(self, label: str, seed: int = 0) -> Path:
        return self.adapt_dir(label, seed) / "model"

    # stage 05
    @property
    def eval_root(self) -> Path:
        return self.root / "eval"

    def eval_dir(self, label: str, seed: int = 0) -> Path:
        return self.eval_root / eval_label(label, seed)

    def relative(self, path: Path) -> str:
        """``path`` relative to ``results/<preset>/`` (the runner's output lists)."""
        return relative(self.preset, path)

    # upstream checks
    def require_tokenizer(self) -> Path:
        """Stage 02's extended tokenizer folder, or :class:`MissingStageOutput` naming stage 02."""
        return require(self.tokenizer_dir / "tokenizer.json", "02", self.language, self.key).parent

    def require_patch(self, label: str) -> Path:
        """Stage 03's patch folder of ``label``, or :class:`MissingStageOutput` naming stage 03."""
        return require(self.patch_dir(label) / "patch.json", "03", self.language, self.key).parent

    def require_adapted_model(self, label: str, seed: int = 0) -> Path:
        """Stage 04's exported model of ``label``/``seed``, or :class:`MissingStageOutput` naming stage 04."""
        return require(self.adapted_model_dir(label, seed) / "config.json", "04", self.language, self.key).parent


def relative(preset: str, path: Path) -> str:
    """``path`` relative to ``results/<preset>/``, with ``/`` separators (job outputs, paths recorded in results)."""
    return Path(path).relative_to(study_root(preset)).as_posix()


def require(path: Path, stage: str, language: str = "", model: str = "") -> Path:
    """``path`` if it exists, else :class:`MissingStageOutput` ("run 02_vocabulary_expansion for uz/m first")."""
    if not Path(path).exists():
        raise MissingStageOutput(stage, language, model, Path(path))
    return Path(path)


__all__ = ["ModelLayout", "MissingStageOutput", "model_key", "relative", "require", "study_root", "fertility_csv",
           "significance_csv", "run_info_json", "figures_dir", "executed_dir", "failures_dir", "adapt_label",
           "eval_label", "eval_method", "STAGES"]


# the CLO recipe (notebook 09): CLO, its SFT baselines and the base instruction model, one folder per run
def clo_dir(preset: str, language: str, model: str, label: str, seed: int = 0) -> Path:
    """``results/<preset>/<language>/<model key>/clo/<variant>__seed<k>/`` (``summary.json``, ``train_log.jsonl``,
    ``model/``, ``scores.json``, ``generations.jsonl``)."""
    return ModelLayout(preset, language, model).root / "clo" / adapt_label(label, seed)


CLO_REPORTS = ("runs", "seed_spread", "tests", "seed_summary")     # the CLO tables over seeds (clo_report)


def clo_report_csv(preset: str, language: str, model: str, name: str) -> Path:
    """``results/<preset>/<language>/<model key>/clo/<name>.csv``: the CLO comparison tables over seeds
    (:func:`paper_utils.clo_report.write_report`; ``name``: one of :data:`CLO_REPORTS`)."""
    if name not in CLO_REPORTS:
        raise DataError(f"name={name!r}: use one of {', '.join(CLO_REPORTS)}")
    return ModelLayout(preset, language, model).root / "clo" / f"{name}.csv"


def translations_jsonl(preset: str, language: str, translator: str, split: str = "train") -> Path:
    """``results/<preset>/<language>/translations/<translator>__<split>.jsonl``: the CLO recipe's translated
    English SFT items (:func:`paper_utils.clo_data.translated_sft`), one JSON record a line, resumable."""
    if not _KEY_OK.match(translator) or not _KEY_OK.match(split):
        raise DataError(f"translator={translator!r}, split={split!r}: use letters, digits, '.', '_' or '-'")
    return study_root(preset) / language / "translations" / f"{translator}__{split}.jsonl"


# ------------------------------------------------------------------------------------------------
# the fusion recipe (notebook 08): a frozen encoder fused into the frozen LLM, trained on English pairs only, so one
# run per (model, mode, seed) serves every target language (stage 05 evaluates it per language)

def fusion_dir(preset: str, model: str, label: str, seed: int = 0) -> Path:
    """``results/<preset>/fusion/<model key>/<label>__seed<k>/`` (``summary.json``, ``train_log.jsonl``,
    ``fusion_state.pt``)."""
    return study_root(preset) / "fusion" / model_key(model) / adapt_label(label, seed)


def fusion_state_file(preset: str, model: str, label: str, seed: int = 0) -> Path:
    """The trained fusion, projection and end-of-input vector of a run (:meth:`FusedEncoderLM.fusion_state`)."""
    return fusion_dir(preset, model, label, seed) / "fusion_state.pt"


def fusion_token_weights_file(preset: str, model: str, label: str, seed: int = 0) -> Path:
    """Per-token layer weights of one held-out sentence per language (notebook 08; the fusion figures read it)."""
    return fusion_dir(preset, model, label, seed) / "token_weights.json"


def require_fusion_state(preset: str, model: str, label: str, seed: int = 0) -> Path:
    """A fusion run's ``fusion_state.pt``, or :class:`MissingStageOutput` naming notebook 08."""
    return require(fusion_state_file(preset, model, label, seed), "08", "", model_key(model))


# ------------------------------------------------------------------------------------------------
# the Franken-Adapter recipe (issue 18; notebook 10): the study's SFT sibling, tuned embeddings, transplanted models

def sibling_dir(preset: str, model: str) -> Path:
    """``results/<preset>/sibling/<model key>/``: the study's own English SFT sibling of ``model`` (every language's
    Franken runs share it: its training is English only)."""
    return study_root(preset) / "sibling" / model_key(model)


def franken_dir(preset: str, language: str, model: str, label: str, seed: int = 0) -> Path:
    """``<language>/<model key>/franken/<label>__seed<k>/``: a Franken recipe run (tuned embeddings of the base:
    ``tuned_<init>``; a compared model: ``model/`` + ``embedding_surgery.json``)."""
    return ModelLayout(preset, language, model).root / "franken" / adapt_label(label, seed)
