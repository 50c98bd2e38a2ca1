"""The engine core: one audio stream from decoded chunks to its Timeline. Every engine runs this code.

    chunks ─► front end ─────────────► classification ───────────► back end ──────────────────────► Timeline
              windows in model batches  speech gate, then the        segmenter (smoothing, spans as
              (frontend.windows)        classifier on the windows    soon as final) + boundary probes
                                        with speech (restricted to   from the recent audio
                                        the expected languages)      (segmentation.refine)

The local engine (``engine.local``) calls ``analyse_stream`` for each stream of each input; the Ray engine runs the
local engine inside its actors; the sparse scan (``engine.sparse``) shares the speech gate, the language
restriction and the batching for its probe windows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np

from ..frontend.prefetch import prefetch
from ..frontend.vad import SpeechDetector, WindowSpeech
from ..frontend.windows import Window, WindowSpec, iter_windows
from ..languages import label_indices
from ..models.base import Classifier
from ..options import DetectOptions
from ..segmentation.refine import AudioBuffer, BoundaryRefiner, ClassifierProbe
from ..segmentation.segmenter import MAX_LAG, restrict
from ..timeline import Span, Timeline, WindowResult, options_to_dict
from .density import AdaptiveDensity, grid_stride

# Decoded chunks (8 s each) read ahead of the model, so ffmpeg decodes while the model works: 32 s, 2 MB.
PREFETCH_CHUNKS = 4
# With --density auto, model batches of grid windows per block (see WindowStage).
AUTO_BLOCK_BATCHES = 4

# (source label, audio seconds done, total seconds or None when the container does not say)
ProgressCallback = Callable[[str, float, "float | None"], None]
# (source label, stream index, a span that is final): called as soon as the segmenter can vouch for a span
SpanCallback = Callable[[str, "int | None", Span], None]

T = TypeVar("T")


def analyse_stream(
    label: str,
    stream: int | None,
    chunks: Iterable[np.ndarray],
    expected_seconds: float | None,
    options: DetectOptions,
    classifier: Classifier,
    progress: ProgressCallback | None = None,
    on_span: SpanCallback | None = None,
) -> Timeline:
    """The Timeline of one stream of decoded 16 kHz chunks, with ``options`` already resolved for the model."""
    spec = options.window_spec()
    fetched = prefetch(chunks, PREFETCH_CHUNKS)
    counter = SampleCounter(fetched)
    stage = WindowStage(classifier, options, spec)
    spans: list[Span] = []

    def report(done: float) -> None:
        if progress:
            progress(label, done, expected_seconds)

    try:
        results = stage(window_batches(counter, options, stage.block_size), report)
        refine = stage.refiner if stage.refiner.probes else None
        for span in segment_incrementally(options.segmenter(), results, classifier.labels, refine):
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
    return build_timeline(label, stream, duration, options, classifier, spans, stage)


class RestrictedPredictor:
    """The classifier's posteriors renormalised over the expected languages (all of them without ``languages``):
    the one language restriction every engine, the scan and the tagger use."""

    def __init__(self, classifier: Classifier, languages: Sequence[str] | None) -> None:
        self.classifier = classifier
        self.allowed = label_indices(languages, classifier.labels)  # a language the model lacks: UsageError

    def __call__(self, batch: Sequence[np.ndarray]) -> np.ndarray:
        return restrict(self.classifier.predict(batch), self.allowed)


class SpeechGate:
    """Which windows have enough speech to classify (everything when speech detection is off)."""

    def __init__(self, options: DetectOptions) -> None:
        self.enabled = options.vad
        self.min_speech = options.min_speech
        self.detector = SpeechDetector() if options.vad else None  # stateful: one per stream, fed in order

    def __call__(self, batch: list[Window]) -> tuple[list[WindowSpeech | None], list[int]]:
        """Speech in each window of a model batch of one stream (the whole batch through the detector in one call;
        None everywhere without a detector) and the indexes of the windows with enough speech to classify."""
        if self.detector is None:
            return [None] * len(batch), list(range(len(batch)))
        for window in batch:
            self.detector.add(window.start_sample, window.samples)
        found = [self.detector.speech(w.start_sample, w.end_sample) for w in batch]
        self.detector.forget(batch[-1].start_sample)
        speech: list[WindowSpeech | None] = list(found)
        return speech, [i for i, share in enumerate(found) if share.fraction >= self.min_speech]

    def has_speech(self, clip: np.ndarray) -> bool:
        """Whether a clip on its own (a scan probe) has enough speech to classify."""
        if not self.enabled:
            return True
        # A fresh detector per clip: probes are not contiguous. The network itself is loaded once per process.
        return SpeechDetector()(0, clip).fraction >= self.min_speech


class WindowStage:
    """Model batches of windows → WindowResults: the speech gate, then the classifier on the windows with speech
    (posteriors restricted to the expected languages). Also keeps the recent audio that boundary probes need."""

    def __init__(self, classifier: Classifier, options: DetectOptions, spec: WindowSpec) -> None:
        self.options = options
        self.predict = RestrictedPredictor(classifier, options.languages)
        self.gate = SpeechGate(options)
        self.spec = spec
        # Dense: every speech window, a model batch at a time. Auto: blocks of AUTO_BLOCK_BATCHES × ``stride``
        # batches: the grid is about AUTO_BLOCK_BATCHES full batches, and the windows between anchors that disagree
        # gather into batches of their own (engine/density.py). Small blocks would send most refills one by one,
        # and a model call of one window costs far more per window than a full batch (measured in
        # docs/benchmarks.md).
        stride = grid_stride(options.min_span or 0.0, spec.seconds(spec.hop_samples)) if options.density == "auto" else 1
        self.density = AdaptiveDensity(stride)
        self.block_size = options.batch_size * (stride * AUTO_BLOCK_BATCHES if stride > 1 else 1)
        # Probes need recent audio only: as far back as a change of language can still be undecided.
        self.audio = AudioBuffer(refine_history(options, spec, self.block_size), spec.sample_rate)
        self.refiner = BoundaryRefiner(
            ClassifierProbe(self.predict, self.audio), spec.window, options.boundary_probes()
        )
        self.kept: list[WindowResult] = []  # every result, only with include_windows
        self.windows = self.classified = self.inferred = 0

    def __call__(self, batches: Iterable[list[Window]], progress: Callable[[float], object]) -> Iterator[WindowResult]:
        for batch in batches:
            for window in batch:
                self.audio.add(window.start_sample, window.samples)
            speech, wanted = self.gate(batch)
            chosen = set(wanted)
            probabilities, inferred = self.density([i in chosen for i in range(len(batch))], self._predictor(batch))
            results = window_results(batch, speech, probabilities, inferred)
            self.windows += len(results)
            self.classified += len(wanted) - len(inferred)
            self.inferred += len(inferred)
            if self.options.include_windows:
                self.kept.extend(results)
            progress(self.spec.seconds(batch[-1].end_sample))
            yield from results

    def _predictor(self, batch: list[Window]) -> Callable[[list[int]], np.ndarray]:
        """Posteriors of the windows at the given positions of ``batch``, a model batch at a time."""

        def predict(positions: list[int]) -> np.ndarray:
            calls = batched([batch[i].samples for i in positions], self.options.batch_size)
            return np.concatenate([self.predict(samples) for samples in calls])

        return predict

    def stats(self, duration: float) -> dict[str, float]:
        model_windows = self.classified + self.refiner.windows_used
        return {
            "windows": self.windows,
            "classified_windows": self.classified,
            "inferred_windows": self.inferred,
            "refinement_windows": self.refiner.windows_used,
            "boundaries_refined": self.refiner.refined,
            "boundaries_unrefined": self.refiner.unrefined,
            # What the model cost, comparable across densities, window lengths and inputs.
            "classified_per_minute": round(model_windows * 60 / duration, 2) if duration > 0 else 0.0,
        }


def window_batches(chunks: Iterable[np.ndarray], options: DetectOptions, size: int | None = None) -> Iterator[list[Window]]:
    """The windows of one stream in batches of ``size`` (a model batch by default) equal-length windows: a short last
    window gets a batch of its own, so full windows are never padded to a common length (padding costs model time
    and needs masking)."""
    size = size or options.batch_size
    batch: list[Window] = []
    for window in iter_windows(chunks, options.window_spec()):
        if batch and len(window.samples) != len(batch[0].samples):
            yield batch
            batch = []
        batch.append(window)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of up to ``size`` items, in order."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def window_results(
    batch: Sequence[Window],
    speech: Sequence[WindowSpeech | None],
    probabilities: dict[int, np.ndarray],
    inferred: set[int] | frozenset[int] = frozenset(),
) -> list[WindowResult]:
    """WindowResults of one batch; windows missing from ``probabilities`` were not classified (no speech)."""
    return [
        WindowResult(
            window.tile_start,
            window.tile_end,
            probabilities.get(i),
            speech=found.fraction if found else None,
            speech_intervals=found.intervals if found else (),
            inferred=i in inferred,
        )
        for i, (window, found) in enumerate(zip(batch, speech, strict=True))
    ]


def build_timeline(
    label: str,
    stream: int | None,
    duration: float,
    options: DetectOptions,
    classifier: Classifier,
    spans: Sequence[Span],
    stage: WindowStage,
) -> Timeline:
    return Timeline(
        source=label,
        stream=stream,
        duration=duration,
        model=classifier.name,
        revision=classifier.revision,
        options=options_to_dict(options),
        spans=tuple(spans),
        labels=tuple(classifier.labels),
        windows=tuple(stage.kept) if options.include_windows else None,
        stats=stage.stats(duration),
        precision=getattr(classifier, "precision", None),
    )


def refine_history(options: DetectOptions, spec: WindowSpec, block: int | None = None) -> float:
    """Seconds of audio to keep for probes: a language change is final at most ``MAX_LAG`` speech windows plus one
    block of windows (a model batch when dense) and ``min_span`` after its windows were read (≈ 65 s, 4 MB, dense
    at the defaults; ≈ 170 s, 11 MB, with ``--density auto``'s blocks of 64 windows)."""
    hop = spec.seconds(spec.hop_samples)
    min_span = options.min_span or 0.0
    return (MAX_LAG + (block or options.batch_size) + 3) * hop + min_span + spec.window


class SampleCounter:
    """Passes chunks through and counts samples: the true duration is what was decoded, not the header's claim."""

    def __init__(self, chunks: Iterable[np.ndarray]) -> None:
        self._chunks = chunks
        self.samples = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        for chunk in self._chunks:
            self.samples += len(chunk)
            yield chunk


def segment_incrementally(
    segmenter: Any, windows: Iterable[WindowResult], labels: Sequence[str], refine: Any = None
) -> Iterator[Span]:
    """Spans as soon as they are final: through ``segmenter.stream`` when the segmenter has one (it yields each
    span once later windows can no longer change it), otherwise all at once at the end of the stream."""
    if hasattr(segmenter, "stream"):
        yield from (
            segmenter.stream(windows, labels, refine) if refine is not None else segmenter.stream(windows, labels)
        )
    else:
        yield from segmenter(list(windows), labels)
