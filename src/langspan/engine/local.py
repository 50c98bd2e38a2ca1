"""The one orchestrator: source → probe → decode → windows → classifier → segmenter → Timeline per stream."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import MediaError, UsageError
from ..frontend import media
from ..frontend.prefetch import prefetch
from ..frontend.vad import SpeechDetector, WindowSpeech
from ..frontend.windows import Window, WindowSpec, iter_windows
from ..languages import label_indices, parse_language_list
from ..models.wav2vec2 import DEFAULT_MODEL, Classifier, HFClassifier
from ..segmentation.refine import AudioBuffer, BoundaryRefiner, ClassifierProbe
from ..segmentation.segmenter import MAX_LAG, MIN_CONFIDENCE, MIN_SPAN, SWITCH_PENALTY, SmoothingSegmenter, restrict
from ..timeline import Span, Timeline, WindowResult, options_to_dict

# Decoded chunks (8 s each) read ahead of the model, so ffmpeg decodes while the model works: 32 s, 2 MB.
PREFETCH_CHUNKS = 4

# (source label, audio seconds done, total seconds or None when the container does not say)
ProgressCallback = Callable[[str, float, "float | None"], None]
# (source label, stream index, a span that is final): called as soon as the segmenter can vouch for a span
SpanCallback = Callable[[str, "int | None", Span], None]


@dataclass(frozen=True)
class DetectOptions:
    """How a timeline is made; echoed into every result so an output says exactly how it was produced."""

    model: str = DEFAULT_MODEL
    """Hugging Face model id or local folder of an audio-classification checkpoint with language labels."""
    revision: str | None = None
    """Hub revision (branch, tag or commit) of ``model``."""
    device: str = "auto"
    """auto | cpu | cuda | mps."""
    precision: str = "auto"
    """auto | fp32 | int8 | fp16 | bf16; auto = int8 on CPU for large models (~4x faster than fp32, ≥ 99% of
    windows agree), fp32 for small ones, fp16 on CUDA."""
    batch_size: int = 8
    """Windows per model call: batching amortises per-call overhead (≈25% faster on CPU at 8; use 32-64 on a GPU)."""
    threads: int | None = None
    """torch CPU threads, set when the model is loaded; None leaves torch's default (one per core)."""
    window: float = 2.0
    """Window length in seconds: ~2 s is where MMS-LID becomes reliable while keeping boundaries sharp."""
    hop: float | None = None
    """Seconds between window starts; None means ``window`` (tiling without overlap)."""
    min_window: float = 0.5
    """A shorter last window is dropped rather than guessed from too little audio."""
    top_k: int = 3
    """Alternatives kept per span (and per window with ``include_windows``)."""
    streams: tuple[int, ...] | None = None
    """ffprobe indexes of the audio streams to analyse; None means every audio stream."""
    include_windows: bool = False
    """Keep per-window results in the timeline (and the JSON output)."""
    allow_url: bool = False
    """Also open http(s) URLs (over http/https only); off, a source must be a local file. See SECURITY.md."""
    vad: bool = True
    """Detect speech first (silero-vad): windows with too little speech become ``nonspeech`` without being
    classified, and span edges next to them move to where speech starts or stops."""
    min_speech: float = 0.25
    """Least share of speech for a window to be classified: 0.25 is 0.5 s of a 2 s window, about the least audio
    a language model can judge; the speech around a rejected window still reaches its neighbours' spans."""
    switch_penalty: float = SWITCH_PENALTY
    """Cost (nats of log posterior) of a change of language in the decoder: higher means fewer, surer changes."""
    min_span: float = MIN_SPAN
    """Seconds: a shorter language span is given to its more probable neighbour."""
    min_confidence: float = MIN_CONFIDENCE
    """A span whose mean posterior for its language is lower becomes ``und`` (the guess stays in the alternatives)."""
    languages: tuple[str, ...] | None = None
    """Expected languages (ISO 639-3; 639-1 and names accepted): posteriors are renormalised over them."""
    refine_probes: int = 3
    """Extra windows classified at each change of language to place it within the window; 0 turns this off."""

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise UsageError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.threads is not None and self.threads < 1:
            raise UsageError(f"--threads must be at least 1, got {self.threads}")
        if self.top_k < 1:
            raise UsageError(f"--top-k must be at least 1, got {self.top_k}")
        if not 0 <= self.min_speech <= 1:
            raise UsageError(f"--min-speech must be in [0, 1], got {self.min_speech}")
        if self.refine_probes < 0:
            raise UsageError(f"--refine-probes must be at least 0, got {self.refine_probes}")
        if self.languages is not None:  # normalised once, so the echoed options say exactly what was used
            object.__setattr__(self, "languages", parse_language_list(self.languages))
        self.window_spec()  # validates window, hop and min_window
        self.segmenter()  # validates the segmenter settings

    def segmenter(self) -> SmoothingSegmenter:
        return SmoothingSegmenter(
            top_k=self.top_k, switch_penalty=self.switch_penalty, min_span=self.min_span,
            min_confidence=self.min_confidence,
        )  # fmt: skip

    def window_spec(self) -> WindowSpec:
        return WindowSpec(window=self.window, hop=self.hop, min_window=self.min_window, sample_rate=media.SAMPLE_RATE)


