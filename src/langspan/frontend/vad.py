"""Speech detection: how much of each window is speech, and where speech starts and stops.

The model is silero-vad (the ``silero-vad`` pip package ships its weights, so it works offline). We read the
weights of the package's default model (``data/silero_vad.jit``, what ``silero_vad.load_silero_vad()`` returns)
into a small torch module with the same layers instead of running the package's loader, because that loader
(a) sets ``torch.set_num_threads(1)`` for the whole process when it is imported, which would slow the language
model down, (b) runs TorchScript, deprecated in torch 2.13 and slow for its first calls, and (c) steps its model
one 32 ms frame per Python call. Here the frame encoder runs batched over every frame of a
window and the LSTM runs over the frame sequence in one call, carrying its state from window to window; a test
checks the probabilities equal the package's own model.

Frames are 512 samples (32 ms at 16 kHz), the only size silero-vad v5+ accepts. A frame is speech by hysteresis,
as in ``silero_vad.get_speech_timestamps``: speech starts at probability ≥ ``threshold`` and continues until the
probability drops below ``threshold - 0.15``, so a wavering probability does not chop words.

Streaming: the detector sees each window once, in order, and keeps only the frame decisions of the current window
(or batch of windows) plus under one frame of unprocessed samples — memory does not grow with the input.
"""

from __future__ import annotations

import importlib.util
import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import ModelError

FRAME_SAMPLES = 512  # 32 ms at 16 kHz: the frame silero-vad v5+ was trained on
CONTEXT_SAMPLES = 64  # each frame sees the last 64 samples of the previous one, as in the package
SAMPLE_RATE = 16_000
# silero-vad's own defaults: enter speech at 0.5, leave below 0.35.
SPEECH_THRESHOLD = 0.5
HYSTERESIS = 0.15


@dataclass(frozen=True)
class WindowSpeech:
    """What the detector says about one window: the fraction that is speech and the speech intervals (seconds,
    absolute stream time, clipped to the window)."""

    fraction: float
    intervals: tuple[tuple[float, float], ...]


