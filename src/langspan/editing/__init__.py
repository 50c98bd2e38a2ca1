"""Commands that make new media files from a language timeline: ``chapters`` (language chapters written into the
file by stream copy) and ``split`` (one file per span or per language). Both analyse one audio stream."""

from __future__ import annotations

from pathlib import Path

from ..engine.core import ProgressCallback
from ..engine.local import detect
from ..frontend import media
from ..models.base import Classifier
from ..options import DetectOptions
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
    info = media.media_info(str(source), before)
    chosen = info.select(None if stream is None else (stream,))[0]
    [timeline] = detect(
        source, options, classifier=classifier, progress=progress, media_info=info, streams=(chosen.index,)
    )
    return timeline
