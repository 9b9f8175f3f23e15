"""The ``paper`` preset's translator: NLLB-200 (distilled 600M) from the Hugging Face Hub, every language.

Example::

    >>> t = HubNLLBTranslator()
    >>> t.name, t.supports("en", "ms"), NLLB_CODES["uz"]
    ('nllb_200_distilled_600m', True, 'uzn_Latn')
    >>> t.translate(["Good morning."], "en", "ms")        # needs the Hub (or model_dir=)  # doctest: +SKIP

Not available offline: with ``HF_HUB_OFFLINE=1`` and no ``model_dir`` (a local ``save_pretrained`` folder of
the same model) :meth:`missing_assets` names the model and what to do, and nothing is translated. Beam search
(:data:`NUM_BEAMS`) with the target language forced as the first generated token, as NLLB expects.
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

from ..assets import hub_offline
from .base import LANGUAGE_NAMES, Translator, short_hash

HUB_ID = "facebook/nllb-200-distilled-600M"
NLLB_CODES = {"en": "eng_Latn", "uz": "uzn_Latn", "ms": "zsm_Latn", "ko": "kor_Hang", "es": "spa_Latn"}
NUM_BEAMS = 4
MAX_NEW_TOKENS = 256
BATCH_SIZE = 16


class HubNLLBTranslator(Translator):
    """en <-> {uz, ms, ko, es} with ``facebook/nllb-200-distilled-600M`` (Hub, or a local folder of it)."""

    name = "nllb_200_distilled_600m"
    directions = frozenset((s, t) for s in LANGUAGE_NAMES for t in LANGUAGE_NAMES
                           if s != t and "en" in (s, t))

    def __init__(self, model_dir: str | Path | None = None, revision: str = "main", device: str | None = None):
        self.model_dir, self.revision, self.device = (Path(model_dir) if model_dir else None), revision, device

    @property
    def source(self) -> str:
        return str(self.model_dir) if self.model_dir else HUB_ID

    @property
    def version(self) -> str:
        if self.model_dir and (self.model_dir / "config.json").exists():
            return f"{HUB_ID}+local-config:{short_hash((self.model_dir / 'config.json').read_text())}+beams{NUM_BEAMS}"
        return f"{HUB_ID}@{self.revision}+beams{NUM_BEAMS}"

    def missing_assets(self) -> list[tuple[str, str]]:
        if self.model_dir:
            if (self.model_dir / "config.json").exists():
                return []
            return [(f"{HUB_ID} in {self.model_dir}", "save it there with save_pretrained on a machine with Hub access")]
        if hub_offline():
            return [(f"Hub model {HUB_ID}", "unset HF_HUB_OFFLINE on a machine with Hub access (the paper preset), "
                                            "or pass model_dir= a local save_pretrained folder")]
        return []

    @cached_property
    def model_and_tokenizer(self):
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        kwargs = {} if self.model_dir else {"revision": self.revision}
        tokenizer = AutoTokenizer.from_pretrained(self.source, **kwargs)
        model = AutoModelForSeq2SeqLM.from_pretrained(self.source, **kwargs)
        if self.device:
            model.to(self.device)
        model.eval()
        return model, tokenizer

    def _translate(self, texts: list[str], source: str, target: str) -> list[str]:
        import torch

        model, tokenizer = self.model_and_tokenizer
        tokenizer.src_lang = NLLB_CODES[source]
        forced = tokenizer.convert_tokens_to_ids(NLLB_CODES[target])
        out: list[str] = []
        for start in range(0, len(texts), BATCH_SIZE):
            enc = tokenizer(texts[start:start + BATCH_SIZE], return_tensors="pt", padding=True,
                            truncation=True).to(model.device)
            with torch.no_grad():
                generated = model.generate(**enc, forced_bos_token_id=forced, num_beams=NUM_BEAMS,
                                           max_new_tokens=MAX_NEW_TOKENS)
            out.extend(t.strip() for t in tokenizer.batch_decode(generated, skip_special_tokens=True))
        return out


__all__ = ["HubNLLBTranslator", "HUB_ID", "NLLB_CODES"]