class SpeechDetector:
    """Streaming speech detector for one audio stream.

    Either call it with every window in order (``detector(start_sample, samples)``), or, to run the network on
    many frames at once, ``add`` several windows, ask ``speech`` for each, then ``forget`` what is no longer needed:
    the network's per-call overhead is paid once per batch instead of once per window (8x fewer calls at a batch
    of 8; on a busy machine with two torch threads that is the difference between ~2 % and ~0.3 % of realtime).
    """

    def __init__(self, threshold: float = SPEECH_THRESHOLD) -> None:
        import torch

        self._torch = torch
        self._net = _load_network()
        self.threshold = threshold
        self._state: tuple | None = None  # LSTM (h, c) carried between calls
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)
        self._unframed: list[np.ndarray] = []  # samples added but not yet run through the network
        self._framed = 0  # stream samples already run through the network (whole frames)
        self._received = 0  # stream samples added so far
        self._in_speech = False
        # Decisions of frames that may still overlap a window: frame start sample → speech?
        self._frame_starts = np.zeros(0, dtype=np.int64)
        self._frame_speech = np.zeros(0, dtype=bool)

    def __call__(self, start_sample: int, samples: np.ndarray) -> WindowSpeech:
        """Speech in the window of ``samples`` that starts at stream sample ``start_sample``."""
        self.add(start_sample, samples)
        found = self.speech(start_sample, start_sample + len(samples))
        self.forget(start_sample)
        return found

    def add(self, start_sample: int, samples: np.ndarray) -> None:
        """Feed a window's samples (in stream order; the part an overlapping window shares is skipped)."""
        new = samples[max(0, self._received - start_sample) :]
        self._received = max(self._received, start_sample + len(samples))
        if len(new):
            self._unframed.append(np.asarray(new, dtype=np.float32))

    def speech(self, start_sample: int, end_sample: int) -> WindowSpeech:
        """Speech in samples [start, end) of the stream, which must have been added and not forgotten."""
        self._run()
        return self._window_speech(start_sample, end_sample)

    def forget(self, before_sample: int) -> None:
        """Drop the decisions of frames that end before ``before_sample``: later windows start after it."""
        keep = self._frame_starts + FRAME_SAMPLES > before_sample
        self._frame_starts, self._frame_speech = self._frame_starts[keep], self._frame_speech[keep]

    def _run(self) -> None:
        """Run every whole frame added so far through the network (a partial frame waits for more samples)."""
        if not self._unframed:
            return
        buffer = np.concatenate(self._unframed)
        whole = len(buffer) // FRAME_SAMPLES * FRAME_SAMPLES
        self._unframed = [buffer[whole:]] if whole < len(buffer) else []
        if not whole:
            return
        frames = buffer[:whole].reshape(-1, FRAME_SAMPLES)
        contexts = np.concatenate([self._context[None, :], frames[:-1, -CONTEXT_SAMPLES:]])
        self._context = frames[-1, -CONTEXT_SAMPLES:].copy()
        with self._torch.inference_mode():
            probabilities, self._state = self._net(self._torch.from_numpy(np.concatenate([contexts, frames], 1)), self._state)
        starts = self._framed + FRAME_SAMPLES * np.arange(len(frames), dtype=np.int64)
        self._framed += whole
        self._frame_starts = np.concatenate([self._frame_starts, starts])
        self._frame_speech = np.concatenate([self._frame_speech, self._hysteresis(probabilities.numpy())])

    def _hysteresis(self, probabilities: np.ndarray) -> np.ndarray:
        speech = np.empty(len(probabilities), dtype=bool)
        for i, p in enumerate(probabilities):
            if p >= self.threshold:
                self._in_speech = True
            elif p < self.threshold - HYSTERESIS:
                self._in_speech = False
            speech[i] = self._in_speech
        return speech

    def _window_speech(self, start: int, end: int) -> WindowSpeech:
        if end <= start:
            return WindowSpeech(0.0, ())
        if len(self._frame_starts) == 0:
            return WindowSpeech(0.0, ())  # under one frame of audio so far: too little to call it speech
        starts = self._frame_starts
        ends = starts + FRAME_SAMPLES
        # The last < 32 ms of a window may not fill a frame yet: it takes the decision of the last whole frame.
        ends[-1] = max(ends[-1], end)
        lo, hi = np.maximum(starts, start), np.minimum(ends, end)
        inside = hi > lo
        lo, hi, speech = lo[inside], hi[inside], self._frame_speech[inside]
        fraction = float(np.sum((hi - lo)[speech])) / (end - start)
        return WindowSpeech(fraction, _runs(lo, hi, speech))


def _runs(lo: np.ndarray, hi: np.ndarray, speech: np.ndarray) -> tuple[tuple[float, float], ...]:
    """Contiguous speech frames as (start, end) seconds."""
    runs: list[tuple[float, float]] = []
    run_start: int | None = None
    for i, is_speech in enumerate(speech):
        if is_speech and run_start is None:
            run_start = int(lo[i])
        if run_start is not None and (not is_speech or i == len(speech) - 1):
            run_end = int(hi[i]) if is_speech else int(lo[i])
            runs.append((run_start / SAMPLE_RATE, run_end / SAMPLE_RATE))
            run_start = None
    return tuple(runs)


def speech_onset(intervals: Sequence[tuple[float, float]], boundary: float, limit: float) -> float | None:
    """Where the speech that runs after ``boundary`` starts: the start of the first speech interval ending after
    ``boundary`` (it may begin before it, inside the non-speech window), never earlier than ``limit``."""
    for start, end in _merged(intervals):
        if end > boundary:
            return max(start, limit)
    return None


def speech_offset(intervals: Sequence[tuple[float, float]], boundary: float, limit: float) -> float | None:
    """Where the speech that runs before ``boundary`` stops, never later than ``limit``."""
    for start, end in reversed(_merged(intervals)):
        if start < boundary:
            return min(end, limit)
    return None


