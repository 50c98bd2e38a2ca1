"""langspan: which language is spoken, when, and on which audio track.

Public API::

    import langspan
    timelines = langspan.detect("talk.mp4")               # one Timeline per audio stream
    timelines = langspan.detect(samples, sample_rate=44100)
    results = langspan.scan("film.mkv")                   # dominant language per audio stream, sparse
    for result in langspan.detect_many(["talks/"], output_dir="out", formats=["json", "srt"]):
        print(result.path, result.status)                # ok | skipped (up to date) | failed
    langspan.WRITERS["srt"]().dump(timelines[0], "talk.srt")
    report = langspan.tag_file("film.mkv", langspan.TagOptions(in_place=True), classifier=lambda: model)

Everything else lives in modules named after their stage (``langspan.frontend``, ``.models``, ``.segmentation``,
``.engine``, ``.writers``, ``.tagging``, ``.cli``): see docs/architecture.md. Names exported here are the stable API.
"""

from .engine.batch import FileResult, detect_many
from .engine.local import detect, load_classifier
from .engine.sparse import ScanResult, scan
from .errors import ExportError, FFmpegNotFound, LangspanError, MediaError, ModelError, UsageError
from .models.base import Classifier, LoadOptions, ModelInfo
from .options import DetectOptions
from .tagging.decide import TagOptions, tag_file
from .timeline import Alternative, Span, Timeline, WindowResult
from .writers import WRITERS, Writer, get_writer

__version__ = "0.1.0"

__all__ = [
    "WRITERS",
    "Alternative",
    "Classifier",
    "DetectOptions",
    "ExportError",
    "FFmpegNotFound",
    "FileResult",
    "LangspanError",
    "LoadOptions",
    "MediaError",
    "ModelError",
    "ModelInfo",
    "ScanResult",
    "Span",
    "TagOptions",
    "Timeline",
    "UsageError",
    "WindowResult",
    "Writer",
    "__version__",
    "detect",
    "detect_many",
    "get_writer",
    "load_classifier",
    "scan",
    "tag_file",
]
