"""gettext catalogs as adaptation text: the .mo reader, cleaning, the held-out screen, the pinned packages; one
``assets`` test reads the real Malay packages and checks the held-out documents stay the same documents."""
from __future__ import annotations

import struct

import pytest

from paper_utils import debian_packs
from paper_utils.corpora import gettext_ui
from paper_utils.corpora.gettext_ui import (
    adaptation_text,
    catalog_texts,
    clean,
    gettext_packages,
    gettext_strings,
    read_mo,
    screen_against_heldout,
    write_mo,
)
from paper_utils.errors import ConfigError, DataError


def test_read_mo_contexts_plurals_and_header(tmp_path):
    mo = tmp_path / "a.mo"
    write_mo(mo, [("menu", "File", "Fail"), ("", "%d file\x00%d files", "%d fail\x00%d fail-fail"), ("", "Quit", "")])
    entries = {e.msgid: e for e in read_mo(mo)}
    assert entries[""].forms[0].startswith("Content-Type")                       # the header entry
    assert entries["File"].context == "menu" and entries["File"].forms == ("Fail",)
    assert entries["%d file"].plural == "%d files" and entries["%d file"].forms == ("%d fail", "%d fail-fail")


def test_read_mo_reads_what_gnu_msgfmt_wrote_in_both_byte_orders():
    from paper_utils.paths import DATA_DIR

    little, big = DATA_DIR / "fixtures" / "msgfmt_sample.mo", DATA_DIR / "fixtures" / "msgfmt_sample_be.mo"
    assert little.read_bytes()[:4] != big.read_bytes()[:4]                       # really two byte orders
    entries = read_mo(little)
    assert read_mo(big) == entries
    by_id = {(e.context, e.msgid): e for e in entries}
    assert by_id[("menu", "File")].forms == ("Fail",)
    assert by_id[("count", "%d window")] == ("count", "%d window", "%d windows", ("%d tetingkap",))
    assert ("", "Untranslated") not in by_id                                     # msgfmt leaves out empty msgstr
    assert catalog_texts(little) == ["%d fail", "Simpan", "%d tetingkap", "Fail"]  # credits left out


def test_read_mo_a_latin1_charset(tmp_path):
    pairs = [(b"", b"Content-Type: text/plain; charset=ISO-8859-1\n"), (b"Caf", "Café".encode("latin-1"))]
    table, blob, offsets = 28 + 16 * len(pairs), b"", []
    for part in [k for k, _ in pairs] + [v for _, v in pairs]:
        offsets.append((len(part), table + len(blob)))
        blob += part + b"\x00"
    data = struct.pack(">7I", 0x950412DE, 0, 2, 28, 44, 0, 0) + b"".join(struct.pack(">2I", *o) for o in offsets) + blob
    (tmp_path / "be.mo").write_bytes(data)
    assert read_mo(tmp_path / "be.mo")[-1].forms == ("Café",)


def test_read_mo_refuses_what_is_not_a_catalog(tmp_path):
    (tmp_path / "x.mo").write_bytes(b"not a catalog at all, just text")
    with pytest.raises(DataError, match="not a gettext .mo file"):
        read_mo(tmp_path / "x.mo")
    (tmp_path / "short.mo").write_bytes(b"\xde\x12")
    with pytest.raises(DataError, match="2 bytes"):
        read_mo(tmp_path / "short.mo")
    write_mo(tmp_path / "cut.mo", [("", "File", "Fail")])
    (tmp_path / "cut.mo").write_bytes((tmp_path / "cut.mo").read_bytes()[:40])
    with pytest.raises(DataError, match="past the end"):
        read_mo(tmp_path / "cut.mo")
    write_mo(tmp_path / "v2.mo", [("", "File", "Fail")])
    data = bytearray((tmp_path / "v2.mo").read_bytes())
    data[4:8] = struct.pack("<I", 2 << 16)
    (tmp_path / "v2.mo").write_bytes(bytes(data))
    with pytest.raises(DataError, match="major revision 2"):
        read_mo(tmp_path / "v2.mo")


