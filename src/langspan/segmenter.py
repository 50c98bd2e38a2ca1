"""Turn per-window posteriors into language spans.

A segmenter is configured in ``__init__`` and applied with ``__call__(windows, labels) -> list[Span]``, so the
pipeline can swap one for another without knowing how it decides. A segmenter that can tell when a span is final
before the stream ends also offers ``stream(windows, labels) -> Iterator[Span]``, which consumes an iterator of
windows and yields each span as soon as later windows can no longer change it; the pipeline uses it to stream
spans (``--format jsonl`` on stdout) and falls back to ``__call__`` at the end of the stream otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import groupby

import numpy as np

from .languages import NONSPEECH
from .timeline import Alternative, Span, WindowResult


class MergeSegmenter:
    """Consecutive windows with the same most likely label become one span.

    The span's confidence is the mean probability of its label over its windows; its alternatives are the
    ``top_k`` labels with the highest mean probability over the same windows. Windows that were never
    classified (``probabilities is None``) become ``nonspeech`` spans.
    """

    def __init__(self, top_k: int = 3) -> None:
        self.top_k = top_k

    def __call__(self, windows: Sequence[WindowResult], labels: Sequence[str]) -> list[Span]:
        return list(self.stream(windows, labels))

    def stream(self, windows: Iterable[WindowResult], labels: Sequence[str]) -> Iterator[Span]:
        """A span is final as soon as a window with a different label arrives (groupby reads lazily)."""

        def key(window: WindowResult) -> str:
            if window.probabilities is None:
                return NONSPEECH
            return labels[int(np.argmax(window.probabilities))]

        for language, group in groupby(windows, key=key):
            yield self._span(language, list(group), labels)

    def _span(self, language: str, windows: list[WindowResult], labels: Sequence[str]) -> Span:
        start, end = windows[0].start, windows[-1].end
        if language == NONSPEECH:
            return Span(start, end, NONSPEECH, 1.0)
        mean = np.mean([w.probabilities for w in windows], axis=0)
        return Span(start, end, language, float(mean[labels.index(language)]), top_alternatives(mean, labels, self.top_k))


def top_alternatives(probabilities: np.ndarray, labels: Sequence[str], k: int) -> tuple[Alternative, ...]:
    """The k most probable labels, best first (ties broken by label order, so output is deterministic)."""
    order = np.argsort(-probabilities, kind="stable")[:k]
    return tuple(Alternative(float(probabilities[i]), labels[i]) for i in order)
