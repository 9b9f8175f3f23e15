"""Fluent / .properties parsers and the Firefox ESR strings and documents, on tiny inline samples;
one ``assets`` test reads the real pinned Debian packages when the cache has them."""
import zipfile
from collections import Counter

import pytest

from paper_utils import corpora, debian_packs
from paper_utils.corpora import firefox_l10n, parse_ftl, parse_properties
from paper_utils.errors import ConfigError

FTL = """\
### Resource comment
## Group comment

# Message comment
save-button = Saqlash
    .accesskey = S
    .title = Faylni { $name } saqlash
-brand-short-name = Firefox
    .gender = masculine
about =
    Bu dastur
    ikki qator

        ichki chekinish
only-attributes =
    .label = Faqat atribut
tabs-count =
    { $count ->
        [one] Bitta varaq
       *[other] { $count } ta varaq
    }
empty =
junk line without equals
last = Oxirgi
"""


def test_ftl_messages_attributes_multiline_and_comments():
    entries = parse_ftl(FTL)
    assert entries == [
        ("save-button", "Saqlash"),
        ("save-button.accesskey", "S"),
        ("save-button.title", "Faylni { $name } saqlash"),          # placeables verbatim
        ("about", "Bu dastur\nikki qator\n\n    ichki chekinish"),    # common indent removed, blank kept
        ("only-attributes.label", "Faqat atribut"),                   # a message without a value
        ("tabs-count", "{ $count ->\n    [one] Bitta varaq\n   *[other] { $count } ta varaq\n}"),
        ("last", "Oxirgi"),
    ]
    assert not any(key.startswith("-") for key, _ in entries)          # terms and their attributes dropped


def test_ftl_select_variant_lines_are_not_attributes():
    entries = dict(parse_ftl("x =\n    { $n ->\n       *[other]\n            .not-an-attribute = no\n    }\n"))
    assert list(entries) == ["x"] and ".not-an-attribute = no" in entries["x"]


def test_properties_separators_continuations_escapes_and_comments():
    text = ("# comment = not an entry\n! also a comment\n\n"
            "a = Birinchi\nb=Ikkinchi\nc: Uchinchi\n"
            "long = Birinchi qism \\\n    ikkinchi qism\n"
            "escaped = Qator\\nyangi \\u02bb \\\\ tugadi\n"
            "printf = %1$S fayl %2$S\nempty =\n")
    assert parse_properties(text) == [
        ("a", "Birinchi"), ("b", "Ikkinchi"), ("c", "Uchinchi"),
        ("long", "Birinchi qism ikkinchi qism"),
        ("escaped", "Qator\nyangi \u02bb \\ tugadi"),
        ("printf", "%1$S fayl %2$S"),
    ]


@pytest.fixture
def fake_firefox(tmp_path):
    """A Uzbek langpack with a browser .ftl and a toolkit .properties, and the English omni.ja zips."""
    langpack, english = tmp_path / "uz", tmp_path / "en"
    xpi = langpack / firefox_l10n.XPI_DIR / "langpack-uz@firefox-esr.mozilla.org.xpi"
    xpi.parent.mkdir(parents=True)
    (english / firefox_l10n.OMNI_DIR / "browser").mkdir(parents=True)
    long_uz = "Bu juda uzun oʻzbekcha satr, hujjatni toʻldirish uchun yozilgan"
    long_en = "This is a very long English line written to fill a document"
    with zipfile.ZipFile(xpi, "w") as zf:
        zf.writestr("browser/localization/uz/browser/a.ftl",
                    f"one = {long_uz} 1\ntwo = {long_uz} 2\n    .accesskey = I\nthree = {long_uz} 3\nok = OK\n"
                    "extra = Faqat oʻzbekcha\n")
        zf.writestr("chrome/uz/locale/uz/global/b.properties", "short = Qisqa\n")
        zf.writestr("manifest.json", "{}")
    with zipfile.ZipFile(english / firefox_l10n.OMNI_DIR / "browser" / "omni.ja", "w") as zf:
        zf.writestr("localization/en-US/browser/a.ftl",
                    f"one = {long_en} 1\ntwo = {long_en} 2\n    .accesskey = T\nthree = {long_en} 3\nok = OK\n")
    with zipfile.ZipFile(english / firefox_l10n.OMNI_DIR / "omni.ja", "w") as zf:
        zf.writestr("chrome/en-US/locale/en-US/global/b.properties", "short = Short\n")
    corpora.clear_caches()
    yield {"firefox-esr-l10n-uz": langpack, "firefox-esr": english}
    corpora.clear_caches()


