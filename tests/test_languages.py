from pathlib import Path

import langcodes
import pytest
from langcodes import data_dicts

from langspan.errors import UsageError
from langspan.languages import NONSPEECH, bcp47, container_code, language_name, same_language, to_iso639_3


def test_names_of_codes_and_special_labels():
    assert language_name("deu") == "German"
    assert language_name("cmn") == "Mandarin Chinese"
    assert language_name(NONSPEECH) == "no speech"
    assert language_name("und") == "unknown"
    assert language_name("LABEL_7") == "LABEL_7"  # a checkpoint with non-language labels still prints


@pytest.mark.parametrize(
    ("given", "expected"), [("de", "deu"), ("ger", "deu"), ("deu", "deu"), ("EN", "eng"), ("fre", "fra")]
)
def test_user_codes_normalise_to_iso639_3(given, expected):
    assert to_iso639_3(given) == expected


def test_unknown_code_is_a_usage_error_with_suggestions():
    with pytest.raises(UsageError, match="unknown language code 'englsh'.*english"):
        to_iso639_3("englsh")


@pytest.mark.parametrize(
    ("code", "matroska", "mp4"),
    [("deu", "ger", "deu"), ("fra", "fre", "fra"), ("cmn", "chi", "zho"), ("npi", "nep", "nep"), ("eng", "eng", "eng")],
)
def test_container_codes_follow_each_convention(code, matroska, mp4):
    assert container_code(code, "matroska") == matroska
    assert container_code(code, "mp4") == mp4


def test_nonspeech_is_zxx_in_containers():
    assert container_code(NONSPEECH, "matroska") == "zxx"


# --- container codes of every mms-lid-256 label ---------------------------------------------------------------
# The expected codes live in tests/data/mms-lid-256-container-codes.tsv. They were derived without langspan's own
# code (which uses iso639-lang): from the IANA language subtag registry shipped with `langcodes` (639-1 ↔ 639-2/B
# and /T, macrolanguages) plus the hand-checked list below of ISO 639-2 codes that have no 639-1 code.
# test_table_matches_an_independent_derivation re-derives it, so a typo in the table cannot hide.

DATA = Path(__file__).parent / "data"
LABELS = (DATA / "mms-lid-256-labels.txt").read_text().split()
TABLE = [
    line.split("\t") for line in (DATA / "mms-lid-256-container-codes.tsv").read_text().splitlines() if not line.startswith("#")
]
# ISO 639-2 codes without a 639-1 code, checked by hand against the Library of Congress list, limited to the
# mms-lid-256 labels and their macrolanguages.
ISO_639_2_WITHOUT_639_1 = {
    "ace", "ast", "awa", "bal", "ban", "bem", "bho", "bik", "bug", "ceb", "dyu", "gon", "gsw", "haw", "hil", "hmn",
    "ilo", "kab", "kam", "kmb", "kok", "lah", "lua", "luo", "mad", "mag", "mai", "man", "min", "mos", "mwr", "nap",
    "nso", "nyn", "raj", "rom", "sas", "sat", "scn", "sco", "shn", "sid", "suk", "syr", "tiv", "tpi", "umb", "war",
    "yao",
}  # fmt: skip


def test_labels_file_holds_the_256_distinct_labels_of_the_model():
    assert len(LABELS) == 256 == len(set(LABELS))
    assert LABELS[:5] == ["ara", "cmn", "eng", "spa", "fra"]  # the model card's order


def test_table_covers_every_label_exactly_once():
    assert [row[0] for row in TABLE] == LABELS
    assert all(len(row) == 4 for row in TABLE)


@pytest.mark.parametrize(("label", "matroska", "mp4", "how"), TABLE, ids=[row[0] for row in TABLE])
def test_container_code_of_every_model_label(label, matroska, mp4, how):
    assert container_code(label, "matroska") == matroska
    assert container_code(label, "mp4") == mp4


def _independent(label: str) -> tuple[str, str]:
    alpha2 = {alpha3: alpha2 for alpha2, alpha3 in data_dicts.LANGUAGE_ALPHA3.items()}

    def two_forms(code: str) -> tuple[str, str] | None:
        short = code if len(code) == 2 else alpha2.get(code)
        if short in data_dicts.LANGUAGE_ALPHA3:
            terminology = data_dicts.LANGUAGE_ALPHA3[short]
            return data_dicts.LANGUAGE_ALPHA3_BIBLIOGRAPHIC.get(short, terminology), terminology
        return (code, code) if code in ISO_639_2_WITHOUT_639_1 else None

    macro = data_dicts.MACROLANGUAGES.get(label)
    return two_forms(label) or (macro and two_forms(macro)) or ("und", "und")


def test_table_matches_an_independent_derivation():
    assert {row[0]: (row[1], row[2]) for row in TABLE} == {label: _independent(label) for label in LABELS}


def test_table_uses_every_kind_of_rule():
    hows = [row[3].split()[0] for row in TABLE]
    assert (hows.count("self"), hows.count("macrolanguage"), hows.count("none")) == (163, 46, 47)


@pytest.mark.parametrize(
    ("label", "matroska", "mp4"),
    [
        ("deu", "ger", "deu"), ("fra", "fre", "fra"), ("ces", "cze", "ces"), ("ron", "rum", "ron"),
        ("cmn", "chi", "zho"), ("yue", "chi", "zho"), ("zlm", "may", "msa"), ("zsm", "may", "msa"),
        ("npi", "nep", "nep"), ("swh", "swa", "swa"), ("ind", "ind", "ind"), ("nob", "nob", "nob"),
        ("xog", "und", "und"), ("pcm", "und", "und"),
        ("nonspeech", "zxx", "zxx"), ("zxx", "zxx", "zxx"), ("mul", "mul", "mul"), ("und", "und", "und"),
        ("not-a-code", "und", "und"),
    ],
)  # fmt: skip
def test_tricky_codes(label, matroska, mp4):
    assert (container_code(label, "matroska"), container_code(label, "mp4")) == (matroska, mp4)


def test_unknown_convention_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown container convention 'avi'"):
        container_code("deu", "avi")


@pytest.mark.parametrize("label", LABELS)
def test_bcp47_tag_is_valid_and_agrees_with_langcodes(label):
    tag = bcp47(label)
    assert langcodes.tag_is_valid(tag)
    # CLDR (which langcodes follows) replaces Tagalog's `tl` with Filipino's `fil`; the IANA registry keeps `tl`.
    assert tag == ("tl" if label == "tgl" else langcodes.standardize_tag(label))


def test_bcp47_keeps_what_the_legacy_code_loses():
    assert (bcp47("deu"), bcp47("cmn"), bcp47("swh")) == ("de", "cmn", "swh")
    assert (bcp47("nonspeech"), bcp47("mul"), bcp47("und")) == ("zxx", "mul", "und")


@pytest.mark.parametrize(
    ("tag", "label", "expected"),
    [
        ("ger", "deu", True), ("deu", "deu", True), ("de", "deu", True), ("GER", "deu", True),
        ("chi", "cmn", True), ("zho", "yue", True), ("cmn", "cmn", True),
        ("eng", "deu", False), ("fre", "deu", False), ("und", "xog", False), ("chi", "deu", False),
        ("zxx", "zxx", True), ("mul", "mul", True), ("eng", "mul", False),
    ],
)  # fmt: skip
def test_same_language_accepts_every_form_of_the_code(tag, label, expected):
    assert same_language(tag, label) is expected
