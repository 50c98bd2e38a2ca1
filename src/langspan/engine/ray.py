"""The batch engine on Ray Data: the same pipeline, spread over a cluster (``pip install 'langspan[ray]'``).

Two stages, the way Ray Data is meant for batch inference:

1. ``decode_file`` (CPU tasks, ``flat_map``): probe a file, decode each audio stream with ffmpeg and cut it into
   the same model batches of windows the local engine makes (``pipeline.window_batches``), run the speech detector
   over them (``pipeline.gate_speech``: it carries state along a stream, so it runs where the stream is read), one
   row per batch holding only the windows with speech, then one row closing each stream (its decoded length) and
   one closing the file (or saying why it failed).
2. ``ClassifierActor`` (an actor pool, ``map_batches`` with a callable class): each actor loads the model once and
   classifies the batches. Actors get ``gpus_per_actor`` GPUs each; ``actors`` of them run at once.

The driver gathers each file's rows as they arrive, and once a file is complete segments it with the same code
as the local engine (``pipeline.build_timeline``) and hands the timelines to the batch runner, which writes them
and keeps the manifest — so outputs, resume rules and the manifest are identical to ``--engine local``. Because
the windows go to the model in the very same batches, the outputs are byte for byte the local engine's.

Boundary probes (``--refine-probes``) need the model and the recent audio at the moment a change of language is
decided, which happens on the driver, where neither is: the Ray engine does not refine changes (its timelines say
``refine_probes: 0``), and matches the local engine run with ``--refine-probes 0``.

Rows carry their payload pickled in one binary column: window batches of a ragged last window and per-file
records would otherwise need a separate Arrow schema each.
"""

from __future__ import annotations

import logging
import os
import pickle
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LangspanError, ModelError, UsageError
from ..languages import label_indices
from ..segmentation.segmenter import restrict
from .local import (
    DetectOptions,
    SampleCounter,
    build_timeline,
    gate_speech,
    load_classifier,
    select_streams,
    window_batches,
    window_results,
)

WINDOWS, STREAM_END, FILE_END, FAILED = "windows", "stream_end", "file_end", "failed"
# Model batches handed to one actor call: enough to amortise the call, few enough to spread work over actors.
ROWS_PER_ACTOR_CALL = 4


@dataclass(frozen=True)
class RayOptions:
    """Where and with how much the Ray engine runs; not part of the outputs (those depend on DetectOptions only)."""

    address: str | None = None
    """Ray cluster address (``ray://head:10001`` or ``auto``); None joins ``RAY_ADDRESS`` or starts a local Ray."""
    actors: int = 1
    """Classifier actors, each holding one copy of the model."""
    gpus_per_actor: float = 0.0
    """GPUs reserved per classifier actor; a fraction lets several actors share one GPU."""

    def __post_init__(self) -> None:
        if self.actors < 1:
            raise UsageError(f"--ray-actors must be at least 1, got {self.actors}")
        if self.gpus_per_actor < 0:
            raise UsageError(f"--ray-gpus must not be negative, got {self.gpus_per_actor}")


@dataclass(frozen=True)
class ModelInfo:
    """What a Timeline says about the model, read from its config on the driver (the weights stay on actors)."""

    name: str
    revision: str | None
    labels: tuple[str, ...]


def run_ray(jobs: Sequence[Any], options: DetectOptions, ray_options: RayOptions) -> Iterator[tuple[Any, Any, float]]:
    """(job, timelines or error, seconds of work) per job, in the order files complete."""
    ray = _import_ray()
    options = replace(options, refine_probes=0)  # see the module docstring
    info = model_info(options)
    label_indices(options.languages, info.labels)  # a language the model lacks is a usage error before any work
    started_ray = not ray.is_initialized()
    if started_ray:
        ray.init(address=ray_options.address, logging_level="ERROR", log_to_driver=False, include_dashboard=False)
    try:
        yield from _run(ray, jobs, options, ray_options, info)
    finally:
        if started_ray:
            ray.shutdown()


