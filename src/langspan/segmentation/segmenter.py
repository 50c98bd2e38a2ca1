"""Turn per-window posteriors into language spans.

A segmenter is configured in ``__init__`` and applied with ``__call__(windows, labels) -> list[Span]``, so the
pipeline can swap one for another without knowing how it decides. A segmenter that can tell when a span is final
before the stream ends also offers ``stream(windows, labels) -> Iterator[Span]``, which consumes an iterator of
windows and yields each span as soon as later windows can no longer change it; the pipeline uses it to stream
spans (``--format jsonl`` on stdout) and falls back to ``__call__`` at the end of the stream otherwise.

``MergeSegmenter`` is the naive baseline: each window's most likely label, consecutive equal labels merged.
``SmoothingSegmenter`` is the default. In four steps:

1. **Decode** the most likely label sequence with an HMM whose states are the model's labels: the emission score of
   a window is its log posterior (floored, so one confidently wrong window costs at most ``log(1/floor)``), and
   every change of language costs ``switch_penalty`` nats. Non-speech windows carry no language evidence and are
   stepped over, so a pause does not reset the language. The decoder (``decoder.OnlineViterbi``) is online: a
   window's label is final as soon as every surviving path agrees on it, or at the latest ``max_lag`` speech
   windows later.
2. **Minimum span**: a language run shorter than ``min_span`` seconds is given to the neighbouring language the run's
   own windows find more probable (shortest first). A speech run between two non-speech runs is kept.
3. **Boundaries**: an edge next to non-speech moves to the speech onset/offset the speech detector found; a change
   between two languages is handed to an optional ``refine`` callback (``refine.BoundaryRefiner``) that places it
   more precisely with a few extra classifier windows, then moves into a pause the speech detector heard within
   ``pause_snap`` seconds of that estimate, if there is one.
4. **Unknown**: a span's ``confidence`` is the mean posterior of its language over its windows; below
   ``min_confidence`` the span becomes ``und`` (its best guess stays first among the alternatives) and
   neighbouring ``und`` spans merge.

``SmoothingSegmenter.stream(windows, labels, refine)`` yields each span as soon as it is final (``start(labels,
refine)`` gives the same as a push-style object); memory is bounded by ``max_lag`` windows and the runs shorter
than ``min_span``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby

import numpy as np

from ..errors import UsageError
from ..frontend.vad import nearest_pause, speech_offset, speech_onset
from ..languages import NONSPEECH, UNKNOWN
from ..timeline import Alternative, Span, WindowResult
from .decoder import SILENT, OnlineViterbi

# Defaults, checked on benchmarks/segmenter_sim.py (see docs/benchmarks.md) and sized for 2 s windows.
# A detour into another language and back costs 2 × 3 = 6 nats, while one window's evidence is capped at
# log(1/0.01) = 4.6: a single wrong window can never open a span, however sure the model is of it. Two windows at
# 99% (2 × 4.6) or three at 90% (3 × 2.2) can. Higher penalties (4-6) lost more real short stretches in the
# simulation for few fewer spurious spans.
SWITCH_PENALTY = 3.0
EMISSION_FLOOR = 0.01
# One 2 s window alone is not a span; two are. A real language stretch shorter than 3 s is rare and hard to tell.
MIN_SPAN = 3.0
# Below this mean posterior the model spreads most of its belief over other languages: say `und`. (At 0.5 the
# simulation turned many right-but-noisy spans into `und`; at 0.3 clearly unreliable guesses were reported.)
MIN_CONFIDENCE = 0.4
# A change of language moves into a pause of at least MIN_PAUSE seconds found within PAUSE_SNAP seconds of where
# the windows (or probes) put it: refined estimates are mostly within a few tenths of a second of the truth, and
# pauses between sentences are usually longer than the 30-100 ms gaps inside words that the detector may hear.
PAUSE_SNAP = 0.5
MIN_PAUSE = 0.15
# Speech windows a label may stay undecided before the decoder commits to its best path (40 s at 2 s windows).
MAX_LAG = 20


class MergeSegmenter:
    """Consecutive windows with the same most likely label become one span.

    The span's confidence is the mean probability of its label over its windows; its alternatives are the
    ``top_k`` labels with the highest mean probability over the same windows. Windows that were never
    classified (``probabilities is None``) become ``nonspeech`` spans.
    """

    def __init__(self, top_k: int = 3) -> None:
        self.top_k = top_k

    def __call__(self, windows: Sequence[WindowResult], labels: Sequence[str]) -> list[Span]:
        return list(self.stream(windows, labels))

    def stream(self, windows: Iterable[WindowResult], labels: Sequence[str]) -> Iterator[Span]:
        """A span is final as soon as a window with a different label arrives (groupby reads lazily)."""

        def key(window: WindowResult) -> str:
            if window.probabilities is None:
                return NONSPEECH
            return labels[int(np.argmax(window.probabilities))]

        for language, group in groupby(windows, key=key):
            yield self._span(language, list(group), labels)

    def _span(self, language: str, windows: list[WindowResult], labels: Sequence[str]) -> Span:
        start, end = windows[0].start, windows[-1].end
        if language == NONSPEECH:
            return Span(start, end, NONSPEECH, 1.0)
        # Every window of a language run was classified (unclassified ones are nonspeech): nothing is left out.
        mean = np.mean([w.probabilities for w in windows if w.probabilities is not None], axis=0)
        return Span(start, end, language, float(mean[labels.index(language)]), top_alternatives(mean, labels, self.top_k))


def top_alternatives(probabilities: np.ndarray, labels: Sequence[str], k: int) -> tuple[Alternative, ...]:
    """The k most probable labels, best first (ties broken by label order, so output is deterministic); labels
    with no probability at all (ruled out by --languages) are left out."""
    order = np.argsort(-probabilities, kind="stable")[:k]
    return tuple(Alternative(float(probabilities[i]), labels[i]) for i in order if probabilities[i] > 0)


def restrict(probabilities: np.ndarray, allowed: Sequence[int] | None) -> np.ndarray:
    """Posteriors [..., labels] renormalised over the ``allowed`` label indexes (others become 0): the model's
    belief given that only those languages occur. None leaves them unchanged."""
    if allowed is None:
        return probabilities
    kept = np.zeros_like(probabilities)
    kept[..., list(allowed)] = probabilities[..., list(allowed)]
    total = kept.sum(axis=-1, keepdims=True)
    # If the model gave the allowed languages no mass at all, no allowed language is favoured.
    uniform = np.zeros_like(kept)
    uniform[..., list(allowed)] = 1.0 / len(allowed)
    return np.where(total > 0, kept / np.where(total > 0, total, 1.0), uniform)


@dataclass(frozen=True)
class Boundary:
    """A change between two languages, at ``time``, between window ``left`` (last of the earlier span) and window
    ``right`` (first of the later one); the labels are indexes into the model's labels."""

    time: float
    left: WindowResult
    right: WindowResult
    left_label: int
    right_label: int


