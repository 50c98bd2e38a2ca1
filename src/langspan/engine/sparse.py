"""Sparse scan: the dominant language of each audio stream from a few probe windows instead of a full pass.

Tagging a track needs one answer per stream ("this track is German"), not a timeline, and a full pass over an
hour of audio costs many minutes of CPU. The scan classifies probe windows spread over the track and stops as
soon as the leading language is statistically certain.

Where the probes go: probe *i* starts at fraction ``v(i)`` of the track, where ``v`` is the base-2 van der Corput
sequence (1/2, 1/4, 3/4, 1/8, 5/8, 3/8, 7/8, …). Every prefix of it is spread evenly over the whole track, so the
scan can stop after any number of probes without having looked at only one part. Each probe is decoded on its
own with an ffmpeg input seek (``media.decode_clip``): nothing before it is decoded.

The stopping rule: each probe with speech (speech detection as in a full pass, ``vad``/``min_speech``) votes for
its most probable language; a probe of pauses or music does not vote. With ``k1`` votes for the leader and ``k2``
for the runner-up, the probability that the leader's share of the track is truly larger than the runner-up's,
under a uniform prior on their split, is the mass of Beta(k1 + 1, k2 + 1) above 1/2, which equals
``P(Binomial(k1 + k2 + 1, 1/2) ≤ k1)`` (exact, no approximation). The scan stops once at least ``min_probes``
probes have voted and this probability reaches ``confidence`` — e.g. 8 of 8 probes agreeing gives 0.998, 14 of 16
gives 0.9988, 7 of 8 only 0.980. When ``max_probes`` probes leave the answer uncertain (a track with two
languages in similar amounts), the evidence disagrees and the scan falls back to a full pass over the stream; a
track so short that the probes would cover it anyway, or one whose duration is unknown, gets the full pass too.

Probes go to the model in batches no larger than a stop could need (``StoppingRule.probes_to_stop``): the first
holds ``min_probes``, and after 7 of 8 agreeing votes the next holds the 2 that could end the scan, not a whole
batch of 8; the streams' probes share model calls. The clips are decoded in the background (frontend/probes.py):
every stream's first batch at once, while the model loads; then, while the model classifies a round, the next
round's probes — none when this round's agreement would end the scan (``StoppingRule.read_ahead``).
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from math import comb
from typing import Any, cast

import numpy as np

from ..errors import LangspanError, UsageError
from ..frontend import media
from ..frontend.probes import ProbeClips
from ..languages import language_name
from ..models.base import Classifier
from ..models.registry import read_info
from ..options import DetectOptions
from ..timeline import Timeline
from .core import ProgressCallback, RestrictedPredictor, SpeechGate, batched
from .local import detect, effective_options, obtain_classifier


@dataclass(frozen=True)
class ScanResult:
    """The dominant language of one audio stream, and how much audio the answer rests on."""

    source: str
    stream: int | None
    duration: float
    """Track length in seconds (from the container; what was decoded after a full pass)."""
    language: str | None
    """Most voted language; None when no window could be classified (a silent or empty track)."""
    share: float
    """Fraction of the classified windows that voted for ``language``."""
    confidence: float
    """Probability that ``language`` truly leads the runner-up (the stopping rule's Beta/binomial bound)."""
    support: float
    """Mean probability the model gave ``language`` in the windows that voted for it (how sure each vote was)."""
    evidence_seconds: float
    """Audio seconds the model classified, probes before a full pass included: compare with ``duration``."""
    windows: int
    """Windows that voted (after a full pass: the full pass's windows)."""
    full_pass: bool
    """True when the probes were not conclusive (or the track too short) and every window was classified."""
    votes: tuple[tuple[str, int], ...]
    """Windows per language, most voted first."""
    timeline: Timeline | None = field(default=None, compare=False, repr=False)
    """The full pass's timeline, when one ran."""

    @property
    def name(self) -> str:
        return language_name(self.language) if self.language else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "stream": self.stream,
            "duration": round(self.duration, 3),
            "language": self.language,
            "name": self.name,
            "share": round(self.share, 4),
            "confidence": round(self.confidence, 4),
            "support": round(self.support, 4),
            "evidence_seconds": round(self.evidence_seconds, 3),
            "windows": self.windows,
            "full_pass": self.full_pass,
            "votes": dict(self.votes),
        }


@dataclass(frozen=True)
class StoppingRule:
    """When the scan may stop (see the module docstring)."""

    confidence: float = 0.99
    min_probes: int = 8
    max_probes: int = 48

    def __post_init__(self) -> None:
        if not 0.5 < self.confidence < 1:
            raise UsageError(f"scan confidence must be in (0.5, 1), got {self.confidence}")
        if not 1 <= self.min_probes <= self.max_probes:
            raise UsageError(f"need 1 <= min_probes <= max_probes, got {self.min_probes} and {self.max_probes}")

    def satisfied(self, votes: Counter) -> bool:
        return sum(votes.values()) >= self.min_probes and _confidence(votes) >= self.confidence

    def probes_to_stop(self, votes: Counter, most: int) -> int:
        """How many more probes could let the scan stop: the fewest that would satisfy the rule if they all voted
        for the leader (at least 1, at most ``most``, the batch size). Asking the model for more than that
        classifies windows that a stop would have made unnecessary (each full-size window costs ~0.2 s)."""
        for extra in range(1, most):
            if self.satisfied(_agreeing(votes, extra)):
                return extra
        return most

    def read_ahead(self, votes: Counter, voting: int, most: int) -> int:
        """Probes worth decoding while ``voting`` more probes are classified: none if their agreement would end the
        scan, else what the next round would then ask for. A clip decoded and never classified costs an ffmpeg
        process competing with the model for the cores."""
        hoped = _agreeing(votes, voting)
        return 0 if self.satisfied(hoped) else self.probes_to_stop(hoped, most)


