"""Commands that make new media files from a language timeline: ``chapters`` (language chapters written into the
file by stream copy) and ``split`` (one file per span or per language). Both analyse one audio stream."""

from __future__ import annotations

from pathlib import Path

from ..engine.local import DetectOptions, ProgressCallback, detect, select_streams
from ..frontend import media
from ..models.wav2vec2 import Classifier
from ..timeline import Timeline


def stream_timeline(
    source: Path,
    before: dict,
    options: DetectOptions,
    stream: int | None,
    classifier: Classifier | None,
    progress: ProgressCallback | None,
) -> Timeline:
    """The timeline of one audio stream of a probed file: ``stream`` (ffprobe index), by default the first."""
    chosen = select_streams(media.media_info(str(source), before), None if stream is None else [stream])[0]
    [timeline] = detect(source, options, classifier=classifier, progress=progress, streams=(chosen.index,))
    return timeline