def load_classifier(options: DetectOptions) -> Classifier:
    """Load the model once; pass it to ``detect`` for every input."""
    classifier = HFClassifier(
        options.model, revision=options.revision, device=options.device, precision=options.precision,
        threads=options.threads,
    )  # fmt: skip
    label_indices(options.languages, classifier.labels)  # fail before any input if the model lacks a language
    return classifier


def detect(
    source: Any,
    options: DetectOptions | None = None,
    *,
    sample_rate: int | None = None,
    classifier: Classifier | None = None,
    progress: ProgressCallback | None = None,
    on_span: SpanCallback | None = None,
    name: str | None = None,
    info: media.MediaInfo | None = None,
    **overrides: Any,
) -> list[Timeline]:
    """Language timelines of a media file (one per audio stream), a numpy array or a pydub AudioSegment.

    ``on_span`` receives each span as soon as it is final (while the rest of the stream is still being
    analysed, when the segmenter can tell); ``name`` replaces the path as the timelines' ``source``; ``info`` is
    the file's probe when the caller has it already (it is then not probed again).
    ``overrides`` are DetectOptions fields, e.g. ``detect("talk.mp4", window=3.0, top_k=5)``.
    """
    options = replace(options or DetectOptions(), **overrides)
    classifier = classifier or load_classifier(options)
    label_indices(options.languages, classifier.labels)
    return [
        _timeline(name or label, stream, chunks, total, options, classifier, progress, on_span)
        for label, stream, chunks, total in _audio_sources(source, sample_rate, options, info)
    ]


def _audio_sources(
    source: Any, sample_rate: int | None, options: DetectOptions, info: media.MediaInfo | None = None
) -> Iterator[tuple]:
    """(label, stream index, chunk iterator, expected seconds) for each audio stream to analyse."""
    if isinstance(source, (str, os.PathLike)):
        info = info or media.probe(source, options.allow_url)
        for stream in select_streams(info, options.streams):
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


def select_streams(info: media.MediaInfo, wanted: Iterable[int] | None) -> list[media.AudioStream]:
    if not info.audio_streams:
        raise MediaError(f"{info.path}: no audio stream")
    if wanted is None:
        return list(info.audio_streams)
    by_index = {stream.index: stream for stream in info.audio_streams}
    missing = [index for index in wanted if index not in by_index]
    if missing:
        available = ", ".join(str(i) for i in by_index)
        raise MediaError(f"{info.path}: stream {missing[0]} is not an audio stream (audio streams: {available})")
    return [by_index[index] for index in wanted]


def _is_audio_segment(source: Any) -> bool:
    return type(source).__name__ == "AudioSegment" and hasattr(source, "get_array_of_samples")


