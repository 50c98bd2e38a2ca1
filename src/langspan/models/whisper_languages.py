"""Whisper's language tokens (``<|en|>`` … ``<|yue|>``) → the ISO 639-3 codes langspan timelines report.

Whisper names its 100 languages (99 up to large-v2, ``yue`` added in large-v3) with the codes of OpenAI's
``whisper/tokenizer.py``: ISO 639-1 where one exists, three letters otherwise. The table below follows **one rule**:
a two-letter token gets the ISO 639-3 code that ISO 639-3 itself assigns to that 639-1 code (SIL's
correspondence, as ``iso639-lang`` and ``langcodes`` both report it), and the other tokens are named by what
Whisper says they are. No variety is guessed that the model does not distinguish. The decisions this implies:

* ``zh`` → ``zho`` (Chinese, the macrolanguage), not ``cmn`` (Mandarin). Whisper's ``zh`` is "chinese"; every
  checkpoint before large-v3 has no other Chinese token, so Cantonese and other varieties come out as ``zh`` too,
  and ``cmn`` would claim a distinction the model never makes. ``--languages zh`` / ``chinese`` resolve to
  ``zho`` and so match. (MMS-LID labels Mandarin ``cmn``; both tag MKV tracks as ``chi``.)
* ``yue`` → ``yue`` (Cantonese, large-v3 only). It overlaps ``zho``, of which it is a member: a large-v3 timeline
  can say ``yue`` for Cantonese and ``zho`` for other Chinese speech.
* ``no`` → ``nor`` (Norwegian, the macrolanguage), not ``nob`` (Bokmål). Bokmål and Nynorsk are *written*
  standards; Whisper's ``no``/``nn`` split comes from the language of the training transcripts, while the speech
  itself is Norwegian either way. ``nn`` → ``nno`` stays a separate label, as Whisper keeps it.
* ``jw`` → ``jav`` (Javanese). ``jw`` is not an ISO code at all (Javanese is ``jv`` in ISO 639-1); Whisper
  kept an old Google code. ``jav`` is Javanese in ISO 639-2 and 639-3.
* ``haw`` → ``haw`` (Hawaiian has no 639-1 code; ``haw`` is its 639-2/639-3 code).
* ``ms`` → ``msa``, ``ar`` → ``ara``, ``fa`` → ``fas``, ``sw`` → ``swa``, ``et`` → ``est``, ``lv`` → ``lav``,
  ``uz`` → ``uzb``, ``mn`` → ``mon``, ``az`` → ``aze``, ``sq`` → ``sqi``, ``ne`` → ``nep``, ``ps`` → ``pus``,
  ``mg`` → ``mlg``, ``yi`` → ``yid``: macrolanguages, like ``zh``, because the 639-1 code names the macrolanguage
  and Whisper's training audio was not split by variety (Arabic is every Arabic, not only ``arb``).
* ``la`` → ``lat``, ``sa`` → ``san``, ``tl`` → ``tgl``, ``he`` → ``heb``: the plain 639-1 correspondence.

tests/test_whisper_languages.py checks every entry against ``iso639-lang`` and ``langcodes`` independently and that
the table covers exactly the language tokens of the real whisper-base tokenizer (plus large-v3's ``yue``).
"""

from __future__ import annotations

from ..errors import ModelError