def _run(ray: Any, jobs: Sequence[Any], options: DetectOptions, ray_options: RayOptions, info: ModelInfo):
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the CLI draws its own progress; Ray's bars would garble stderr
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # Ray Data's info lines would interleave with ours
    # Workers may run elsewhere: they read absolute paths, and report errors under the name the user gave.
    items = [{"job": i, "path": os.path.abspath(job.path), "name": str(job.path)} for i, job in enumerate(jobs)]
    dataset = ray.data.from_items(items, override_num_blocks=len(items))  # one block per file: decoding spreads
    dataset = dataset.flat_map(decode_file, fn_kwargs={"options": options})
    dataset = dataset.map_batches(
        ClassifierActor,
        fn_constructor_kwargs={"options": _loadable(options)},
        batch_size=ROWS_PER_ACTOR_CALL,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=ray_options.actors),
        num_gpus=ray_options.gpus_per_actor or None,
    )
    files = {i: _FileState() for i in range(len(jobs))}
    try:
        for row in dataset.iter_rows():
            index = int(row["job"])
            state = files.get(index)
            if state is None:
                continue  # already finished (a failed file's late rows)
            state.add(row["kind"], pickle.loads(row["payload"]))
            if state.done:
                del files[index]
                yield jobs[index], state.outcome(jobs[index], options, info), state.seconds
    except Exception as error:  # noqa: BLE001 — a lost worker or cluster: the files not finished fail, not the run
        for index in list(files):
            yield jobs[index], LangspanError(f"Ray run failed: {_first_line(error)}"), files.pop(index).seconds
    for index, state in files.items():  # the dataset ended without closing these files
        yield jobs[index], LangspanError("Ray run ended before this file was finished"), state.seconds


def decode_file(item: dict[str, Any], options: DetectOptions) -> Iterator[dict[str, Any]]:
    """CPU stage: one row per model batch of windows of each audio stream, then the closing rows."""
    from ..frontend import media
    from ..frontend.vad import SpeechDetector

    job, path = item["job"], item["path"]
    try:
        streams = select_streams(media.probe(path, options.allow_url), options.streams)
        for stream in streams:
            decoded = SampleCounter(media.decode(path, stream.index, options.allow_url))
            detector = SpeechDetector() if options.vad else None  # stateful: one per stream, fed in order
            count, started = 0, time.perf_counter()
            for count, batch in enumerate(window_batches(decoded, options), start=1):
                speech, wanted = gate_speech(batch, detector, options.min_speech)
                payload = {
                    "stream": stream.index, "seq": count - 1, "samples": [batch[i].samples for i in wanted],
                    "wanted": wanted, "speech": speech, "tiles": [(w.tile_start, w.tile_end) for w in batch],
                    "seconds": time.perf_counter() - started,
                }  # fmt: skip
                yield _row(job, WINDOWS, payload)
                started = time.perf_counter()
            duration = options.window_spec().seconds(decoded.samples)
            yield _row(job, STREAM_END, {"stream": stream.index, "batches": count, "duration": duration})
        yield _row(job, FILE_END, {"streams": [stream.index for stream in streams]})
    except Exception as error:  # noqa: BLE001 — recorded for this file; the other files go on
        yield _row(job, FAILED, {"error": _message(error, item["name"]).replace(path, item["name"])})


class ClassifierActor:
    """Actor stage: the model is loaded once per actor; each row's batch goes to the model as the local engine's."""

    def __init__(self, options: DetectOptions) -> None:
        self.classifier = load_classifier(options)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        payloads = []
        kinds = list(batch["kind"])
        for i, (kind, payload) in enumerate(zip(kinds, batch["payload"])):
            if kind != WINDOWS:
                payloads.append(payload)
                continue
            data = pickle.loads(payload)
            started = time.perf_counter()
            samples = data.pop("samples")
            try:  # a batch without speech has nothing to classify
                probabilities = self.classifier.predict(samples) if samples else []
            except Exception as error:  # noqa: BLE001 — this file fails; the actor and the others go on
                kinds[i] = FAILED
                payloads.append(pickle.dumps({"error": f"classification failed: {type(error).__name__}: {error}"}))
                continue
            data["probabilities"] = probabilities
            data["seconds"] += time.perf_counter() - started
            payloads.append(pickle.dumps(data, protocol=5))
        return {"job": batch["job"], "kind": np.array(kinds, dtype=object), "payload": np.array(payloads, dtype=object)}


