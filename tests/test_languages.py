import pytest

from langspan.errors import UsageError
from langspan.languages import NONSPEECH, container_code, language_name, to_iso639_3


def test_names_of_codes_and_special_labels():
    assert language_name("deu") == "German"
    assert language_name("cmn") == "Mandarin Chinese"
    assert language_name(NONSPEECH) == "no speech"
    assert language_name("und") == "unknown"
    assert language_name("LABEL_7") == "LABEL_7"  # a checkpoint with non-language labels still prints


@pytest.mark.parametrize("given,expected", [("de", "deu"), ("ger", "deu"), ("deu", "deu"), ("EN", "eng"), ("fre", "fra")])
def test_user_codes_normalise_to_iso639_3(given, expected):
    assert to_iso639_3(given) == expected


def test_unknown_code_is_a_usage_error_with_suggestions():
    with pytest.raises(UsageError, match="unknown language code 'englsh'.*english"):
        to_iso639_3("englsh")


@pytest.mark.parametrize(
    "code,matroska,mp4",
    [("deu", "ger", "deu"), ("fra", "fre", "fra"), ("cmn", "chi", "zho"), ("npi", "nep", "nep"), ("eng", "eng", "eng")],
)
def test_container_codes_follow_each_convention(code, matroska, mp4):
    assert container_code(code, "matroska") == matroska
    assert container_code(code, "mp4") == mp4


def test_nonspeech_is_zxx_in_containers():
    assert container_code(NONSPEECH, "matroska") == "zxx"
