"""The pydub plugin: a registered AudioSegment method for any rate, sample width and channel count, pydub-style
splitting with padding, and no temporary file."""

from __future__ import annotations

import tempfile

import numpy as np
import pytest
from pydub import AudioSegment

import langspan.pydub
from conftest import TINY_MODEL
from langspan.pydub import split_on_language
from langspan.timeline import Span, Timeline
from tagging_media import tone_classifier

SECONDS = 4  # of a low tone (German to the scripted classifier), then as many of a high one (French)


def two_tones(rate: int, width: int, channels: int) -> AudioSegment:
    t = np.arange(SECONDS * rate) / rate
    signal = np.concatenate([np.sin(2 * np.pi * 400 * t), np.sin(2 * np.pi * 2000 * t)]) * 0.5
    full_scale = (1 << (8 * width - 1)) - 1
    samples = (signal * full_scale).astype({1: np.int8, 2: np.int16, 3: np.int32, 4: np.int32}[width])
    frames = np.repeat(samples[:, None], channels, axis=1)  # the same tone on every channel
    data = frames.astype(frames.dtype.newbyteorder("<")).tobytes()
    if width == 3:  # 24-bit: the three low bytes of each little-endian 32-bit sample
        data = np.frombuffer(data, np.uint8).reshape(-1, 4)[:, :3].tobytes()
    return AudioSegment(data=data, sample_width=width, frame_rate=rate, channels=channels)


def test_importing_the_plugin_registers_the_method():
    assert AudioSegment.language_timeline is langspan.pydub.language_timeline


@pytest.mark.parametrize(
    ("rate", "width", "channels"), [(8000, 1, 1), (44100, 2, 2), (96000, 3, 2), (48000, 4, 6), (16000, 2, 1)]
)
def test_any_rate_width_and_channel_count(rate, width, channels):
    segment = two_tones(rate, width, channels)
    timeline = segment.language_timeline(classifier=tone_classifier(), vad=False)
    assert timeline.duration == pytest.approx(len(segment) / 1000, abs=0.002)
    assert [span.language for span in timeline.spans] == ["deu", "fra"]
    assert abs(timeline.spans[0].end - SECONDS) <= 0.5  # the change, placed within a window


def test_nothing_is_written_to_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def no_export(*args, **kwargs):
        raise AssertionError("the segment was exported to a file")

    monkeypatch.setattr(AudioSegment, "export", no_export)
    pieces = split_on_language(two_tones(22050, 2, 2), classifier=tone_classifier(), vad=False)
    assert [span.language for span, _ in pieces] == ["deu", "fra"]
    assert list(tmp_path.iterdir()) == []


def test_the_real_model_loads_from_the_options():
    timeline = two_tones(16000, 2, 1).language_timeline(model=str(TINY_MODEL), vad=False, min_confidence=0)
    assert timeline.model == str(TINY_MODEL) and timeline.spans and timeline.source == "<AudioSegment>"


def scripted(spans) -> tuple[AudioSegment, Timeline]:
    """A 6 s segment whose every millisecond is distinct (a ramp), and a hand-made timeline for it."""
    samples = np.arange(6 * 1000 * 8, dtype=np.int32)  # 8 kHz: 8 samples per millisecond
    segment = AudioSegment(data=samples.tobytes(), sample_width=4, frame_rate=8000, channels=1)
    return segment, Timeline("<AudioSegment>", None, 6.0, "m", None, {}, tuple(spans))


SPANS = (
    Span(0.0, 1.0, "nonspeech"), Span(1.0, 3.0, "eng", 0.9), Span(3.0, 3.1, "nonspeech"),
    Span(3.1, 5.0, "deu", 0.9), Span(5.0, 5.5, "und", 0.2), Span(5.5, 6.0, "nonspeech"),
)  # fmt: skip


def ranges(pieces, segment) -> list[tuple[str, int, int]]:
    """(language, start ms, end ms) of each piece, found by locating its samples in the segment."""
    whole = np.frombuffer(segment.raw_data, np.int32)
    found = []
    for span, piece in pieces:
        samples = np.frombuffer(piece.raw_data, np.int32)
        start = int(np.flatnonzero(whole == samples[0])[0])
        assert np.array_equal(whole[start : start + len(samples)], samples)  # the very audio, uncut and unchanged
        found.append((span.language, start // 8, (start + len(samples)) // 8))
    return found


def test_padding_reaches_into_dropped_audio_and_shares_short_gaps():
    segment, timeline = scripted(SPANS)
    pieces = split_on_language(segment, keep_silence=200, timeline=timeline)
    # eng gets 200 ms of the leading pause; the 100 ms gap between eng and deu is shared at its middle; deu and
    # und touch, so neither reaches into the other; und's padding runs into the trailing pause.
    assert ranges(pieces, segment) == [("eng", 800, 3050), ("deu", 3050, 5000), ("und", 5000, 5700)]
    assert [span for span, _ in pieces] == [SPANS[1], SPANS[3], SPANS[4]]  # spans as detected, without padding


def test_keep_silence_true_false_and_kept_nonspeech():
    segment, timeline = scripted(SPANS)
    assert ranges(split_on_language(segment, keep_silence=False, timeline=timeline, keep_unknown=False), segment) == [
        ("eng", 1000, 3000), ("deu", 3100, 5000),
    ]  # fmt: skip
    assert ranges(split_on_language(segment, keep_silence=True, timeline=timeline), segment) == [
        ("eng", 0, 3050), ("deu", 3050, 5000), ("und", 5000, 6000),
    ]  # fmt: skip
    every = split_on_language(segment, keep_nonspeech=True, timeline=timeline)
    assert [span for span, _ in every] == list(SPANS)
    assert sum(len(piece) for _, piece in every) == len(segment)  # the pieces tile the segment
    with pytest.raises(ValueError, match="keep_silence"):
        split_on_language(segment, keep_silence=-1, timeline=timeline)
