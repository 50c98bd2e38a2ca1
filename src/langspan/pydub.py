"""A pydub plugin: ``import langspan.pydub`` and every ``AudioSegment`` knows its languages.

::

    import langspan.pydub
    from langspan.pydub import split_on_language
    from pydub import AudioSegment

    episode = AudioSegment.from_file("episode.mp3")
    timeline = episode.language_timeline()                  # a langspan Timeline (seconds)
    for span, piece in split_on_language(episode, keep_silence=200):
        piece.export(f"{span.language}-{span.start:.0f}.mp3")

``language_timeline`` is registered the way pydub registers its own effects (``pydub.utils.register_pydub_effect``),
so it is a method of every AudioSegment. ``split_on_language`` follows ``pydub.silence.split_on_silence``: times
in milliseconds, a ``keep_silence`` padding, a list of pieces (here paired with the span each one holds).

The samples go to the model straight from memory, whatever the frame rate, sample width and channel count (ffmpeg
resamples them through a pipe): no temporary file is written.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from pydub import AudioSegment
from pydub.utils import register_pydub_effect

from .engine.local import detect
from .languages import NONSPEECH, UNKNOWN
from .models.base import Classifier
from .options import DetectOptions
from .timeline import Span, Timeline

__all__ = ["language_timeline", "split_on_language"]


@register_pydub_effect
def language_timeline(
    segment: AudioSegment, options: DetectOptions | None = None, *, classifier: Classifier | None = None, **overrides: Any
) -> Timeline:
    """The language timeline of an AudioSegment (all its channels mixed down). ``overrides`` are DetectOptions
    fields, as for ``langspan.detect`` (``segment.language_timeline(languages=("eng", "deu"))``); pass a loaded
    ``classifier`` (``langspan.load_classifier``) when analysing many segments, so the model loads once."""
    [timeline] = detect(segment, options, classifier=classifier, **overrides)
    return timeline


def split_on_language(
    segment: AudioSegment,
    *,
    keep_silence: int | bool = 100,
    keep_nonspeech: bool = False,
    keep_unknown: bool = True,
    timeline: Timeline | None = None,
    options: DetectOptions | None = None,
    classifier: Classifier | None = None,
    **overrides: Any,
) -> list[tuple[Span, AudioSegment]]:
    """The segment cut where the language changes: one ``(span, piece)`` per span, in order.

    ``keep_nonspeech``: also return the pieces without speech (by default they are dropped, like the silence
    ``split_on_silence`` drops). ``keep_unknown``: keep speech whose language is uncertain (``und``).
    ``keep_silence``: milliseconds of the dropped audio to keep at each side of a piece, so words are not cut
    off (True: all of it, False: none); where a gap is shorter than two paddings it is shared at its middle, as
    pydub does. Pieces never reach into a neighbouring piece that is kept. ``timeline``: split by a timeline
    already made for this segment instead of analysing it again. The span is the one detected, without padding.
    """
    timeline = timeline or language_timeline(segment, options, classifier=classifier, **overrides)
    length = len(segment)
    padding = length if keep_silence is True else int(keep_silence)
    if padding < 0:
        raise ValueError(f"keep_silence must be at least 0 ms, got {keep_silence}")
    kept = [span for span in timeline.spans if _wanted(span, keep_nonspeech, keep_unknown)]
    ranges = [[_ms(span.start) - padding, _ms(span.end) + padding] for span in kept]
    for number in range(len(kept)):
        low = _ms(kept[number - 1].end) if number else 0
        high = _ms(kept[number + 1].start) if number + 1 < len(kept) else length
        ranges[number] = [max(ranges[number][0], low, 0), min(ranges[number][1], high, length)]
    for before, after in pairwise(ranges):
        if after[0] < before[1]:  # both paddings reach into the same gap: share it at its middle
            before[1] = after[0] = (before[1] + after[0]) // 2
    return [(span, segment[start:end]) for span, (start, end) in zip(kept, ranges, strict=True)]


def _wanted(span: Span, keep_nonspeech: bool, keep_unknown: bool) -> bool:
    if span.language == NONSPEECH:
        return keep_nonspeech
    if span.language == UNKNOWN:
        return keep_unknown
    return True


def _ms(seconds: float) -> int:
    return round(seconds * 1000)
