"""``langspan serve``: an HTTP service with the model loaded once (extra ``langspan[serve]``: FastAPI, uvicorn,
python-multipart). FastAPI is imported only when the command runs, so the rest of the CLI works without it.

Like the rest of the command line, the only code here that prints or exits.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import re
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..engine.local import load_classifier
from ..errors import LangspanError, UsageError
from ..models.base import DEFAULT_MODEL
from ..options import DetectOptions
from .common import DEFAULTS, DebugOption, DeviceOption, ModelOption, RevisionOption, ThreadsOption, errors_to_exit

SERVE_MODULES = ("fastapi", "uvicorn", "python_multipart")
SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on; anything but loopback exposes the model.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0: any free port, printed on stderr).")] = 8000,
    media_root: Annotated[
        Path | None, typer.Option(help="Folder whose files requests may name by path \\[default: uploads only].")
    ] = None,
    max_upload: Annotated[str, typer.Option(help="Largest upload, e.g. 200M or 2G.")] = "512M",
    workers: Annotated[int, typer.Option(help="Model threads running requests at once.")] = 1,
    queue_size: Annotated[
        int, typer.Option(help="Requests admitted beyond the running ones; more get 503 with Retry-After.")
    ] = 4,
    upload_timeout: Annotated[float, typer.Option(help="Seconds an upload may stall before it is dropped.")] = 30.0,
    model: ModelOption = DEFAULT_MODEL,
    revision: RevisionOption = None,
    device: DeviceOption = DEFAULTS.device,
    precision: Annotated[str, typer.Option(help="auto, fp32, int8, fp16 or bf16.")] = DEFAULTS.precision,
    batch_size: Annotated[int, typer.Option(help="Windows per model call.")] = DEFAULTS.batch_size,
    threads: ThreadsOption = None,
    access_log: Annotated[bool, typer.Option(help="Log every request on stderr.")] = False,
    debug: DebugOption = False,
) -> None:
    """Serve language detection over HTTP with the model loaded once (needs pip install 'langspan\\[serve]').

    POST /v1/detect and /v1/scan take a multipart 'file' upload or JSON {"path": ...} under --media-root;
    GET /v1/languages, GET /healthz; OpenAPI at /docs. Errors are RFC 9457 problem documents.
    """
    with errors_to_exit(debug):
        _require_extra()
        settings = _settings(model, revision, device, precision, batch_size, threads, media_root, max_upload,
                             workers, queue_size, upload_timeout)  # fmt: skip
        listener = _listen(host, port)
        classifier = load_classifier(settings.options)
    import uvicorn

    from ..service.app import create_app  # the extra, imported only now

    bound_host, bound_port = listener.getsockname()[:2]
    if not _is_loopback(host):
        print(f"langspan: warning: listening on {host}: anyone who can reach it can use the model "
              "(there is no authentication)", file=sys.stderr)  # fmt: skip
    print(f"langspan: serving http://{bound_host}:{bound_port} (API docs at /docs)", file=sys.stderr, flush=True)
    config = uvicorn.Config(create_app(settings, classifier), log_level="warning", access_log=access_log)
    uvicorn.Server(config).run(sockets=[listener])


def _require_extra() -> None:
    missing = [name for name in SERVE_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise LangspanError(f"langspan serve needs pip install 'langspan[serve]' (missing: {', '.join(missing)})")


def _settings(model, revision, device, precision, batch_size, threads, media_root, max_upload, workers, queue_size,
              upload_timeout):  # fmt: skip
    from ..service.app import ServiceSettings

    if workers < 1 or queue_size < 0:
        raise UsageError("--workers must be at least 1 and --queue-size at least 0")
    if upload_timeout <= 0:
        raise UsageError("--upload-timeout must be positive")
    if media_root is not None and not media_root.is_dir():
        raise UsageError(f"--media-root {media_root}: not a directory")
    options = DetectOptions(model=model, revision=revision, device=device, precision=precision,
                            batch_size=batch_size, threads=threads)  # fmt: skip
    return ServiceSettings(options=options, media_root=media_root, max_upload=parse_size(max_upload),
                           workers=workers, queue_size=queue_size, upload_idle_seconds=upload_timeout)  # fmt: skip


def parse_size(text: str) -> int:
    """``512M`` → 536870912; k, M and G are powers of 1024, a bare number is bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)[iI]?[bB]?\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise UsageError(f"--max-upload {text!r}: expected a size such as 200M or 2G")
    return int(float(match.group(1)) * SIZE_UNITS[match.group(2).lower()])


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the model loads so that a taken port fails at once."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
    except OSError as error:
        raise UsageError(f"cannot listen on {host}:{port} ({error.strerror or error})") from None
    return listener


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
