"""The HTTP service behind ``langspan serve``: one loaded model, a bounded number of admitted requests, uploads
or files under a media root, and errors as RFC 9457 problems.

Endpoints: ``POST /v1/detect`` (a JSON array of timeline documents, one per audio stream, each valid against
``schema/timeline.schema.json``), ``POST /v1/scan`` (a JSON array of scan results), ``GET /v1/languages``,
``GET /healthz``, and FastAPI's OpenAPI description (``/openapi.json``, ``/docs``).

Admission: at most ``workers + queue_size`` requests are admitted at once — uploading, waiting for the model or
running; a request beyond that gets 503 with ``Retry-After`` before its body is read. This bounds memory, disk
(each admitted upload is at most ``max_upload`` bytes) and waiting time. The model runs on ``workers`` threads.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from .. import __version__
from ..engine.local import detect
from ..engine.sparse import scan
from ..errors import LangspanError
from ..languages import language_name, parse_language_list
from ..models.base import Classifier
from ..options import DetectOptions
from ..writers import timeline_document
from .problems import PROBLEM_MEDIA_TYPE, Problem, problem_of
from .uploads import private_folder, receive_upload, resolve_media_path

MAX_JSON_BODY = 64 * 1024  # a {"path": ...} request
RETRY_AFTER_SECONDS = 5
MEDIA_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {"type": "object", "required": ["file"],
                       "properties": {"file": {"type": "string", "format": "binary"}}},
        },
        "application/json": {
            "schema": {"type": "object", "required": ["path"],
                       "properties": {"path": {"type": "string", "description": "a file under --media-root"}}},
        },
    },
}  # fmt: skip
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    str(status): {"description": text, "content": {PROBLEM_MEDIA_TYPE: {}}}
    for status, text in (
        (400, "bad options or request"), (403, "path outside the media root"), (404, "no such file"),
        (408, "upload stalled"), (413, "upload too large"), (415, "neither multipart nor JSON"),
        (422, "not readable media (the CLI's message)"), (503, "busy: retry after Retry-After seconds"),
    )
}  # fmt: skip


@dataclass(frozen=True)
class ServiceSettings:
    options: DetectOptions = field(default_factory=DetectOptions)
    media_root: Path | None = None
    max_upload: int = 512 * 1024 * 1024
    workers: int = 1
    queue_size: int = 4
    upload_idle_seconds: float = 30.0


class Gate:
    """Admission control: a count of admitted requests against a capacity. Only touched from the event loop."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.admitted = 0

    def enter(self) -> None:
        if self.admitted >= self.capacity:
            raise Problem(
                503, f"busy: {self.admitted} requests already admitted; retry in {RETRY_AFTER_SECONDS} s",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )  # fmt: skip
        self.admitted += 1

    def leave(self) -> None:
        self.admitted -= 1