def nearest_pause(
    intervals: Sequence[tuple[float, float]], time: float, tolerance: float, min_pause: float
) -> float | None:
    """The middle of the pause between two speech intervals that is nearest to ``time`` (at most ``tolerance``
    away, at least ``min_pause`` long), or None: people change language between words, not inside them."""
    merged = _merged(intervals)
    best: tuple[float, float] | None = None
    for (_, gap_start), (gap_end, _) in itertools.pairwise(merged):
        distance = max(0.0, gap_start - time, time - gap_end)
        if gap_end - gap_start >= min_pause and distance <= tolerance and (best is None or distance < best[0]):
            best = (distance, (gap_start + gap_end) / 2)
    return None if best is None else best[1]


def _merged(intervals: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted intervals with touching neighbours joined (speech that crosses a window edge is one interval)."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1] + 1e-9:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def silero_weights_path() -> Path:
    """The model file inside the installed ``silero-vad`` package — the one ``load_silero_vad()`` loads — found
    without importing the package (its import changes torch's thread count)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or spec.origin is None:
        raise ModelError("speech detection needs the silero-vad package: pip install silero-vad (or pass --no-vad)")
    path = Path(spec.origin).parent / "data" / "silero_vad.jit"
    if not path.is_file():
        raise ModelError(f"silero-vad model not found at {path}: reinstall silero-vad (or pass --no-vad)")
    return path


# Our layer names → the names inside the package's TorchScript archive (its 16 kHz model).
_WEIGHT_NAMES = {
    "stft.weight": "stft.forward_basis_buffer",
    **{f"conv{i + 1}.{kind}": f"encoder.{i}.reparam_conv.{kind}" for i in range(4) for kind in ("weight", "bias")},
    **{f"lstm.{name}_l0": f"decoder.rnn.{name}" for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")},
    "final_conv.weight": "decoder.decoder.2.weight",
    "final_conv.bias": "decoder.decoder.2.bias",
}


@lru_cache(maxsize=1)
def _load_network():
    """The network with the package's weights, loaded once per process. It is stateless (the LSTM state is passed
    in and out), so streams and threads can share it."""
    import torch

    with warnings.catch_warnings():
        # torch 2.13 deprecates TorchScript loading; the archive is only read for its weights here, never run.
        warnings.simplefilter("ignore", DeprecationWarning)
        archive = torch.jit.load(str(silero_weights_path()), map_location="cpu")
    weights = archive._model.state_dict()
    net = _build_network()
    net.load_state_dict({ours: weights[theirs] for ours, theirs in _WEIGHT_NAMES.items()})
    return net.eval()


def _build_network():
    import torch
    from torch import nn

    class SileroNet(nn.Module):
        """silero-vad 16 kHz: STFT as a convolution → 4 convolutions → LSTM → 1×1 convolution → sigmoid."""

        def __init__(self) -> None:
            super().__init__()
            self.stft = nn.Conv1d(1, 258, kernel_size=256, stride=128, bias=False)
            self.conv1 = nn.Conv1d(129, 128, kernel_size=3, padding=1)
            self.conv2 = nn.Conv1d(128, 64, kernel_size=3, stride=2, padding=1)
            self.conv3 = nn.Conv1d(64, 64, kernel_size=3, stride=2, padding=1)
            self.conv4 = nn.Conv1d(64, 128, kernel_size=3, padding=1)
            self.lstm = nn.LSTM(128, 128)
            self.final_conv = nn.Conv1d(128, 1, 1)

        def forward(self, frames: torch.Tensor, state: tuple | None) -> tuple[torch.Tensor, tuple]:
            """frames [N, 64 + 512] in stream order → speech probabilities [N] and the LSTM state after them."""
            x = self.stft(nn.functional.pad(frames, (0, 64), mode="reflect").unsqueeze(1))
            x = torch.sqrt(x[:, :129] ** 2 + x[:, 129:] ** 2)
            for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
                x = torch.relu(conv(x))
            features = x.mean(dim=-1)  # one time step is left per frame: [N, 128]
            # The encoder ran on all frames at once; only the LSTM steps from frame to frame.
            hidden, (h, c) = self.lstm(features, state)
            logits = self.final_conv(torch.relu(hidden).T.unsqueeze(0))  # [1, 1, N]
            return torch.sigmoid(logits).reshape(-1), (h, c)

    return SileroNet()