def _agreeing(votes: Counter, extra: int) -> Counter:
    """``votes`` with ``extra`` more votes for the leader."""
    leader = votes.most_common(1)[0][0] if votes else "leader"
    return votes + Counter({leader: extra})


def scan(
    source: str | os.PathLike[str],
    options: DetectOptions | None = None,
    *,
    confidence: float = StoppingRule.confidence,
    min_probes: int = StoppingRule.min_probes,
    max_probes: int = StoppingRule.max_probes,
    classifier: Classifier | Callable[[], Classifier] | None = None,
    progress: ProgressCallback | None = None,
    media_info: media.MediaInfo | None = None,
    **overrides: Any,
) -> list[ScanResult]:
    """The dominant language of every selected audio stream of a media file, from as few windows as needed.

    ``options`` and ``overrides`` are DetectOptions fields (model, precision, window, streams, …), used for the
    probes and for any full pass; ``classifier`` is a loaded classifier, a function returning one, or None (load
    ``options.model``): a model still to be loaded is loaded while the first probes decode. ``progress`` follows
    a full pass (probes take seconds); ``media_info`` is the file's probe when the caller has it already. Probes
    are restricted to ``languages`` as a full pass is.
    """
    if not isinstance(source, (str, os.PathLike)):
        raise UsageError(f"scan needs a media file path, not a {type(source).__name__}; use detect() for arrays")
    rule = StoppingRule(confidence, min_probes, max_probes)
    options = replace(options or DetectOptions(), **overrides)
    info = media_info or media.probe(source, options.allow_url)
    streams = info.select(options.streams)
    # The probes start decoding before a model still to be loaded has loaded: their window length is the family's,
    # which its configuration tells. A factory's model may be another than options.model: then they restart.
    assumed = _options_before_loading(options, classifier)
    probes = _start_probes(str(source), streams, assumed, rule) if assumed else {}
    try:
        model = obtain_classifier(classifier, options)
        options = effective_options(options, model)
        if assumed is None or assumed.window_spec() != options.window_spec():
            _close(probes)
            probes = _start_probes(str(source), streams, options, rule)
        tallies = [_Tally(stream, clips) for stream in streams if (clips := probes[stream.index]) is not None]
        _vote(tallies, options, model, rule)
        decided = {tally.stream.index: tally.result(str(source)) for tally in tallies if rule.satisfied(tally.votes)}
        return [
            decided.get(stream.index)
            or _full_pass(str(source), info, stream.index, options, model, _seconds(tallies, stream), progress)
            for stream in streams
        ]
    finally:
        _close(probes)


def _options_before_loading(
    options: DetectOptions, classifier: Classifier | Callable[[], Classifier] | None
) -> DetectOptions | None:
    """The options resolved for the model's family before its weights load; None when that cannot be known yet."""
    if hasattr(classifier, "predict"):
        return effective_options(options, cast(Classifier, classifier))
    try:
        return options.resolved(read_info(options.model, options.revision))
    except LangspanError:  # a factory's own model, or one that will fail to load: known once it has loaded
        return None


def _start_probes(
    path: str, streams: Sequence[media.AudioStream], options: DetectOptions, rule: StoppingRule
) -> dict[int, ProbeClips | None]:
    return {stream.index: _probe_clips(path, stream, options, rule) for stream in streams}


def _close(probes: dict[int, ProbeClips | None]) -> None:
    for clips in probes.values():
        if clips is not None:
            clips.close()
    probes.clear()


def _probe_clips(path: str, stream: media.AudioStream, options: DetectOptions, rule: StoppingRule) -> ProbeClips | None:
    """The stream's probe clips, the first batch already decoding; None when the stream gets a full pass instead
    (too short for probes to save anything, or of unknown duration)."""
    spec = options.window_spec()
    if stream.duration is None or stream.duration <= rule.max_probes * spec.window:
        return None
    return ProbeClips(
        lambda start: media.decode_clip(path, stream.index, start, spec.window, options.allow_url),
        probe_starts(stream.duration, spec.window, rule.max_probes),
        ask=rule.probes_to_stop(Counter(), options.batch_size),
    )


@dataclass
class _Tally:
    """One stream's probes and the votes they have cast so far."""

    stream: media.AudioStream
    clips: ProbeClips
    votes: Counter = field(default_factory=Counter)
    sums: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    seconds: float = 0.0

    def result(self, path: str) -> ScanResult:
        return _result(path, self.stream.index, self.stream.duration or 0.0, self.votes, self.sums, self.seconds)


