"""Tag audio tracks with their spoken language: one decision per track, a plan per stream, safety first.

Decision (``track_language``): the language with the most speech time in the track's timeline, counting only
spans in a real language (``nonspeech`` and ``und`` spans are neither evidence for nor against a language).

* it holds at least ``MAJORITY_SHARE`` of that speech → that language;
* speech, but no language that clear → ``mul`` (several languages);
* no speech at all → ``zxx``; speech only in ``und`` spans, or no spans at all → ``und``.

Its confidence is the duration-weighted mean confidence of the spans behind the decision; below the
``min_confidence`` option the stream's tag is left alone and the report says ``und``.

Evidence (``track_languages``): by default the sparse scan (``scan.py``) — probe windows spread over the track
until the leading language is statistically certain, a full pass where the probes disagree or the track is
short. From probes, the share is the leader's share of the votes and the confidence the mean probability the
model gave the leader in the probes that voted for it (the same quantity a span's confidence averages); the
same 60% rule applies. ``full_pass`` classifies every window and decides from the timeline as above.

Safety (``plan_stream``): a stream that already carries a language tag (anything but missing or ``und``) is
left alone — not even analysed — unless ``force``; nothing is written for ``dry_run`` or ``check``, and writing
goes through ``tagwriter`` (verified copy + atomic replace, or mkvpropedit's header edit).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..engine.core import ProgressCallback
from ..engine.local import detect, obtain_classifier
from ..engine.sparse import ScanResult, scan
from ..errors import UsageError
from ..frontend import media
from ..languages import (
    MULTIPLE,
    NO_SPEECH,
    NONSPEECH,
    UNKNOWN,
    bcp47,
    container_code,
    parse_language_list,
    same_language,
)
from ..models.base import Classifier
from ..options import DetectOptions
from ..timeline import Timeline, options_to_dict
from . import write as tagwriter

# A track is called one language when that language has at least 60% of its speech: above a bare majority, so
# that a half-and-half bilingual track plus a few misclassified windows is not called one language; below the
# 80–95% a monolingual track scores when 5–20% of its windows are misclassified.
MAJORITY_SHARE = 0.6
# Below this track confidence the existing tag is left alone: the model is guessing.
DEFAULT_MIN_CONFIDENCE = 0.5


@dataclass(frozen=True)
class TagOptions:
    """How ``langspan tag`` decides and writes; echoed into its JSON report."""

    detect: DetectOptions = field(default_factory=DetectOptions)
    """Model and analysis options; ``detect.streams`` selects the audio streams to tag (None: all)."""
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    """Track confidence below which the existing tag is left alone (and ``und`` is reported)."""
    languages: tuple[str, ...] | None = None
    """Languages the tracks may be in (ISO 639-3; 639-1 and names accepted, normalised as ``DetectOptions.languages``):
    the model's posteriors are renormalised over them, exactly as ``langspan detect --languages`` does."""
    force: bool = False
    """Also retag streams that already carry a language tag."""
    check: bool = False
    """Only compare existing tags with the detected languages; write nothing."""
    dry_run: bool = False
    """Decide and report, write nothing."""
    in_place: bool = False
    """Replace the input with the tagged file (ffmpeg) or edit its header (mkvpropedit)."""
    output: Path | None = None
    """Write a tagged copy here instead (single input only)."""
    overwrite: bool = False
    """Let ``output`` replace an existing file."""
    engine: str = "ffmpeg"
    """ffmpeg (verified stream copy, atomic replace) or mkvpropedit (Matroska header edit in place)."""
    full_pass: bool = False
    """Classify every window of each track instead of the sparse scan's probes."""

    def __post_init__(self) -> None:
        if self.languages is not None:  # normalised once, so the report echoes exactly what was used
            object.__setattr__(self, "languages", parse_language_list(self.languages))
        if not 0.0 <= self.min_confidence <= 1.0:
            raise UsageError(f"--min-confidence must be between 0 and 1, got {self.min_confidence}")
        if self.engine not in tagwriter.ENGINES:
            raise UsageError(f"--engine must be one of {', '.join(tagwriter.ENGINES)}, got {self.engine!r}")
        if self.in_place and self.output is not None:
            raise UsageError("--in-place and --output cannot be used together")
        if self.check and (self.in_place or self.output is not None):
            raise UsageError("--check writes nothing: it cannot be combined with --in-place or --output")

    @property
    def writes(self) -> bool:
        """Whether tags are written at all: only with a destination, and never for a dry run or a check."""
        return (self.in_place or self.output is not None) and not (self.check or self.dry_run)

    def to_dict(self) -> dict[str, Any]:
        names = ("min_confidence", "force", "check", "dry_run", "in_place", "overwrite", "engine", "full_pass")
        document: dict[str, Any] = {name: getattr(self, name) for name in names}
        document["languages"] = list(self.languages) if self.languages else None
        document["output"] = str(self.output) if self.output else None
        document["detect"] = options_to_dict(self.detect)
        return document