def test_write_mo_is_a_standard_catalog_for_python_gettext(tmp_path):
    import gettext

    write_mo(tmp_path / "a.mo", [("", "File", "Fail"), ("menu", "Open", "Buka")])
    with open(tmp_path / "a.mo", "rb") as fh:
        catalog = gettext.GNUTranslations(fh)
    assert catalog.gettext("File") == "Fail" and catalog.pgettext("menu", "Open") == "Buka"
    assert struct.unpack("<7I", (tmp_path / "a.mo").read_bytes()[:28])[3] == 28  # tables after the 7-word header


def test_catalog_texts_drop_credits_copies_and_symbols(tmp_path):
    mo = tmp_path / "a.mo"
    write_mo(mo, [("", "_Save", "_Simpan"), ("", "translator-credits", "Ali <ali@example.org>"),
                  ("NAME OF TRANSLATORS", "Your names", "Ali"), ("", "OK", "OK"), ("", "_Cancel", "Batal"),
                  ("", "--", "—"), ("", "&Open file", "&Buka fail"), ("", "Save", "Simpan")])
    assert catalog_texts(mo) == ["Buka fail", "Simpan", "Batal", "Simpan"]       # file order (sorted msgids)


def test_clean_removes_accelerators_only_before_letters():
    assert clean("_Fail") == "Fail" and clean("Laman _Web") == "Laman Web" and clean("&Edit") == "Edit"
    assert clean("nama_fail") == "nama_fail"                                      # inside a word: kept
    assert clean("A &amp; B") == "A &amp; B" and clean("100 %") == "100 %"


def test_screen_reasons_each_rule():
    texts = ["Buka fail itu sekarang",            # kept
             "buka FAIL itu sekarang!",           # same normalized text as the first: in_training
             "Tetapan",                           # a training text
             "Pilihan lanjutan untuk pengguna",   # equal to a held-out Django target
             "Ini Pilihan lanjutan untuk pengguna baharu juga",   # contains it as a window: django_heldout
             "Kata laluan anda telah tamat",      # contains the short Django target "kata laluan"
             "Sila masukkan tarikh yang betul",   # shares the 3-gram "masukkan tarikh yang" with a Django target
             "Satu dua tiga empat lima enam tujuh lapan sembilan",   # contains the 7-word target as whole words
             "Tutup tetingkap ini",               # contains the whole Firefox string "tetingkap ini"
             "Muat turun fail dari pelayan jauh",  # shares the 3-gram "fail dari pelayan" with a Firefox string
             "Muat naik"]                         # kept
    reasons = screen_against_heldout(texts, training=["Tetapan"],
                                     django_heldout=["Pilihan lanjutan untuk pengguna", "Kata laluan",
                                                     "Masukkan tarikh yang sah", "dua tiga empat lima enam tujuh lapan"],
                                     firefox=["Tetingkap ini", "Salin fail dari pelayan lain dengan selamat"])
    assert reasons == [None, "in_training", "in_training", "django_heldout", "django_heldout", "django_heldout",
                       "django_heldout", "django_heldout", "firefox_contained", "firefox_ngram", None]


def test_a_firefox_string_longer_than_six_words_is_not_a_contained_window():
    long = "satu dua tiga empat lima enam tujuh"
    assert screen_against_heldout(["x " + long], [], [], [long]) == ["firefox_ngram"]   # caught by the 3-grams
    assert screen_against_heldout(["lapan sembilan"], [], [], [long]) == [None]