# Given a language change, a more precise time for it (None: keep ``boundary.time``).
Refine = Callable[[Boundary], "float | None"]


class SmoothingSegmenter:
    """HMM decoding + minimum span + boundary placement + unknown (see the module docstring)."""

    def __init__(
        self,
        top_k: int = 3,
        switch_penalty: float = SWITCH_PENALTY,
        min_span: float = MIN_SPAN,
        min_confidence: float = MIN_CONFIDENCE,
        max_lag: int = MAX_LAG,
        emission_floor: float = EMISSION_FLOOR,
        pause_snap: float = PAUSE_SNAP,
    ) -> None:
        if switch_penalty < 0:
            raise UsageError(f"--switch-penalty must be at least 0, got {switch_penalty}")
        if min_span < 0:
            raise UsageError(f"--min-span must be at least 0, got {min_span}")
        if not 0 <= min_confidence <= 1:
            raise UsageError(f"--min-confidence must be in [0, 1], got {min_confidence}")
        if max_lag < 1 or not 0 < emission_floor < 1:
            raise UsageError("max_lag must be ≥ 1 and emission_floor in (0, 1)")
        self.top_k = top_k
        self.switch_penalty = switch_penalty
        self.min_span = min_span
        self.min_confidence = min_confidence
        self.max_lag = max_lag
        self.emission_floor = emission_floor
        self.pause_snap = pause_snap

    def __call__(self, windows: Iterable[WindowResult], labels: Sequence[str], refine: Refine | None = None) -> list[Span]:
        return list(self.stream(windows, labels, refine))

    def stream(self, windows: Iterable[WindowResult], labels: Sequence[str], refine: Refine | None = None) -> Iterator[Span]:
        """The spans of ``windows`` (in order), each yielded as soon as it is final."""
        spans = self.start(labels, refine)
        for window in windows:
            yield from spans.push(window)
        yield from spans.flush()

    def start(self, labels: Sequence[str], refine: Refine | None = None) -> SpanStream:
        """A push-style segmenter for one audio stream: ``push`` each window, ``flush`` at the end."""
        return SpanStream(self, tuple(labels), refine)


