"""Language codes: ISO 639-3 labels of the model ↔ names, 639-1, 639-2/B, 639-2/T and macrolanguages.

The lookups go through ``iso639-lang`` (a maintained copy of the SIL tables); this module only adds the special
labels langspan itself emits and the container conventions used when tagging tracks.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache

from iso639 import Lang, iter_langs
from iso639.exceptions import InvalidLanguageValue

from .errors import UsageError

# Labels langspan emits that are not languages. ``zxx``/``und``/``mul`` are the ISO 639-2 special codes that
# containers understand; ``nonspeech`` is what a timeline says for windows the speech detector rejected.
NONSPEECH = "nonspeech"
UNKNOWN = "und"
SPECIAL_NAMES = {NONSPEECH: "no speech", UNKNOWN: "unknown", "zxx": "no linguistic content", "mul": "multiple languages"}


@cache
def _lang(code: str) -> Lang | None:
    try:
        return Lang(code)
    except InvalidLanguageValue:
        return None


def language_name(code: str) -> str:
    """English name of an ISO 639 code or special label; the code itself when unknown."""
    if code in SPECIAL_NAMES:
        return SPECIAL_NAMES[code]
    lang = _lang(code)
    return lang.name if lang else code


def to_iso639_3(code: str) -> str:
    """Normalise a user-given code (639-1 ``de``, 639-2/B ``ger``, 639-3 ``deu``, or a name) to ISO 639-3.

    Raises UsageError with close matches when the code is not a language.
    """
    lang = _lang(code.strip().lower()) or _lang(code.strip())
    if lang is None:
        raise UsageError(f"unknown language code {code!r}{_suggestions(code)}")
    return lang.pt3


def parse_language_list(codes: str | Iterable[str]) -> tuple[str, ...]:
    """``"eng,deu"``, ``"en, de"`` or ``["en", "German"]`` → ISO 639-3 codes, in order, without repeats.

    Raises UsageError (with close matches) for a code that is not a language.
    """
    items = codes.split(",") if isinstance(codes, str) else [part for code in codes for part in code.split(",")]
    normalized = [to_iso639_3(item) for item in items if item.strip()]
    if not normalized:
        raise UsageError("--languages needs at least one language code")
    return tuple(dict.fromkeys(normalized))


def label_indices(codes: Sequence[str] | None, labels: Sequence[str]) -> tuple[int, ...] | None:
    """Indexes of the model labels for ISO 639-3 ``codes`` (None stays None: every label allowed).

    Labels are compared after normalisation, so a checkpoint labelled ``en``/``de`` matches ``eng``/``deu``.
    Raises UsageError naming the codes the model cannot recognise.
    """
    if codes is None:
        return None
    by_code: dict[str, int] = {}
    for index, label in enumerate(labels):
        lang = _lang(label.strip().lower()) or _lang(label.strip())
        by_code.setdefault(lang.pt3 if lang else label, index)
    missing = [code for code in codes if code not in by_code]
    if missing:
        names = ", ".join(f"{code} ({language_name(code)})" for code in missing)
        raise UsageError(f"--languages: the model has no label for {names}; `langspan languages` lists its labels")
    return tuple(by_code[code] for code in codes)


def _suggestions(code: str) -> str:
    candidates = _all_codes_and_names()
    close = difflib.get_close_matches(code.lower(), candidates, n=3, cutoff=0.6)
    return f" (did you mean: {', '.join(close)}?)" if close else ""


@lru_cache(maxsize=1)
def _all_codes_and_names() -> list[str]:
    return [lang.pt3 for lang in iter_langs()] + [lang.name.lower() for lang in iter_langs()]


# ISO 639-2 special codes containers understand: no linguistic content, several languages, undetermined.
NO_SPEECH = "zxx"
MULTIPLE = "mul"
CONVENTIONS = ("matroska", "mp4")


def container_code(code: str, convention: str) -> str:
    """Three-letter code a container stores for an ISO 639-3 label.

    ``convention`` is ``"matroska"`` (ISO 639-2/B, ``ger``) or ``"mp4"`` (ISO 639-2/T, ``deu``). Languages without
    a 639-2 code fall back to their macrolanguage (``cmn`` → ``chi``/``zho``), else ``und``.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown container convention {convention!r}")
    if code in (NO_SPEECH, MULTIPLE, UNKNOWN):
        return code
    if code == NONSPEECH:
        return NO_SPEECH
    lang = _lang(code)
    if lang is None:
        return UNKNOWN
    for candidate in (lang, lang.macro()):
        if candidate is not None and candidate.pt2b:
            return candidate.pt2b if convention == "matroska" else candidate.pt2t
    return UNKNOWN


def bcp47(code: str) -> str:
    """BCP-47 language tag of an ISO 639-3 label (Matroska's LanguageIETF element).

    RFC 5646 uses the ISO 639-1 code where one exists (``deu`` → ``de``), else the 639-3 code itself, which keeps
    precision the 639-2 fallback loses (``cmn`` stays ``cmn`` where the legacy element says ``chi``).
    """
    if code == NONSPEECH:
        return NO_SPEECH
    if code in (NO_SPEECH, MULTIPLE, UNKNOWN):
        return code
    lang = _lang(code)
    if lang is None:
        return UNKNOWN
    return lang.pt1 or lang.pt3


def same_language(tag: str, code: str) -> bool:
    """Whether a container tag (639-2/B or /T, 639-1 or 639-3) names the language of label ``code``.

    ``ger``, ``deu`` and ``de`` all match ``deu``; ``chi`` matches ``cmn``, because ``chi`` is the best a 639-2
    container can say for Mandarin.
    """
    tag = tag.strip().lower()
    if tag in (container_code(code, "matroska"), container_code(code, "mp4")):
        return tag != UNKNOWN
    lang = _lang(tag)
    return lang is not None and lang.pt3 == code