def test_the_screen_keeps_every_heldout_document_whatever_the_kept_text_random_cases():
    """The guarantee of the module docstring on random vocabularies: documents built against the training text
    plus the kept gettext texts are the documents built against the training text alone."""
    import random

    from paper_utils.corpora.heldout_documents import TrainingIndex, build, screen

    rng = random.Random(0)
    vocabulary = [f"w{i}" for i in range(14)]

    def phrase(lo, hi):
        return " ".join(rng.choice(vocabulary) for _ in range(rng.randint(lo, hi)))

    for case in range(300):
        training = [phrase(1, 8) for _ in range(rng.randint(0, 4))]
        strings = [(f"f{rng.randint(0, 3)}", str(k), phrase(1, 9), "en") for k in range(rng.randint(1, 12))]
        candidates = [phrase(1, 10) for _ in range(rng.randint(1, 12))]
        firefox = [t for *_, t, _, reason in screen(strings, TrainingIndex(training)) if reason is None]
        kept = [t for t, r in zip(candidates, screen_against_heldout(candidates, training, [], firefox)) if r is None]
        before = build(strings, training, source="t", min_bytes=1)[0]
        assert build(strings, training + kept, source="t", min_bytes=1)[0] == before, case


@pytest.mark.parametrize("lang", ["ms", "uz", "ko", "es"])
def test_pinned_packages_are_gettext_catalogs_of_the_language(lang):
    keys = gettext_packages(lang)
    assert len(keys) == 40 and gettext_packages("ta") == []
    for key in keys:
        pin = debian_packs.get_package(key)
        assert (pin.language, pin.locale, pin.corpus, pin.presets) == (lang, lang, "gettext-ui", ("demo-full",))
        assert pin.extract and all(path.endswith(f"/{lang}/LC_MESSAGES") for path in pin.extract)
        assert len(pin.sha256) == 64 and "django" not in pin.package and "firefox" not in pin.package
    assert not set(keys) & set(debian_packs.for_preset("demo"))


def test_the_same_deb_pinned_for_two_languages_has_one_file_and_two_folders():
    ms, uz = debian_packs.get_package("vlc-l10n"), debian_packs.get_package("vlc-l10n.uz")
    assert (ms.package, ms.sha256, ms.deb_path) == (uz.package, uz.sha256, uz.deb_path)
    assert ms.unpacked_path != uz.unpacked_path


def test_script_rule_drops_text_mostly_in_another_script():
    reasons = screen_against_heldout(["Faylni saqlash", "Файлни сақлаш", "OK Файл"], [], [], [], script="Latn")
    assert reasons == [None, "script", "script"]
    assert screen_against_heldout(["ISO 9660 설정", "DVD-ROM", "設定 설정 完了"], [], [], [], script="Hang") == [
        None, "script", "script"]                          # Latin terms are neutral in Korean text; Han is not
    with pytest.raises(ConfigError, match="script"):
        screen_against_heldout(["x"], [], [], [], script="Klingon")


def _fake_packages(monkeypatch, tmp_path, catalogs):
    """Two fake gettext-ui packages of 'ms' (folders with .mo files), the registry and roots pointing at them."""
    pins = {}
    roots = {}
    for key, files in catalogs.items():
        for rel, entries in files.items():
            path = tmp_path / key / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            write_mo(path, entries)
        roots[key] = tmp_path / key
        pins[key] = debian_packs.DebianPackage(key, key, "1", "all", "0" * 64, "GPL", "test", ("demo-full",),
                                               language="ms", locale="ms", corpus="gettext-ui")
    monkeypatch.setattr(gettext_ui, "registry", lambda: pins)
    return roots


def test_gettext_strings_reads_only_the_locale_catalogs_first_occurrence_wins(monkeypatch, tmp_path):
    roots = _fake_packages(monkeypatch, tmp_path, {
        "pkg-a": {"usr/share/locale/ms/LC_MESSAGES/a.mo": [("", "Open", "Buka"), ("", "Close", "Tutup")],
                  "usr/share/locale/id/LC_MESSAGES/a.mo": [("", "Open", "Bukalah")]},          # another locale
        "pkg-b": {"usr/share/locale/ms/LC_MESSAGES/b.mo": [("", "Close", "Tutup"), ("", "Print", "Cetak")]}})
    assert gettext_strings("ms", roots=roots) == [("pkg-a", "Tutup"), ("pkg-a", "Buka"), ("pkg-b", "Cetak")]  # msgid order


