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

from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (milliseconds of the start-up window)

__version__ = "0.1.0"

# The public names are imported on first use (PEP 562), so that `import langspan` itself takes milliseconds: the
# command line can install its Ctrl-C handler (langspan._entry) only once this package is imported, and the
# tenths of a second numpy, the engine and their neighbours take to import must already be covered by it.
_EXPORTS = {
    "FileResult": "engine.batch", "detect_many": "engine.batch",
    "detect": "engine.local", "load_classifier": "engine.local",
    "ScanResult": "engine.sparse", "scan": "engine.sparse",
    "ExportError": "errors", "FFmpegNotFound": "errors", "LangspanError": "errors", "MediaError": "errors",
    "ModelError": "errors", "UsageError": "errors",
    "Classifier": "models.base", "LoadOptions": "models.base", "ModelInfo": "models.base",
    "DetectOptions": "options",
    "TagOptions": "tagging.decide", "TagResult": "tagging.decide", "tag_file": "tagging.decide",
    "Alternative": "timeline", "Span": "timeline", "Timeline": "timeline", "WindowResult": "timeline",
    "WRITERS": "writers", "Writer": "writers", "get_writer": "writers",
}  # fmt: skip

if TYPE_CHECKING:
    from typing import Any

    from .engine.batch import FileResult, detect_many
    from .engine.local import detect, load_classifier
    from .engine.sparse import ScanResult, scan
    from .errors import ExportError, FFmpegNotFound, LangspanError, MediaError, ModelError, UsageError
    from .models.base import Classifier, LoadOptions, ModelInfo
    from .options import DetectOptions
    from .tagging.decide import TagOptions, TagResult, tag_file
    from .timeline import Alternative, Span, Timeline, WindowResult
    from .writers import WRITERS, Writer, get_writer


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'langspan' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


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
    "TagResult",
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
