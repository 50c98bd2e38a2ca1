"""The Whisper language table: every entry checked against two independent ISO 639 sources, and exactly the
language tokens of the real tokenizer."""

from __future__ import annotations

import json

import langcodes
import pytest
from iso639 import Lang

from langspan.errors import ModelError
from langspan.models.whisper_languages import WHISPER_LANGUAGES, iso639_3, token_code
from whisper_fixtures import HF_FOLDER, require

# Tokens that are not ISO 639-1 codes, with the 639-3 code of the language Whisper names (see the module docstring).
NOT_639_1 = {"jw": "jav", "haw": "haw", "yue": "yue"}
# Whisper's English names that ISO 639-3 spells differently.
NAME_ALIASES = {"myanmar": "burmese", "cantonese": "yue chinese"}


@pytest.mark.parametrize("token", sorted(WHISPER_LANGUAGES))
def test_entry_is_the_iso_correspondence(token):
    code, name = WHISPER_LANGUAGES[token]
    lang = Lang(code)
    assert lang.pt3 == code  # a real ISO 639-3 code, not a 639-2/B or retired one
    if token in NOT_639_1:
        assert code == NOT_639_1[token]
    else:
        assert Lang(token).pt3 == code  # iso639-lang's 639-1 → 639-3
        assert langcodes.Language.get(token, normalize=False).to_alpha3() == code  # langcodes agrees
    names = [lang.name.lower(), *(other.lower() for other in lang.other_names())]
    wanted = NAME_ALIASES.get(name, name)
    assert any(wanted in candidate for candidate in names), (token, code, names)


def test_codes_are_distinct():
    codes = [code for code, _ in WHISPER_LANGUAGES.values()]
    assert len(codes) == len(set(codes)) == 100


def test_decisions():
    assert [iso639_3(code) for code in ("zh", "no", "nn", "jw", "haw", "yue", "<|en|>")] == [
        "zho",
        "nor",
        "nno",
        "jav",
        "haw",
        "yue",
        "eng",
    ]
    assert token_code("<|transcribe|>") is None
    with pytest.raises(ModelError, match="not one of Whisper's language tokens"):
        iso639_3("xx")


def test_table_is_exactly_the_real_tokenizers_languages():
    folder = require(HF_FOLDER)
    lang_to_id = json.loads((folder / "generation_config.json").read_text())["lang_to_id"]
    added = json.loads((folder / "tokenizer.json").read_text())["added_tokens"]
    language_tokens = {entry["content"] for entry in added if token_code(entry["content"])}
    # whisper-base predates large-v3's Cantonese token; everything else must match both ways.
    assert set(lang_to_id) == language_tokens == {f"<|{code}|>" for code in WHISPER_LANGUAGES} - {"<|yue|>"}
    # Every special token of the tokenizer that looks like a language (two or three lowercase letters) is one.
    lookalikes = {e["content"] for e in added if e["content"][2:-2].isalpha() and len(e["content"]) <= 7}
    assert lookalikes == language_tokens