@dataclass(frozen=True)
class TrackLanguage:
    """The language of a whole audio track, and how sure and how well supported that is."""

    language: str
    """ISO 639-3 label of the model, or ``mul``, ``zxx``, ``und``."""
    confidence: float
    """Duration-weighted mean confidence of the spans behind the decision."""
    share: float
    """Fraction of the track's speech (in a known language) that is in ``language``; 0 for ``zxx``/``und``."""
    evidence: float
    """Seconds of audio behind the decision (from probes: the seconds the scan classified)."""
    full_pass: bool = True
    """False when the decision rests on the sparse scan's probes alone."""


@dataclass(frozen=True)
class StreamTag:
    """What happens to one audio stream."""

    stream: int
    """ffprobe stream index."""
    old: str | None
    """Its language tag, None when missing or ``und``."""
    detected: TrackLanguage | None
    """None when it was not analysed (already tagged, no ``force``)."""
    new: str | None
    """The container code of the detected language; None when not analysed or not confident enough."""
    action: str
    """``set`` (tag written, or would be), ``unchanged`` (already right), ``tagged`` (has a tag, no ``force``),
    ``uncertain`` (confidence below ``min_confidence``)."""

    @property
    def verdict(self) -> str:
        """For ``check``: ``agree``, ``disagree``, ``untagged``, ``uncertain``, or ``unchecked`` (not analysed)."""
        if self.detected is None:
            return "unchecked"
        if self.action == "uncertain":
            return "uncertain"
        if self.old is None:
            return "untagged"
        return "agree" if same_language(self.old, self.detected.language) else "disagree"

    @property
    def reported(self) -> str:
        """The tag the report shows as the new one: ``und`` when the model was not sure enough."""
        if self.action == "uncertain":
            return UNKNOWN
        return self.new or self.old or UNKNOWN


@dataclass(frozen=True)
class TagResult:
    """What ``tag_file`` did to one input."""

    source: str
    container: str
    streams: tuple[StreamTag, ...]
    written: str | None
    """The file written, None when nothing was."""

    @property
    def disagrees(self) -> bool:
        return any(stream.verdict == "disagree" for stream in self.streams)


def tag_file(
    path: str | Path,
    options: TagOptions | None = None,
    classifier: Classifier | Callable[[], Classifier] | None = None,
    progress: ProgressCallback | None = None,
) -> TagResult:
    """Decide the language of each selected audio stream of ``path`` and, when options say where, write the tags.

    ``classifier`` is a loaded classifier, or a function returning one, called only if a stream needs analysing
    (a file whose streams are all tagged already never loads the model); None loads ``options.detect.model``.
    """
    options = options or TagOptions()
    source = Path(path)
    before = media.probe_raw(source)
    container = tagwriter.container_of(source, before)
    if options.writes:  # a destination that cannot be written fails before minutes of analysis
        tagwriter.destination_container(source, container, options.output, options.overwrite, options.engine)
    info = media.media_info(str(source), before)  # the one probe: the analysis below reuses it
    streams = info.select(options.detect.streams)
    old = {stream.index: existing_tag(stream.language) for stream in streams}
    analyse = [index for index, tag in old.items() if tag is None or options.force or options.check]
    detected = track_languages(source, analyse, options, classifier, progress, info)
    plan = tuple(
        plan_stream(index, tag, detected.get(index), container.convention, options) for index, tag in old.items()
    )
    changes = {
        tag.stream: tagwriter.NewTag(tag.new, bcp47(tag.detected.language))  # type: ignore[arg-type, union-attr]
        for tag in plan
        if tag.action == "set"
    }
    written = None
    if options.writes and (changes or options.output is not None):
        target = tagwriter.write_tags(
            source, changes, before, output=options.output, overwrite=options.overwrite, engine=options.engine
        )
        written = str(target)
    return TagResult(str(source), container.convention, plan, written)


def existing_tag(tag: str | None) -> str | None:
    """A stream's language tag, None when it says nothing (missing, empty or ``und``)."""
    tag = (tag or "").strip().lower()
    return None if tag in ("", UNKNOWN) else tag


