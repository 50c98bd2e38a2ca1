"""Errors as RFC 9457 problem documents (``application/problem+json``).

``detail`` is the one-line message the command line prints after ``langspan: error:`` for the same failure, so a
client sees exactly what a CLI user would; ``error`` names langspan's exception class. ``type`` is
``about:blank``, which RFC 9457 §4.2.1 defines as "no more than the HTTP status": ``title`` is then the status
phrase.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from ..errors import ExportError, LangspanError, MediaError, ModelError, UsageError

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Which HTTP status a langspan error becomes: bad options are the client's (400); media that cannot be read is a
# well-formed request about unusable content (422); a model that cannot load is the server's (500).
STATUS_OF_ERROR = ((UsageError, 400), (MediaError, 422), (ModelError, 500), (ExportError, 500))


class Problem(Exception):
    """An HTTP problem with its status and one-line detail; ``headers`` go into the response (Retry-After)."""

    def __init__(self, status: int, detail: str, error: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.error = error
        self.headers = headers or {}

    def document(self, instance: str | None = None) -> dict[str, Any]:
        document: dict[str, Any] = {
            "type": "about:blank", "title": HTTPStatus(self.status).phrase, "status": self.status,
            "detail": self.detail,
        }  # fmt: skip
        if self.error:
            document["error"] = self.error
        if instance:
            document["instance"] = instance
        return document


def problem_of(error: LangspanError, rename: tuple[str, str] | None = None) -> Problem:
    """The problem for a langspan error; ``rename`` (temporary path, client's name) keeps server paths out."""
    message = str(error).replace("\n", " ")  # the CLI's one line
    if rename is not None:
        message = message.replace(rename[0], rename[1])
    status = next((code for kind, code in STATUS_OF_ERROR if isinstance(error, kind)), 500)
    return Problem(status, message, type(error).__name__)
