"""Folder batches: find the media files, skip those whose outputs are up to date, record every file in a manifest.

A batch writes, for every input, one output per format into ``output_dir`` (mirroring the input folder's tree),
and appends one JSON line per input to ``output_dir/langspan-manifest.jsonl``::

    {"file": "in/a/talk.mp4", "status": "ok", "seconds": 3.1, "audio_seconds": 61.5, "error": null,
     "outputs": ["a/talk.json"], "size": 1234567, "mtime_ns": 1732400000000000000, "fingerprint": "…",
     "finished": "2026-11-24T05:00:00Z"}

``status`` is ``ok``, ``skipped`` (outputs already up to date) or ``failed`` (``error`` says why). Just before its
outputs are written a file also gets a short ``{"file", "status": "writing", "outputs"}`` record, which its final
record supersedes: a run killed between writing the outputs and recording them (SIGKILL, the OOM killer, a
reboot) leaves that record behind, so the next run knows those files are its own to replace. A file is up to
date when the manifest's last ``ok``/``skipped`` record for it has the same input size and modification time, the
same ``fingerprint`` (langspan version, every effective DetectOptions field — model and revision included, the
model family's defaults filled in — the formats and the engine) and all of its outputs still exist. Size + mtime
instead of a content hash: hashing a media library
means reading all of it again, which is what resuming is meant to avoid.

One bad file never stops a batch: its error is recorded and the next file goes on.

Crashes and company: a batch holds an exclusive ``flock`` on the output folder for as long as it runs, so a second
batch on the same folder stops at once with a clear error instead of interleaving its writes; the kernel drops the
lock when the process ends, however it ends, so a killed batch never leaves a stale lock. Under the lock, the
temporary ``.NAME.XXXXXXXX.part`` files a killed run was writing are removed, and manifest lines it tore (a power
cut mid-append) are ignored and reported in ``Batch.notes``; the files they were about are simply done again.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import LangspanError, UsageError, file_error_message
from ..models.base import Classifier, info_of
from ..models.registry import read_info
from ..options import DetectOptions
from ..timeline import Timeline, options_to_dict
from ..writers import Writer, check_target, get_writers
from ..writers.files import check_output_dir, make_folder, output_name, plan_outputs, write_planned
from .core import ProgressCallback
from .jobs import Job, find_media
from .local import detect, load_classifier
from .manifest import (
    MANIFEST_NAME,
    WRITING,
    append_record,
    folder_lock,
    read_manifest,
    record_key,
    remove_partial_outputs,
)

OK, SKIPPED, FAILED = "ok", "skipped", "failed"
ENGINES = ("local", "ray")

# What an engine yields per file: the job, its timelines or the error that stopped it, and seconds of work.
EngineResult = tuple["Job", "list[Timeline] | BaseException", float]
Engine = Callable[[Sequence["Job"]], Iterator[EngineResult]]


@dataclass(frozen=True)
class FileResult:
    """What happened to one input of a batch."""

    path: Path
    status: str
    """ok | skipped | failed"""
    seconds: float = 0.0
    """Seconds of work spent on it (decoding and classifying; 0 when skipped)."""
    audio_seconds: float = 0.0
    """Seconds of audio analysed, summed over its audio streams (from the manifest when skipped)."""
    outputs: tuple[Path, ...] = ()
    error: str | None = None
    timelines: tuple[Timeline, ...] = field(default=(), repr=False)


def fingerprint(options: DetectOptions, formats: Sequence[str], engine: str = "local") -> str:
    """What was done to make the outputs, besides the input, hashed: the langspan version, the effective options
    (as the outputs echo them: the model family's defaults filled in), the formats, the engine and a local model
    folder's files."""
    from .. import __version__

    recipe = {
        "langspan": __version__, "options": options_to_dict(options), "formats": sorted(formats), "engine": engine,
        "model_files": local_model_files(options.model),
    }  # fmt: skip
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def local_model_files(model: str) -> list[tuple[str, int, int]] | None:
    """Name, size and mtime of each file of a local model folder, so that a retrained or replaced checkpoint under
    the same path is not mistaken for the one the outputs were made with; None for a hub model (its name and
    revision identify it)."""
    folder = Path(model)
    if not folder.is_dir():
        return None
    stats = ((entry.name, entry.stat()) for entry in folder.iterdir() if entry.is_file())
    return sorted((name, stat.st_size, stat.st_mtime_ns) for name, stat in stats)


class Batch:
    """A planned batch: ``jobs`` to do; ``run()`` yields a FileResult per job as each finishes.

    Without ``output_dir`` nothing is written and nothing is skipped: the results carry the timelines.
    """

    def __init__(
        self,
        inputs: Iterable[str | os.PathLike[str]],
        options: DetectOptions | None = None,
        *,
        output_dir: str | os.PathLike[str] | None = None,
        formats: Sequence[str] = ("json",),
        recursive: bool = False,
        overwrite: bool = False,
    ) -> None:
        self.options = options or DetectOptions()
        self.output_dir = Path(output_dir) if output_dir is not None else None
        if self.output_dir is not None:
            check_output_dir(self.output_dir)
        self.writers: list[Writer] = get_writers(formats)
        self.overwrite = overwrite
        self.jobs = find_media(inputs, recursive, exclude=self.output_dir)
        self.fingerprint = ""  # set by run(): it depends on the engine and on the model's defaults
        self.notes: list[str] = []
        """Things worth a warning found while running (a torn manifest line, a folder that cannot be locked)."""
        # Read under the folder lock when run() starts: another batch may still be appending until then.
        self._records: dict[str, dict[str, Any]] = {}
        self._ours: set[str] = set()

    @property
    def manifest_path(self) -> Path | None:
        return self.output_dir / MANIFEST_NAME if self.output_dir is not None else None

    def run(
        self,
        engine: str = "local",
        *,
        classifier: Classifier | None = None,
        progress: ProgressCallback | None = None,
        ray_address: str | None = None,
        ray_options: Any = None,
    ) -> Generator[FileResult, None, None]:
        """Process the jobs: up-to-date ones are skipped, the others go through ``engine`` (local | ray).

        With an output folder, the whole run holds its lock (ExportError at once when another batch holds it).
        """
        if engine not in ENGINES:
            raise UsageError(f"--engine must be local or ray, got {engine!r}")
        with self._locked():
            yield from self._run(engine, classifier, progress, ray_address, ray_options)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        if self.output_dir is None:
            yield
            return
        make_folder(self.output_dir)
        with folder_lock(self.output_dir, self.notes):
            self._records, self._ours, torn = read_manifest(self.manifest_path)
            if torn:
                self.notes.append(
                    f"{self.manifest_path}: ignored {torn} incomplete line{'s' if torn > 1 else ''} left by an "
                    "interrupted run; the files concerned are done again"
                )
            remove_partial_outputs(self.output_dir)
            yield

    def _run(self, engine, classifier, progress, ray_address, ray_options) -> Iterator[FileResult]:
        # The options this run really uses (the model family's defaults filled in, from its configuration alone),
        # so that the manifest says what was done and a run with other effective settings redoes the outputs.
        info = info_of(classifier) if classifier is not None else read_info(self.options.model, self.options.revision)
        self.options = self.options.resolved(info)
        self.fingerprint = fingerprint(self.options, [writer.name for writer in self.writers], engine)
        pending: list[Job] = []
        # Stat before reading: a file changed while it is analysed must not look up to date next time.
        stats = {job.path: _stat(job.path) for job in self.jobs}
        for job in self.jobs:
            skipped = self._skip(job, stats[job.path])
            if skipped is not None:
                yield self._record(job, skipped, stats[job.path])
            else:
                pending.append(job)
        if not pending:
            return  # everything up to date: the model is never loaded
        for job, outcome, seconds in self._engine(engine, classifier, progress, ray_address, ray_options)(pending):
            yield self._record(job, self._finish(job, outcome, seconds), stats[job.path])

    def _engine(self, engine, classifier, progress, ray_address, ray_options) -> Engine:
        if engine == "local":
            return lambda jobs: _run_local(jobs, self.options, classifier, progress)
        from .ray import RayOptions, run_ray

        ray_options = ray_options or RayOptions(address=ray_address)
        return lambda jobs: run_ray(jobs, self.options, ray_options)

    def _skip(self, job: Job, stat: tuple[int, int] | None) -> FileResult | None:
        if self.output_dir is None or stat is None:
            return None
        record = self._records.get(record_key(job.path))
        if record is None or record.get("status") not in (OK, SKIPPED) or record.get("fingerprint") != self.fingerprint:
            return None
        outputs = tuple(self.output_dir / output for output in record.get("outputs", []))
        if (record.get("size"), record.get("mtime_ns")) != stat or not all(output.exists() for output in outputs):
            return None
        return FileResult(job.path, SKIPPED, 0.0, float(record.get("audio_seconds") or 0.0), outputs)

    def _finish(self, job: Job, outcome: list[Timeline] | BaseException, seconds: float) -> FileResult:
        if isinstance(outcome, BaseException):
            return FileResult(job.path, FAILED, seconds, error=file_error_message(outcome, job.path))
        audio = sum(timeline.duration for timeline in outcome)
        try:
            outputs = self._write(job, outcome)
        except LangspanError as error:
            return FileResult(job.path, FAILED, seconds, audio, error=file_error_message(error, job.path))
        return FileResult(job.path, OK, seconds, audio, outputs, timelines=tuple(outcome))

    def _write(self, job: Job, timelines: list[Timeline]) -> tuple[Path, ...]:
        if self.output_dir is None:
            return ()
        planned = plan_outputs(timelines, self.writers, lambda writer, stream: self.output_path(job, writer, stream))

        def may_replace(target: Path) -> bool:  # our own earlier outputs may be replaced; others need --overwrite
            return self.overwrite or self._relative(target) in self._ours

        for _, _, target in planned:  # before the record below claims them as ours
            check_target(target, overwrite=may_replace(target))
        outputs = [self._relative(target) for _, _, target in planned]
        assert self.manifest_path is not None  # there is an output folder
        # Claimed before writing (see the module docstring): a run killed next knows these files are its own.
        append_record(self.manifest_path, {"file": str(job.path), "status": WRITING, "outputs": outputs})
        self._ours.update(outputs)
        write_planned(planned, may_replace)  # all outputs of the file or none
        return tuple(target for _, _, target in planned)

    def output_path(self, job: Job, writer: Writer, stream: int | None = None) -> Path:
        """``talk.json``; ``talk.stream1.json`` for stream 1 when the file has several audio streams."""
        assert self.output_dir is not None
        return self.output_dir / job.stem.parent / output_name(job.stem.name, stream, writer.extension)

    def _record(self, job: Job, result: FileResult, stat: tuple[int, int] | None) -> FileResult:
        if self.manifest_path is None:
            return result
        size, mtime = stat if stat is not None else (None, None)
        record = {
            "file": str(job.path),
            "status": result.status,
            "seconds": round(result.seconds, 3),
            "audio_seconds": round(result.audio_seconds, 3),
            "error": result.error,
            "outputs": [self._relative(output) for output in result.outputs],
            "size": size,
            "mtime_ns": mtime,
            "fingerprint": self.fingerprint,
            "finished": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        append_record(self.manifest_path, record)
        self._records[record_key(job.path)] = record
        self._ours.update(self._relative(output) for output in result.outputs)
        return result

    def _relative(self, path: Path) -> str:
        assert self.output_dir is not None
        return path.relative_to(self.output_dir).as_posix()


def _run_local(
    jobs: Sequence[Job], options: DetectOptions, classifier: Classifier | None, progress: ProgressCallback | None
) -> Iterator[EngineResult]:
    classifier = classifier or load_classifier(options)  # a model that cannot load fails the batch, not each file
    for job in jobs:
        started = time.perf_counter()
        try:
            outcome: list[Timeline] | BaseException = detect(
                job.path, options, classifier=classifier, progress=progress
            )
        except LangspanError as error:
            if isinstance(error, UsageError):
                raise  # a bad option fails every file alike: stop instead of recording it N times
            outcome = error
        except Exception as error:  # noqa: BLE001 — one file that trips a library bug must not stop the batch
            outcome = error
        yield job, outcome, time.perf_counter() - started


def _stat(path: Path) -> tuple[int, int] | None:
    """(size, mtime_ns): the input's identity in the resume key; None when it cannot be read."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def detect_many(
    paths: Iterable[str | os.PathLike[str]],
    options: DetectOptions | None = None,
    *,
    output_dir: str | os.PathLike[str] | None = None,
    formats: Sequence[str] = ("json",),
    recursive: bool = False,
    overwrite: bool = False,
    classifier: Classifier | None = None,
    engine: str = "local",
    ray_address: str | None = None,
    **overrides: Any,
) -> Iterator[FileResult]:
    """Timelines of many files (folders are scanned for media files), one FileResult per file as each finishes.

    With ``output_dir`` the outputs are written there and a second call with the same options skips files
    whose outputs are up to date (see the module docstring); a failed file is a result, never an exception.
    """
    options = replace(options or DetectOptions(), **overrides)
    batch = Batch(paths, options, output_dir=output_dir, formats=formats, recursive=recursive, overwrite=overwrite)
    yield from batch.run(engine, classifier=classifier, ray_address=ray_address)