def _vote(tallies: list[_Tally], options: DetectOptions, classifier: Classifier, rule: StoppingRule) -> None:
    """Classify the streams' probes, in rounds, until each stream's rule is satisfied or its probes run out.

    Each round takes from every open stream the probes that could end its scan and sends them to the model
    together (in model batches of ``batch_size``): two streams' rounds of 2 probes are one call of 4, not two of
    2 (a full-size model's call of 2 costs ~1.4x per window what a full batch does)."""
    spec = options.window_spec()
    gate = SpeechGate(options)
    predict = RestrictedPredictor(classifier, options.languages)
    open_tallies = tallies
    while open_tallies:
        taken = [(tally, tally.clips.take(rule.probes_to_stop(tally.votes, options.batch_size))) for tally in open_tallies]
        usable = [
            (tally, clip)
            for tally, batch in taken
            for clip in batch
            if len(clip) >= spec.min_samples and gate.has_speech(clip)
        ]
        for tally, _ in taken:  # decoded while the model classifies this round
            tally.clips.ask(rule.read_ahead(tally.votes, sum(t is tally for t, _ in usable), options.batch_size))
        for chunk in batched(usable, options.batch_size):
            for (tally, clip), row in zip(chunk, predict([clip for _, clip in chunk]), strict=True):
                _count_votes(row[None], classifier.labels, tally.votes, tally.sums)
                tally.seconds += len(clip) / spec.sample_rate
        open_tallies = [tally for tally, batch in taken if batch and not rule.satisfied(tally.votes)]


def _seconds(tallies: list[_Tally], stream: media.AudioStream) -> float:
    """Audio seconds the probes of ``stream`` classified before its full pass (0 when it had no probes)."""
    return sum(tally.seconds for tally in tallies if tally.stream.index == stream.index)


def _count_votes(
    probabilities: np.ndarray, labels: tuple[str, ...], votes: Counter[str], sums: defaultdict[str, float]
) -> None:
    """Each window votes for its most probable label; ``sums`` adds up the probability behind each vote."""
    for row in probabilities:
        best = int(np.argmax(row))
        votes[labels[best]] += 1
        sums[labels[best]] += float(row[best])


def _full_pass(
    path: str,
    info: media.MediaInfo,
    index: int,
    options: DetectOptions,
    classifier: Classifier,
    probe_seconds: float,
    progress: ProgressCallback | None,
) -> ScanResult:
    # A full pass is the evidence of last resort: every speech window is classified (no adaptive density).
    dense = replace(options, streams=(index,), include_windows=True, density="dense")
    (timeline,) = detect(path, dense, classifier=classifier, progress=progress, media_info=info)
    # Inferred windows (adaptive density) were not classified: they neither vote nor count as evidence.
    classified = [w for w in timeline.windows or () if w.probabilities is not None and not w.inferred]
    votes: Counter = Counter()
    probability_sums: defaultdict[str, float] = defaultdict(float)
    rows = [w.probabilities for w in classified if w.probabilities is not None]
    if rows:
        _count_votes(np.stack(rows), timeline.labels, votes, probability_sums)
    seconds = probe_seconds + sum(w.end - w.start for w in classified)
    return _result(path, index, timeline.duration, votes, probability_sums, seconds, timeline)


def _result(
    path: str,
    index: int,
    duration: float,
    votes: Counter,
    probability_sums: defaultdict[str, float],
    seconds: float,
    timeline: Timeline | None = None,
) -> ScanResult:
    ranked = tuple(votes.most_common())
    total = sum(votes.values())
    leader = ranked[0][0] if ranked else None
    return ScanResult(
        source=path,
        stream=index,
        duration=duration,
        language=leader,
        share=ranked[0][1] / total if ranked else 0.0,
        confidence=_confidence(votes),
        support=probability_sums[leader] / votes[leader] if leader else 0.0,
        evidence_seconds=seconds,
        windows=total,
        full_pass=timeline is not None,
        votes=ranked,
        timeline=timeline,
    )


def _confidence(votes: Counter) -> float:
    """P(leader's share > runner-up's share | votes): Beta(k1+1, k2+1) above 1/2 = P(Bin(k1+k2+1, 1/2) <= k1)."""
    ranked = [count for _, count in votes.most_common(2)]
    if not ranked:
        return 0.0
    leader, runner_up = ranked[0], (ranked[1] if len(ranked) > 1 else 0)
    n = leader + runner_up + 1
    return sum(comb(n, i) for i in range(leader + 1)) / 2**n


def probe_starts(duration: float, window: float, count: int) -> list[float]:
    """Start times of ``count`` probes of ``window`` seconds, in van der Corput order over the track."""
    span = max(duration - window, 0.0)
    return [_van_der_corput(i) * span for i in range(1, count + 1)]


def _van_der_corput(i: int) -> float:
    fraction, denominator = 0.0, 1.0
    while i:
        denominator *= 2
        i, bit = divmod(i, 2)
        fraction += bit / denominator
    return fraction