@dataclass
class _FileState:
    """The rows of one file gathered on the driver, until every batch of every stream has arrived."""

    windows: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)
    ends: dict[int, dict[str, Any]] = field(default_factory=dict)
    streams: list[int] | None = None
    error: str | None = None
    seconds: float = 0.0

    def add(self, kind: str, payload: dict[str, Any]) -> None:
        self.seconds += payload.get("seconds", 0.0)
        if kind == WINDOWS:
            self.windows.setdefault(payload["stream"], {})[payload["seq"]] = payload
        elif kind == STREAM_END:
            self.ends[payload["stream"]] = payload
        elif kind == FILE_END:
            self.streams = payload["streams"]
        else:
            self.error = payload["error"]

    @property
    def done(self) -> bool:
        if self.error is not None:
            return True
        if self.streams is None or any(stream not in self.ends for stream in self.streams):
            return False
        return all(len(self.windows.get(s, {})) == self.ends[s]["batches"] for s in self.streams)

    def outcome(self, job: Any, options: DetectOptions, info: ModelInfo) -> Any:
        if self.error is not None:
            name = str(job.path)
            return LangspanError(self.error if self.error.startswith(name) else f"{name}: {self.error}")
        assert self.streams is not None
        allowed = label_indices(options.languages, info.labels)
        timelines = []
        for stream in self.streams:
            batches = [self.windows.get(stream, {})[seq] for seq in range(self.ends[stream]["batches"])]
            results = [
                result
                for batch in batches
                for result in window_results(
                    batch["tiles"], batch["speech"], dict(zip(batch["wanted"], restrict_all(batch, allowed)))
                )
            ]
            timelines.append(
                build_timeline(str(job.path), stream, self.ends[stream]["duration"], results, options, info)  # type: ignore[arg-type]
            )
        return timelines


def restrict_all(batch: dict[str, Any], allowed: Sequence[int] | None) -> Any:
    """The batch's posteriors restricted to the expected languages, exactly as the local engine restricts them."""
    return restrict(batch["probabilities"], allowed) if len(batch["probabilities"]) else []


def model_info(options: DetectOptions) -> ModelInfo:
    """Name, revision and labels as ``HFClassifier`` reports them, from the config alone."""
    from transformers import AutoConfig

    from ..models.wav2vec2 import model_error

    try:
        config = AutoConfig.from_pretrained(options.model, revision=options.revision)
    except (OSError, ValueError) as error:
        raise model_error(options.model, error) from None
    if not getattr(config, "id2label", None):
        raise ModelError(f"model {options.model!r} has no id2label: not a language classifier")
    labels = tuple(str(config.id2label[i]) for i in range(len(config.id2label)))
    return ModelInfo(options.model, options.revision or getattr(config, "_commit_hash", None), labels)


def _loadable(options: DetectOptions) -> DetectOptions:
    # Actors may start in another working directory: a local model folder travels as an absolute path. The
    # outputs keep the name the user gave (the driver builds them from the original options).
    if Path(options.model).is_dir():
        return replace(options, model=os.path.abspath(options.model))
    return options


def _row(job: int, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"job": job, "kind": kind, "payload": pickle.dumps(payload, protocol=5)}


def _message(error: BaseException, name: str) -> str:
    """One line; LangspanErrors name their file already, anything else gets the file name and exception type."""
    text = str(error).replace("\n", " ").strip()
    return text if isinstance(error, LangspanError) else f"{name}: {type(error).__name__}: {text}"


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def _import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError:
        raise UsageError("--engine ray needs Ray Data: pip install 'langspan[ray]'") from None
    return ray