@dataclass
class _Run:
    """Consecutive windows with one decoded label; ``total`` sums their posteriors (None for non-speech)."""

    label: int
    start: float
    end: float
    first: WindowResult
    last: WindowResult
    windows: int
    total: np.ndarray | None
    speech: float  # sum of the windows' speech fractions

    @property
    def duration(self) -> float:
        return self.end - self.start

    def absorb(self, other: _Run) -> None:
        """Take over ``other`` (a neighbour) with this run's label."""
        if other.start < self.start:
            self.start, self.first = other.start, other.first
        else:
            self.end, self.last = other.end, other.last
        self.windows += other.windows
        self.speech += other.speech
        if other.total is not None:
            self.total = other.total if self.total is None else self.total + other.total


class SpanStream:
    """Windows in (in order, via ``push``), final spans out; ``flush`` at the end of the audio."""

    def __init__(self, config: SmoothingSegmenter, labels: tuple[str, ...], refine: Refine | None) -> None:
        self.config = config
        self.labels = labels
        self.refine = refine
        self._decoder = OnlineViterbi(config.switch_penalty, config.max_lag, config.emission_floor)
        self._runs: list[_Run] = []  # runs whose labels may still change through the minimum-span rule
        self._unknown: _Run | None = None  # a finished `und` run, waiting in case the next one is `und` too

    def push(self, window: WindowResult) -> list[Span]:
        return self._spans(self._decoder.push(window), end=False)

    def flush(self) -> list[Span]:
        return self._spans(self._decoder.flush(), end=True)

    def _spans(self, decided: list[tuple[WindowResult, int]], end: bool) -> list[Span]:
        finished: list[_Run] = []
        for window, label in decided:
            self._add(window, label)
            last = self._runs[-1]
            if len(self._runs) > 1 and (last.label == SILENT or last.duration >= self.config.min_span):
                # The newest run can no longer be merged away: everything before it is settled.
                self._enforce_min_span()
                finished.extend(self._runs[:-1])
                del self._runs[:-1]
        if end:
            self._enforce_min_span()
            finished.extend(self._runs)
            self._runs = []
        spans: list[Span] = []
        for i, run in enumerate(finished):
            following = finished[i + 1] if i + 1 < len(finished) else (self._runs[0] if self._runs else None)
            spans.extend(self._finish(run, following))
        if end and self._unknown is not None:
            spans.append(self._span(self._unknown, UNKNOWN))
            self._unknown = None
        return spans

    def _add(self, window: WindowResult, label: int) -> None:
        speech = window.speech if window.speech is not None else float(window.probabilities is not None)
        if self._runs and self._runs[-1].label == label:
            self._runs[-1].absorb(_Run(label, window.start, window.end, window, window, 1, window.probabilities, speech))
            return
        total = None if window.probabilities is None else window.probabilities.astype(np.float64)
        self._runs.append(_Run(label, window.start, window.end, window, window, 1, total, speech))

    def _enforce_min_span(self) -> None:
        """Give each too-short language run to its better speech neighbour, shortest first."""
        runs = self._runs
        while True:
            short = [
                i for i, run in enumerate(runs)
                if run.label != SILENT and run.duration < self.config.min_span and self._speech_neighbours(i)
            ]  # fmt: skip
            if not short:
                return
            i = min(short, key=lambda index: (runs[index].duration, index))
            assert runs[i].total is not None
            target = max(self._speech_neighbours(i), key=lambda j: (runs[i].total[runs[j].label], -j))  # type: ignore[index]
            runs[target].absorb(runs.pop(i))
            target -= target > i
            for j in (target + 1, target - 1):  # the grown run may now touch a run of its own language
                if 0 <= j < len(runs) and j != target and runs[j].label == runs[target].label:
                    runs[min(j, target)].absorb(runs.pop(max(j, target)))
                    target = min(j, target)

    def _speech_neighbours(self, i: int) -> list[int]:
        return [j for j in (i - 1, i + 1) if 0 <= j < len(self._runs) and self._runs[j].label != SILENT]

    def _finish(self, run: _Run, following: _Run | None) -> list[Span]:
        """Place the run's end against the next run (already known), label it, and merge `und` neighbours: an
        `und` run waits for the next finished run in case that one is `und` too."""
        if following is not None:
            self._place_boundary(run, following)
        language = self._language(run)
        spans: list[Span] = []
        if self._unknown is not None:
            if language == UNKNOWN:
                self._unknown.absorb(run)
                return spans
            spans.append(self._span(self._unknown, UNKNOWN))
            self._unknown = None
        if language == UNKNOWN:
            self._unknown = run
        else:
            spans.append(self._span(run, language))
        return spans

    def _place_boundary(self, run: _Run, following: _Run) -> None:
        time = run.end
        lo, hi = run.last.start, following.first.end  # a boundary moves at most one window either way
        lo, hi = max(lo, run.start), min(hi, following.end)
        intervals = run.last.speech_intervals + following.first.speech_intervals
        placed: float | None = None
        if run.label == SILENT and following.label != SILENT:
            placed = speech_onset(intervals, time, limit=lo)
        elif run.label != SILENT and following.label == SILENT:
            placed = speech_offset(intervals, time, limit=hi)
        elif run.label != following.label:
            if self.refine is not None:
                placed = self.refine(Boundary(time, run.last, following.first, run.label, following.label))
            # A pause the speech detector heard next to the estimate is a sharper boundary than any estimate.
            estimate = time if placed is None else placed
            pause = nearest_pause(intervals, estimate, self.config.pause_snap, MIN_PAUSE)
            placed = placed if pause is None else pause
        if placed is not None:
            placed = min(max(placed, lo), hi)
            if run.start < placed < following.end:  # never leave an empty span behind
                run.end = following.start = placed

    def _language(self, run: _Run) -> str:
        if run.label == SILENT:
            return NONSPEECH
        assert run.total is not None
        confidence = run.total[run.label] / run.windows
        return self.labels[run.label] if confidence >= self.config.min_confidence else UNKNOWN

    def _span(self, run: _Run, language: str) -> Span:
        if run.total is None:
            # Non-speech: the confidence is the share of the span the speech detector called non-speech.
            return Span(run.start, run.end, NONSPEECH, max(0.0, 1.0 - run.speech / run.windows))
        mean = run.total / run.windows
        best = run.label if language != UNKNOWN else int(np.argmax(mean))
        alternatives = top_alternatives(mean, self.labels, self.config.top_k)
        return Span(run.start, run.end, language, float(mean[best]), alternatives)