def _audio_segment_samples(segment: Any) -> tuple[np.ndarray, int]:
    full_scale = float(1 << (8 * segment.sample_width - 1))
    samples = np.asarray(segment.get_array_of_samples(), dtype=np.float32) / full_scale
    return samples.reshape(-1, segment.channels), segment.frame_rate


def _timeline(
    label: str,
    stream: int | None,
    chunks: Iterable[np.ndarray],
    expected_seconds: float | None,
    options: DetectOptions,
    classifier: Classifier,
    progress: ProgressCallback | None,
    on_span: SpanCallback | None = None,
) -> Timeline:
    spec = options.window_spec()
    fetched = prefetch(chunks, PREFETCH_CHUNKS)
    counter = SampleCounter(fetched)
    stage = _WindowStage(classifier, options, spec)
    spans: list[Span] = []

    def report(done: float) -> None:
        if progress:
            progress(label, done, expected_seconds)

    try:
        results = stage(window_batches(counter, options), report)
        refine = stage.refiner if options.refine_probes else None
        for span in segment_incrementally(make_segmenter(options), results, classifier.labels, refine):
            spans.append(span)
            if on_span:
                on_span(label, stream, span)
    finally:
        # Interrupted or failed: ffmpeg is stopped here and now, not whenever the last reference to it goes.
        # The read-ahead thread owns the decoder while it runs: closing it stops the thread, which closes the
        # decoder in its own thread; the close below then covers a decoder that was never started.
        fetched.close()
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    duration = spec.seconds(counter.samples)
    if progress:
        progress(label, duration, duration)
    return build_timeline(label, stream, duration, stage.kept, options, classifier, spans, stage.stats())


class _WindowStage:
    """Model batches of windows → WindowResults: speech detection, then the classifier on the windows with speech
    (posteriors restricted to the expected languages). Also keeps the recent audio that boundary probes need."""

    def __init__(self, classifier: Classifier, options: DetectOptions, spec: WindowSpec) -> None:
        self.classifier = classifier
        self.options = options
        self.allowed = label_indices(options.languages, classifier.labels)
        self.detector = SpeechDetector() if options.vad else None
        # Probes need recent audio only: as far back as a change of language can still be undecided.
        self.audio = AudioBuffer(_refine_history(options, spec), spec.sample_rate)
        self.refiner = BoundaryRefiner(ClassifierProbe(self.predict, self.audio), spec.window, options.refine_probes)
        self.spec = spec
        self.kept: list[WindowResult] = []  # every result, only with include_windows
        self.windows = self.classified = 0

    def __call__(self, batches: Iterable[list[Window]], progress: Callable[[float], object]) -> Iterator[WindowResult]:
        for batch in batches:
            for window in batch:
                self.audio.add(window.start_sample, window.samples)
            speech, wanted = gate_speech(batch, self.detector, self.options.min_speech)
            probabilities = self.predict([batch[i].samples for i in wanted]) if wanted else []
            results = window_results([(w.tile_start, w.tile_end) for w in batch], speech, dict(zip(wanted, probabilities)))
            self.windows += len(results)
            self.classified += len(wanted)
            if self.options.include_windows:
                self.kept.extend(results)
            progress(self.spec.seconds(batch[-1].end_sample))
            yield from results

    def predict(self, batch: list[np.ndarray]) -> np.ndarray:
        return restrict(self.classifier.predict(batch), self.allowed)

    def stats(self) -> dict[str, int]:
        return {
            "windows": self.windows,
            "classified_windows": self.classified,
            "refinement_windows": self.refiner.windows_used,
            "boundaries_refined": self.refiner.refined,
            "boundaries_unrefined": self.refiner.unrefined,
        }


def window_batches(chunks: Iterable[np.ndarray], options: DetectOptions) -> Iterator[list[Window]]:
    """The windows of one stream in model batches — the unit every engine hands to the classifier."""
    return _batches(iter_windows(chunks, options.window_spec()), options.batch_size)