def create_app(settings: ServiceSettings, classifier: Classifier) -> FastAPI:
    """The ASGI app around an already loaded classifier."""
    app = FastAPI(
        title="langspan", version=__version__,
        description="Which language is spoken, when, and on which audio track. Errors are RFC 9457 problems.",
    )  # fmt: skip
    executor = ThreadPoolExecutor(settings.workers, thread_name_prefix="langspan-model")
    gate = Gate(settings.workers + settings.queue_size)
    _add_problem_handlers(app)

    async def run_job(request: Request, work: Callable[[Path, str], Any]) -> JSONResponse:
        gate.enter()
        try:
            with private_folder() as folder:
                path, name = await _media_of(request, folder, settings)
                try:
                    return JSONResponse(await _in_thread(executor, work, path, name))
                except LangspanError as error:
                    raise problem_of(error, (str(path), name)) from None
        finally:
            gate.leave()

    def options_for(languages: str | None, stream: int | None) -> DetectOptions:
        try:
            return replace(
                settings.options,
                languages=settings.options.languages if languages is None else _requested_languages(languages),
                streams=None if stream is None else (stream,),
            )
        except LangspanError as error:
            raise problem_of(error) from None

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """Liveness, the loaded model, and how many requests are admitted out of how many."""
        return {"status": "ok", "model": classifier.name, "revision": classifier.revision,
                "admitted": gate.admitted, "capacity": gate.capacity}  # fmt: skip

    @app.get("/v1/languages")
    async def languages_endpoint() -> list[dict[str, str]]:
        """The model's language labels with their names."""
        return [{"language": label, "name": language_name(label)} for label in classifier.labels]

    @app.post("/v1/detect", openapi_extra={"requestBody": MEDIA_BODY}, responses=PROBLEM_RESPONSES)
    async def detect_endpoint(request: Request, languages: str | None = None, stream: int | None = None):
        """Language timelines: a JSON array with one timeline document per audio stream (the JSON of
        `langspan detect`). The media is a multipart `file` upload, or JSON `{"path": ...}` under --media-root."""
        options = options_for(languages, stream)

        def work(path: Path, name: str) -> list[dict[str, Any]]:
            return [timeline_document(t) for t in detect(path, options, classifier=classifier, name=name)]

        return await run_job(request, work)

    @app.post("/v1/scan", openapi_extra={"requestBody": MEDIA_BODY}, responses=PROBLEM_RESPONSES)
    async def scan_endpoint(request: Request, languages: str | None = None, stream: int | None = None):
        """The dominant language of each audio stream from a few probe windows (the JSON of `langspan scan`)."""
        options = options_for(languages, stream)

        def work(path: Path, name: str) -> list[dict[str, Any]]:
            return [{**result.to_dict(), "source": name} for result in scan(path, options, classifier=classifier)]

        return await run_job(request, work)

    return app


async def _in_thread(executor: ThreadPoolExecutor, work: Callable[[Path, str], Any], path: Path, name: str) -> Any:
    """Run ``work`` on a model thread. If the request is cancelled meanwhile, wait for the thread to finish
    anyway: the upload it reads must outlive it, and the admission count must count it until it is done."""
    future = asyncio.get_running_loop().run_in_executor(executor, work, path, name)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise


async def _media_of(request: Request, folder: Path, settings: ServiceSettings) -> tuple[Path, str]:
    """(file to analyse, name for results and messages): a JSON ``{"path"}`` under the media root, or an upload."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() == "application/json":
        requested = await _json_path(request)
        return resolve_media_path(settings.media_root, requested), requested
    try:
        return await receive_upload(
            content_type, request.headers.get("content-length"), request.stream(), folder,
            settings.max_upload, settings.upload_idle_seconds,
        )  # fmt: skip
    except ClientDisconnect:
        raise Problem(400, "the client went away during the upload") from None


async def _json_path(request: Request) -> str:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BODY:
            raise Problem(413, f"a JSON request body is limited to {MAX_JSON_BODY} bytes")
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise Problem(400, "the body is not valid JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("path"), str):
        raise Problem(400, "the JSON body must be an object with a string 'path'")
    return document["path"]


def _add_problem_handlers(app: FastAPI) -> None:
    def respond(request: Request, problem: Problem) -> JSONResponse:
        return JSONResponse(problem.document(request.url.path), problem.status, problem.headers,
                            media_type=PROBLEM_MEDIA_TYPE)  # fmt: skip

    @app.exception_handler(Problem)
    async def on_problem(request: Request, problem: Problem) -> JSONResponse:
        return respond(request, problem)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return respond(request, Problem(400, f"{where}: {first.get('msg', 'invalid request')}", "UsageError"))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return respond(request, Problem(error.status_code, str(error.detail), headers=dict(error.headers or {})))


def _requested_languages(value: str) -> tuple[str, ...] | None:
    """A request's ``languages`` field: an empty one asks for every language (no restriction)."""
    return parse_language_list(value) if value.strip() else None
