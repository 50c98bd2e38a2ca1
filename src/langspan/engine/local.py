"""The local engine: ``detect()`` — a media file, numpy array or pydub AudioSegment → one Timeline per audio stream.

It finds the audio streams (ffprobe), loads the model through the family registry unless given one, resolves the
options for that model, and runs each stream through the engine core (``engine.core.analyse_stream``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, cast

import numpy as np

from ..errors import UsageError
from ..frontend import media
from ..models.base import Classifier, info_of
from ..models.registry import load_classifier as load_family_classifier
from ..models.registry import read_info
from ..options import DetectOptions
from ..timeline import Timeline
from .core import ProgressCallback, RestrictedPredictor, SpanCallback, analyse_stream


def load_classifier(options: DetectOptions) -> Classifier:
    """Load the model once (the family is picked from the checkpoint); pass it to ``detect`` for every input."""
    # Settings that do not fit this model's defaults (``--hop 5`` with its 2 s windows) are usage errors found from
    # its configuration, before the weights load.
    options.resolved(read_info(options.model, options.revision))
    classifier = load_family_classifier(options.load_options())
    RestrictedPredictor(classifier, options.languages)  # fail before any input if the model lacks a language
    return classifier


def obtain_classifier(classifier: Classifier | Callable[[], Classifier] | None, options: DetectOptions) -> Classifier:
    """The classifier itself, from its factory (called now), or loaded from ``options``."""
    if classifier is None:
        return load_classifier(options)
    if hasattr(classifier, "predict"):
        return cast(Classifier, classifier)
    return classifier()


def effective_options(options: DetectOptions, classifier: Classifier) -> DetectOptions:
    """The options a run really uses with this classifier: unset settings take its family's defaults."""
    return options.resolved(info_of(classifier))


def detect(
    source: Any,
    options: DetectOptions | None = None,
    *,
    sample_rate: int | None = None,
    classifier: Classifier | None = None,
    progress: ProgressCallback | None = None,
    on_span: SpanCallback | None = None,
    name: str | None = None,
    media_info: media.MediaInfo | None = None,
    **overrides: Any,
) -> list[Timeline]:
    """Language timelines of a media file (one per audio stream), a numpy array or a pydub AudioSegment.

    ``on_span`` receives each span as soon as it is final (while the rest of the stream is still being
    analysed, when the segmenter can tell); ``name`` replaces the path as the timelines' ``source``;
    ``media_info`` is the file's probe when the caller has it already.
    ``overrides`` are DetectOptions fields, e.g. ``detect("talk.mp4", window=3.0, top_k=5)``.
    """
    options = replace(options or DetectOptions(), **overrides)
    classifier = classifier or load_classifier(options)
    options = effective_options(options, classifier)
    return [
        analyse_stream(name or label, stream, chunks, total, options, classifier, progress, on_span)
        for label, stream, chunks, total in _audio_sources(source, sample_rate, options, media_info)
    ]


def _audio_sources(
    source: Any, sample_rate: int | None, options: DetectOptions, info: media.MediaInfo | None
) -> Iterator[tuple]:
    """(label, stream index, chunk iterator, expected seconds) for each audio stream to analyse."""
    if isinstance(source, (str, os.PathLike)):
        info = info or media.probe(source, options.allow_url)
        for stream in info.select(options.streams):
            yield str(source), stream.index, media.decode(source, stream.index, options.allow_url), stream.duration
    elif isinstance(source, np.ndarray):
        if sample_rate is None:
            raise UsageError("detect(array) needs sample_rate=")
        yield "<array>", None, media.decode_array(source, sample_rate), len(source) / sample_rate
    elif _is_audio_segment(source):
        samples, rate = _audio_segment_samples(source)
        yield "<AudioSegment>", None, media.decode_array(samples, rate), len(samples) / rate
    else:
        raise UsageError(f"cannot detect languages in a {type(source).__name__}: pass a path, array or AudioSegment")


def _is_audio_segment(source: Any) -> bool:
    return type(source).__name__ == "AudioSegment" and hasattr(source, "get_array_of_samples")


def _audio_segment_samples(segment: Any) -> tuple[np.ndarray, int]:
    full_scale = float(1 << (8 * segment.sample_width - 1))
    samples = np.asarray(segment.get_array_of_samples(), dtype=np.float32) / full_scale
    return samples.reshape(-1, segment.channels), segment.frame_rate
