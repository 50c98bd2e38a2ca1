"""The batch engine on Ray: the local engine, spread over a cluster (``pip install 'langspan[ray]'``).

A pool of ``actors`` Ray actors each loads the model once (with ``gpus_per_actor`` GPUs) and runs the local
engine — ``engine.local.detect``, the very code of ``--engine local`` — on one whole file at a time; the driver
hands out files as actors come free and gives each file's timelines to the batch runner, which writes them and
keeps the manifest. So outputs, boundary refinement, resume rules and the manifest are the local engine's, byte for
byte, by construction.

Why whole files per actor rather than window batches spread over tasks: boundary probes need the model and the
stream's recent audio at the moment the segmenter decides a change of language, so the stages of one stream belong
together. Memory stays bounded the local engine's way (a stream is decoded as it is classified, never held whole),
decoding overlaps classification through the local engine's read-ahead thread, and a cluster is used by running
many files at once — what a batch of a media library has plenty of.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import LangspanError, UsageError, file_error_message, one_line
from ..languages import label_indices
from ..models.registry import read_info
from ..options import DetectOptions


@dataclass(frozen=True)
class RayOptions:
    """Where and with how much the Ray engine runs; not part of the outputs (those depend on DetectOptions only)."""

    address: str | None = None
    """Ray cluster address (``ray://head:10001`` or ``auto``); None joins ``RAY_ADDRESS`` or starts a local Ray."""
    actors: int = 1
    """Model actors, each holding one copy of the model and working on one file at a time."""
    gpus_per_actor: float = 0.0
    """GPUs reserved per actor; a fraction lets several actors share one GPU."""

    def __post_init__(self) -> None:
        if self.actors < 1:
            raise UsageError(f"--ray-actors must be at least 1, got {self.actors}")
        if self.gpus_per_actor < 0:
            raise UsageError(f"--ray-gpus must not be negative, got {self.gpus_per_actor}")


def run_ray(jobs: Sequence[Any], options: DetectOptions, ray_options: RayOptions) -> Iterator[tuple[Any, Any, float]]:
    """(job, timelines or error, seconds of work) per job, in the order files complete."""
    ray = _import_ray()
    # The driver never loads the weights, but it checks what it can before any work: the model's configuration is
    # readable and has every expected language (option values were checked when ``options`` were made).
    label_indices(options.languages, read_info(options.model, options.revision).labels)
    started_ray = not ray.is_initialized()
    if started_ray:
        ray.init(address=ray_options.address, logging_level="ERROR", log_to_driver=False, include_dashboard=False)
    try:
        yield from _run(ray, jobs, options, ray_options)
    finally:
        if started_ray:
            ray.shutdown()


def _run(ray: Any, jobs: Sequence[Any], options: DetectOptions, ray_options: RayOptions):
    from ray.util import ActorPool

    worker = ray.remote(num_gpus=ray_options.gpus_per_actor or None)(FileWorker)
    pool = ActorPool([worker.remote(options) for _ in range(ray_options.actors)])
    # Workers may run elsewhere: they read absolute paths, and report under the name the user gave.
    items = [(i, os.path.abspath(job.path), str(job.path)) for i, job in enumerate(jobs)]
    pending = set(range(len(jobs)))
    try:
        for index, outcome, seconds in pool.map_unordered(lambda actor, item: actor.run.remote(*item), items):
            pending.discard(index)
            if isinstance(outcome, UsageError):
                raise outcome  # a bad option fails every file alike: the run stops, as on the local engine
            yield jobs[index], outcome, seconds
    except Exception as error:  # noqa: BLE001 — a lost worker or cluster: the files not finished fail, not the run
        for index in sorted(pending):
            yield jobs[index], LangspanError(f"Ray run failed: {one_line(error)}"), 0.0


class FileWorker:
    """A Ray actor: the model, loaded once, and the local engine run on one file per call."""

    def __init__(self, options: DetectOptions) -> None:
        from .local import load_classifier

        self.options = options
        # Actors may start in another working directory: a local model folder is loaded by its absolute path.
        self.classifier = load_classifier(replace(options, model=_absolute_model(options.model)))

    def run(self, index: int, path: str, name: str) -> tuple[int, Any, float]:
        from .local import detect

        started = time.perf_counter()
        try:
            timelines = detect(path, self.options, classifier=self.classifier, name=name)
            # The timelines name the model as the user gave it, not the actor's absolute path to it.
            outcome: Any = [replace(timeline, model=self.options.model) for timeline in timelines]
        except UsageError as error:
            outcome = error  # the driver stops the run (raised here, Ray would wrap it in its own error)
        except Exception as error:  # noqa: BLE001 — recorded for this file; the other files go on
            outcome = LangspanError(file_error_message(error, name).replace(path, name))
        return index, outcome, time.perf_counter() - started


def _absolute_model(model: str) -> str:
    return os.path.abspath(model) if Path(model).is_dir() else model


def _import_ray() -> Any:
    try:
        import ray
        import ray.util
    except ImportError:
        raise UsageError("--engine ray needs Ray: pip install 'langspan[ray]'") from None
    return ray