# Whisper's token code → (ISO 639-3, Whisper's own English name), in Whisper's token order (``<|en|>`` is the
# first language token, ``<|yue|>`` the last). The order matters only for readability: models map by token text.
WHISPER_LANGUAGES: dict[str, tuple[str, str]] = {
    "en": ("eng", "english"),
    "zh": ("zho", "chinese"),
    "de": ("deu", "german"),
    "es": ("spa", "spanish"),
    "ru": ("rus", "russian"),
    "ko": ("kor", "korean"),
    "fr": ("fra", "french"),
    "ja": ("jpn", "japanese"),
    "pt": ("por", "portuguese"),
    "tr": ("tur", "turkish"),
    "pl": ("pol", "polish"),
    "ca": ("cat", "catalan"),
    "nl": ("nld", "dutch"),
    "ar": ("ara", "arabic"),
    "sv": ("swe", "swedish"),
    "it": ("ita", "italian"),
    "id": ("ind", "indonesian"),
    "hi": ("hin", "hindi"),
    "fi": ("fin", "finnish"),
    "vi": ("vie", "vietnamese"),
    "he": ("heb", "hebrew"),
    "uk": ("ukr", "ukrainian"),
    "el": ("ell", "greek"),
    "ms": ("msa", "malay"),
    "cs": ("ces", "czech"),
    "ro": ("ron", "romanian"),
    "da": ("dan", "danish"),
    "hu": ("hun", "hungarian"),
    "ta": ("tam", "tamil"),
    "no": ("nor", "norwegian"),
    "th": ("tha", "thai"),
    "ur": ("urd", "urdu"),
    "hr": ("hrv", "croatian"),
    "bg": ("bul", "bulgarian"),
    "lt": ("lit", "lithuanian"),
    "la": ("lat", "latin"),
    "mi": ("mri", "maori"),
    "ml": ("mal", "malayalam"),
    "cy": ("cym", "welsh"),
    "sk": ("slk", "slovak"),
    "te": ("tel", "telugu"),
    "fa": ("fas", "persian"),
    "lv": ("lav", "latvian"),
    "bn": ("ben", "bengali"),
    "sr": ("srp", "serbian"),
    "az": ("aze", "azerbaijani"),
    "sl": ("slv", "slovenian"),
    "kn": ("kan", "kannada"),
    "et": ("est", "estonian"),
    "mk": ("mkd", "macedonian"),
    "br": ("bre", "breton"),
    "eu": ("eus", "basque"),
    "is": ("isl", "icelandic"),
    "hy": ("hye", "armenian"),
    "ne": ("nep", "nepali"),
    "mn": ("mon", "mongolian"),
    "bs": ("bos", "bosnian"),
    "kk": ("kaz", "kazakh"),
    "sq": ("sqi", "albanian"),
    "sw": ("swa", "swahili"),
    "gl": ("glg", "galician"),
    "mr": ("mar", "marathi"),
    "pa": ("pan", "punjabi"),
    "si": ("sin", "sinhala"),
    "km": ("khm", "khmer"),
    "sn": ("sna", "shona"),
    "yo": ("yor", "yoruba"),
    "so": ("som", "somali"),
    "af": ("afr", "afrikaans"),
    "oc": ("oci", "occitan"),
    "ka": ("kat", "georgian"),
    "be": ("bel", "belarusian"),
    "tg": ("tgk", "tajik"),
    "sd": ("snd", "sindhi"),
    "gu": ("guj", "gujarati"),
    "am": ("amh", "amharic"),
    "yi": ("yid", "yiddish"),
    "lo": ("lao", "lao"),
    "uz": ("uzb", "uzbek"),
    "fo": ("fao", "faroese"),
    "ht": ("hat", "haitian creole"),
    "ps": ("pus", "pashto"),
    "tk": ("tuk", "turkmen"),
    "nn": ("nno", "nynorsk"),
    "mt": ("mlt", "maltese"),
    "sa": ("san", "sanskrit"),
    "lb": ("ltz", "luxembourgish"),
    "my": ("mya", "myanmar"),
    "bo": ("bod", "tibetan"),
    "tl": ("tgl", "tagalog"),
    "mg": ("mlg", "malagasy"),
    "as": ("asm", "assamese"),
    "tt": ("tat", "tatar"),
    "haw": ("haw", "hawaiian"),
    "ln": ("lin", "lingala"),
    "ha": ("hau", "hausa"),
    "ba": ("bak", "bashkir"),
    "jw": ("jav", "javanese"),
    "su": ("sun", "sundanese"),
    "yue": ("yue", "cantonese"),
}


def token_code(token: str) -> str | None:
    """``"<|en|>"`` → ``"en"`` when the token is one of Whisper's language tokens, else None."""
    if token.startswith("<|") and token.endswith("|>"):
        code = token[2:-2]
        if code in WHISPER_LANGUAGES:
            return code
    return None


def iso639_3(code: str) -> str:
    """The ISO 639-3 code langspan reports for a Whisper language code (``"en"`` or ``"<|en|>"``)."""
    bare = token_code(code) or code
    try:
        return WHISPER_LANGUAGES[bare][0]
    except KeyError:
        raise ModelError(f"{code!r} is not one of Whisper's language tokens") from None