def test_strings_pair_with_english_by_file_and_key(fake_firefox):
    rows = corpora.firefox_strings("uz", roots=fake_firefox).to_list()
    assert [(r["file"], r["key"]) for r in rows] == [
        ("browser/localization/{locale}/browser/a.ftl", k) for k in ("one", "two", "two.accesskey", "three", "ok", "extra")
    ] + [("chrome/{locale}/locale/{locale}/global/b.properties", "short")]
    by_key = {r["key"]: r for r in rows}
    assert by_key["short"]["en"] == "Short" and by_key["two.accesskey"]["en"] == "T"
    assert by_key["extra"]["en"] is None and by_key["ok"]["untranslated"] and not by_key["one"]["untranslated"]


def test_documents_group_a_files_strings_and_keep_the_english(fake_firefox):
    docs = corpora.firefox_documents("uz", min_bytes=120, roots=fake_firefox).to_list()
    # a.ftl: one+two reach 120 bytes; three alone is short and joins them; ok (untranslated), extra (no
    # English) and the access key are left out; b.properties is shorter than 120 bytes: dropped
    assert [(d["id"], d["keys"]) for d in docs] == [("browser/localization/{locale}/browser/a.ftl#0", ["one", "two", "three"])]
    assert docs[0]["text"].count("\n") == 2 and docs[0]["en"].startswith("This is a very long")
    smaller = corpora.firefox_documents("uz", min_bytes=60, roots=fake_firefox)
    assert smaller["keys"] == [["one"], ["two"], ["three"]] and all(len(t.encode()) >= 60 for t in smaller["text"])
    assert [d["id"] for d in smaller] == [f"browser/localization/{{locale}}/browser/a.ftl#{i}" for i in range(3)]


def test_bad_arguments_name_the_parameter(fake_firefox):
    with pytest.raises(ConfigError, match="lang"):
        corpora.firefox_strings("ta", roots=fake_firefox)
    with pytest.raises(ConfigError, match="min_bytes"):
        corpora.firefox_documents("uz", min_bytes=0, roots=fake_firefox)


def test_languages_map_to_pinned_langpacks():
    assert corpora.firefox_languages() == {"uz": ("firefox-esr-l10n-uz", "uz"), "ms": ("firefox-esr-l10n-ms", "ms"),
                                           "ko": ("firefox-esr-l10n-ko", "ko"), "es": ("firefox-esr-l10n-es-es", "es-ES")}


# measured 2026-11-30 on the pinned 140.12.0esr-1~deb12u1 packages: strings, strings identical to English,
# documents of >= 200 bytes
FIREFOX_COUNTS = {"uz": (8290, 2917, 785), "ms": (8254, 2527, 824), "ko": (14064, 1924, 2237), "es": (14066, 1740, 2208)}


@pytest.mark.assets
@pytest.mark.parametrize("lang", sorted(FIREFOX_COUNTS))
def test_real_firefox_strings_counts(lang):
    needed = [corpora.firefox_languages()[lang][0], "firefox-esr"]
    if not all(debian_packs.get_package(key).is_cached() for key in needed):
        pytest.skip(f"Debian packages {needed} not in the cache (python -m paper_utils assets fetch --preset demo-full)")
    strings = corpora.firefox_strings(lang)
    count, untranslated, documents = FIREFOX_COUNTS[lang]
    assert len(strings) == count and sum(strings["untranslated"]) == untranslated
    assert all(en is not None for en in strings["en"])          # every langpack string has its en-US source
    docs = corpora.firefox_documents(lang, min_bytes=200)
    assert len(docs) == documents and min(len(t.encode()) for t in docs["text"]) >= 200
    if lang == "uz":        # issue 13: real Uzbek writes o‘ g‘ and the tutuq with typographic apostrophes
        marks = Counter(ch for text in strings["text"] for ch in text if ch in "‘ʻ’ʼ'`")
        typographic = sum(marks[ch] for ch in "‘ʻ’ʼ") / sum(marks.values())
        assert marks["‘"] > marks["ʻ"] > marks["’"] > marks["'"] and typographic > 0.9