def gate_speech(
    batch: list[Window], detector: SpeechDetector | None, min_speech: float
) -> tuple[list[WindowSpeech | None], list[int]]:
    """Speech in each window of a model batch (the whole batch through the detector in one call; None everywhere
    without a detector) and the indexes of the windows with enough speech to classify."""
    if detector is None:
        return [None] * len(batch), list(range(len(batch)))
    for window in batch:
        detector.add(window.start_sample, window.samples)
    speech = [detector.speech(w.start_sample, w.end_sample) for w in batch]
    detector.forget(batch[-1].start_sample)
    return speech, [i for i, found in enumerate(speech) if found.fraction >= min_speech]  # type: ignore[union-attr]


def window_results(
    tiles: Sequence[tuple[float, float]], speech: Sequence[WindowSpeech | None], probabilities: dict[int, np.ndarray]
) -> list[WindowResult]:
    """WindowResults of one batch; windows missing from ``probabilities`` were not classified."""
    return [
        WindowResult(start, end, probabilities.get(i), *((found.fraction, found.intervals) if found else (None, ())))
        for i, ((start, end), found) in enumerate(zip(tiles, speech))
    ]


def make_segmenter(options: DetectOptions) -> SmoothingSegmenter:
    return options.segmenter()


def segment_incrementally(
    segmenter: Any, windows: Iterable[WindowResult], labels: Sequence[str], refine: Any = None
) -> Iterator[Span]:
    """Spans as soon as they are final: through ``segmenter.stream`` when the segmenter has one (it yields each
    span once later windows can no longer change it), otherwise all at once at the end of the stream."""
    if hasattr(segmenter, "stream"):
        yield from segmenter.stream(windows, labels, refine) if refine is not None else segmenter.stream(windows, labels)
    else:
        yield from segmenter(list(windows), labels)


def build_timeline(
    label: str,
    stream: int | None,
    duration: float,
    results: Sequence[WindowResult],
    options: DetectOptions,
    classifier: Classifier,
    spans: Sequence[Span] | None = None,
    stats: dict[str, int] | None = None,
) -> Timeline:
    """The Timeline of one stream from its window results (segmented here, without boundary probes, unless
    ``spans`` are given; then ``results`` need only hold what ``include_windows`` keeps)."""
    if spans is None:
        spans = list(segment_incrementally(make_segmenter(options), results, classifier.labels))
    if stats is None:
        classified = sum(result.probabilities is not None for result in results)
        stats = {"windows": len(results), "classified_windows": classified, "refinement_windows": 0,
                 "boundaries_refined": 0, "boundaries_unrefined": 0}  # fmt: skip
    return Timeline(
        source=label,
        stream=stream,
        duration=duration,
        model=classifier.name,
        revision=classifier.revision,
        options=options_to_dict(options),
        spans=tuple(spans),
        labels=tuple(classifier.labels),
        windows=tuple(results) if options.include_windows else None,
        stats=stats,
    )


def _refine_history(options: DetectOptions, spec: WindowSpec) -> float:
    """Seconds of audio to keep for probes: a language change is final at most ``MAX_LAG`` speech windows plus one
    batch and ``min_span`` after its windows were read (≈ 65 s, 4 MB, at the defaults)."""
    hop = spec.seconds(spec.hop_samples)
    return (MAX_LAG + options.batch_size + 3) * hop + options.min_span + spec.window


class SampleCounter:
    """Passes chunks through and counts samples: the true duration is what was decoded, not the header's claim."""

    def __init__(self, chunks: Iterable[np.ndarray]) -> None:
        self._chunks = chunks
        self.samples = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        for chunk in self._chunks:
            self.samples += len(chunk)
            yield chunk


def _batches(windows: Iterable[Window], size: int) -> Iterator[list[Window]]:
    """Batches of up to ``size`` windows of equal length: a short last window gets a call of its own, so the full
    windows are never padded to a common length (padding costs model time and needs masking)."""
    batch: list[Window] = []
    for window in windows:
        if batch and len(window.samples) != len(batch[0].samples):
            yield batch
            batch = []
        batch.append(window)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
