"""langspan: which language is spoken, when, and on which audio track.

Public API::

    import langspan
    timelines = langspan.detect("talk.mp4")               # one Timeline per audio stream
    timelines = langspan.detect(samples, sample_rate=44100)
    results = langspan.scan("film.mkv")                   # dominant language per audio stream, sparse
    for result in langspan.detect_many(["talks/"], output_dir="out", formats=["json", "srt"]):
        print(result.path, result.status)                # ok | skipped (up to date) | failed
"""

from .engine.batch import FileResult, detect_many
from .engine.local import detect, load_classifier
from .engine.sparse import ScanResult, scan
from .errors import ExportError, FFmpegNotFound, LangspanError, MediaError, ModelError, UsageError
from .options import DetectOptions
from .timeline import Alternative, Span, Timeline

__version__ = "0.1.0"

__all__ = [
    "Alternative",
    "DetectOptions",
    "ExportError",
    "FFmpegNotFound",
    "FileResult",
    "LangspanError",
    "MediaError",
    "ModelError",
    "ScanResult",
    "Span",
    "Timeline",
    "UsageError",
    "__version__",
    "detect",
    "detect_many",
    "load_classifier",
    "scan",
]