def track_languages(
    source: Path,
    streams: Sequence[int],
    options: TagOptions,
    classifier: Classifier | Callable[[], Classifier] | None,
    progress: ProgressCallback | None,
    media_info: media.MediaInfo | None = None,
) -> dict[int, TrackLanguage]:
    """The dominant language of each stream index: sparse scan, or a full pass with ``options.full_pass``.

    ``media_info`` is ``source``'s probe when the caller has it already (the file is then not probed again).
    """
    if not streams:
        return {}
    languages = options.languages if options.languages is not None else options.detect.languages
    detect_options = replace(options.detect, streams=tuple(streams), languages=languages)
    if options.full_pass:
        model = obtain_classifier(classifier, detect_options)
        timelines = detect(
            source, detect_options, classifier=model, progress=progress, media_info=media_info, density="dense"
        )
        return {timeline.stream: track_language(timeline) for timeline in timelines}  # type: ignore[misc]
    # The scan loads a model still to be loaded itself, while its first probes decode.
    results = scan(source, detect_options, classifier=classifier, progress=progress, media_info=media_info)
    return {result.stream: scanned_track_language(result) for result in results}  # type: ignore[misc]


def scanned_track_language(result: ScanResult) -> TrackLanguage:
    """The dominant language from a scan: its full pass's timeline if it made one, else the probes' votes."""
    if result.timeline is not None:
        return track_language(result.timeline)
    # A scan stops only after enough probes with speech voted, so there are votes (and a leader) here.
    language = result.language if result.share >= MAJORITY_SHARE else MULTIPLE
    return TrackLanguage(language, result.support, result.share, result.evidence_seconds, full_pass=False)  # type: ignore[arg-type]


def track_language(timeline: Timeline) -> TrackLanguage:
    """The dominant language of a track (see the module docstring for the rule)."""
    speech = {language: seconds for language, seconds in timeline.speech_seconds().items() if seconds > 0}
    total = sum(speech.values())
    if total == 0:
        silence = _seconds(timeline, {NONSPEECH})
        if _seconds(timeline, {UNKNOWN}) or not silence:  # speech in no clear language, or no evidence at all
            return TrackLanguage(UNKNOWN, 0.0, 0.0, _seconds(timeline, {UNKNOWN}))
        return TrackLanguage(NO_SPEECH, _mean_confidence(timeline, {NONSPEECH}), 0.0, silence)
    best = min(speech, key=lambda language: (-speech[language], language))  # ties: alphabetical, deterministic
    share = speech[best] / total
    if share < MAJORITY_SHARE:
        return TrackLanguage(MULTIPLE, _mean_confidence(timeline, set(speech)), share, total)
    return TrackLanguage(best, _mean_confidence(timeline, {best}), share, speech[best])


def _seconds(timeline: Timeline, languages: set[str]) -> float:
    return sum(span.duration for span in timeline.spans if span.language in languages)


def _mean_confidence(timeline: Timeline, languages: set[str]) -> float:
    """Duration-weighted mean confidence of the spans in ``languages``."""
    weighted = sum(span.confidence * span.duration for span in timeline.spans if span.language in languages)
    return weighted / _seconds(timeline, languages)


def plan_stream(
    stream: int, old: str | None, detected: TrackLanguage | None, convention: str, options: TagOptions
) -> StreamTag:
    """What to do with one stream, given its current tag and (when analysed) its detected language."""
    if detected is None:
        return StreamTag(stream, old, None, None, "tagged")
    if detected.language == UNKNOWN or detected.confidence < options.min_confidence:
        return StreamTag(stream, old, detected, None, "uncertain")
    new = container_code(detected.language, convention)  # `und` for a language no ISO 639-2 code covers
    if (old or UNKNOWN) == new:
        return StreamTag(stream, old, detected, new, "unchanged")
    if old is not None and not options.force:
        return StreamTag(stream, old, detected, new, "tagged")
    return StreamTag(stream, old, detected, new, "set")


def result_document(result: TagResult, options: TagOptions) -> dict[str, Any]:
    """The JSON report of one input."""
    return {
        "schema": "langspan.tag",
        "schema_version": 1,
        "source": result.source,
        "container": result.container,
        "written": result.written,
        "options": options.to_dict(),
        "streams": [_stream_document(stream) for stream in result.streams],
    }


def _stream_document(tag: StreamTag) -> dict[str, Any]:
    detected = tag.detected
    return {
        "stream": tag.stream,
        "old": tag.old,
        "new": tag.reported,
        "action": tag.action,
        "verdict": tag.verdict,
        "detected": None
        if detected is None
        else {
            "language": detected.language,
            "confidence": round(detected.confidence, 4),
            "share": round(detected.share, 4),
            "evidence_seconds": round(detected.evidence, 3),
            "full_pass": detected.full_pass,
        },
    }