def test_a_pinned_package_without_catalogs_is_an_error_naming_it(monkeypatch, tmp_path):
    roots = _fake_packages(monkeypatch, tmp_path, {"pkg-a": {"usr/share/locale/id/LC_MESSAGES/a.mo": [("", "A", "B")]}})
    with pytest.raises(DataError, match="'pkg-a'.*extract"):
        gettext_strings("ms", roots=roots)


def test_adaptation_text_screens_against_training_django_and_the_kept_firefox_strings(monkeypatch, tmp_path):
    from paper_utils.corpora import firefox_l10n, monolingual_text, pairs

    roots = _fake_packages(monkeypatch, tmp_path, {"pkg-a": {"usr/share/locale/ms/LC_MESSAGES/a.mo": [
        ("", "a", "Simpan dokumen anda"), ("", "b", "Tetapan"), ("", "c", "Pilihan lanjutan untuk pengguna"),
        ("", "d", "Tutup tetingkap ini"), ("", "e", "Tab baharu dibuka")]}})
    monkeypatch.setattr(monolingual_text, "monolingual", lambda lang, split, roots=None: {"text": ["Tetapan", "Tab baharu"]})
    monkeypatch.setattr(pairs, "held_out_keys_for", lambda *a: frozenset({"pilihan lanjutan untuk pengguna"}))
    # "Tab baharu" is removed from the held-out documents (contained in training): it cannot drop gettext text
    monkeypatch.setattr(firefox_l10n, "translated_strings",
                        lambda lang, roots=None: [("f", "k1", "Tetingkap ini", "This window"),
                                                  ("f", "k2", "Tab baharu", "New tab")])
    texts, report = adaptation_text("ms", roots=roots)
    assert texts == ["Simpan dokumen anda", "Tab baharu dibuka"]
    assert report["removed"] == {"in_training": 1, "script": 0, "django_heldout": 1, "firefox_contained": 1, "firefox_ngram": 0}
    assert report["kept"] == 2 and report["kept_by_package"] == {"pkg-a": 2}


def test_a_language_without_pins_has_no_adaptation_text():
    assert adaptation_text("ta") == ([], {"source": "gettext-ui", "packages": [], "strings": 0, "kept": 0})


@pytest.mark.assets
@pytest.mark.parametrize("lang, strings, characters", [("ms", 15_000, 380_000), ("uz", 8_000, 230_000),
                                                       ("ko", 30_000, 500_000), ("es", 30_000, 650_000)])
def test_real_catalogs_leave_the_heldout_documents_unchanged(lang, strings, characters):
    from paper_utils.config import load_preset
    from paper_utils.corpora import firefox_languages, monolingual
    from paper_utils.corpora.firefox_heldout import firefox_heldout
    from paper_utils.corpora.firefox_l10n import translated_strings
    from paper_utils.corpora.heldout_documents import build
    from paper_utils.study import data_source

    needed = gettext_packages(lang) + [firefox_languages()[lang][0], "firefox-esr"]
    if not all(debian_packs.get_package(key).is_cached() for key in needed):
        pytest.skip(f"the {lang} gettext-ui and Firefox packages are not in the cache "
                    "(python -m paper_utils assets fetch --preset demo-full)")
    texts, report = adaptation_text(lang)
    # 2026-12-02: ms 18,008 strings / 455,991 characters, uz 9,508 / 280,776, ko 40,276 / 644,163, es 35,580 / 818,321
    assert report["kept"] > strings and report["kept_characters"] > characters
    assert all(report["kept_by_package"][k] > 0 for k in report["packages"])
    training = list(monolingual(lang, "train")["text"])
    assert data_source(load_preset("demo-full")).training_text(lang) == training + texts
    documents, _ = firefox_heldout(lang)
    rebuilt, _ = build(translated_strings(lang), training + texts, source="check")
    assert rebuilt == documents                     # the screen keeps the held-out documents what they were
