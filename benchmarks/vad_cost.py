"""Cost of speech detection per hour of audio: langspan's streaming detector vs silero-vad's own per-frame loop.

The audio is espeak-ng speech in four languages alternating with silence and noise (about a third non-speech),
cut into 2 s windows as the pipeline does. The baseline is the package's documented use,
``silero_vad.get_speech_timestamps(audio, load_silero_vad())``, which steps its TorchScript model one 32 ms frame
per Python call; it runs second because importing silero_vad sets torch to one thread for the whole process
(the thread count each side ran with is printed). Also printed: how often the two agree frame by frame.

Run: ``PYTHONPATH=src python benchmarks/vad_cost.py [--minutes 10]``
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from langspan.frontend import media
from langspan.frontend.vad import FRAME_SAMPLES, SpeechDetector

RATE = 16_000
SENTENCES = {
    "en": "The weather today is mild, with a light breeze from the west and clouds later in the afternoon.",
    "de": "Das Wetter ist heute mild, mit einer leichten Brise aus dem Westen und Wolken am Nachmittag.",
    "fr": "Le temps est doux aujourd'hui, avec une légère brise de l'ouest et des nuages l'après-midi.",
    "es": "El tiempo hoy es templado, con una brisa ligera del oeste y nubes por la tarde.",
}


def make_audio(minutes: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    voices = []
    with tempfile.TemporaryDirectory() as folder:
        for voice, text in SENTENCES.items():
            path = Path(folder) / f"{voice}.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
            voices.append(np.concatenate(list(media.decode(path))))
    parts, total = [], 0
    while total < minutes * 60 * RATE:
        part = voices[rng.integers(len(voices))] if rng.random() < 0.67 else _pause(rng)
        parts.append(part)
        total += len(part)
    return np.concatenate(parts)[: int(minutes * 60 * RATE)].astype(np.float32)


def _pause(rng: np.random.Generator) -> np.ndarray:
    length = int(rng.uniform(1, 6) * RATE)
    return (rng.normal(0, rng.choice([0.0, 0.003, 0.02]), length)).astype(np.float32)  # silence, hiss or noise


def ours(audio: np.ndarray, batch: int) -> tuple[float, np.ndarray]:
    """The detector as the pipeline drives it: ``batch`` 2 s windows per network call."""
    detector, frames = SpeechDetector(), []
    size = 2 * RATE
    began = time.perf_counter()
    for first in range(0, len(audio), batch * size):
        starts = range(first, min(first + batch * size, len(audio)), size)
        for start in starts:
            detector.add(start, audio[start : start + size])
        for start in starts:
            detector.speech(start, min(start + size, len(audio)))
        frames.append(detector._frame_speech[detector._frame_starts >= first].copy())  # for the agreement check
        detector.forget(starts[-1])
    return time.perf_counter() - began, np.concatenate(frames)


def baseline(audio: np.ndarray) -> tuple[float, float, np.ndarray]:
    from silero_vad import get_speech_timestamps, load_silero_vad  # sets torch to 1 thread from here on

    model = load_silero_vad()
    began = time.perf_counter()
    get_speech_timestamps(torch.from_numpy(audio[: 30 * RATE]), model)  # TorchScript warm-up
    warm_up = time.perf_counter() - began
    began = time.perf_counter()
    stamps = get_speech_timestamps(torch.from_numpy(audio), model, speech_pad_ms=0, min_speech_duration_ms=0)
    elapsed = time.perf_counter() - began
    frames = np.zeros(len(audio) // FRAME_SAMPLES + 1, dtype=bool)
    for stamp in stamps:
        frames[stamp["start"] // FRAME_SAMPLES : stamp["end"] // FRAME_SAMPLES] = True
    return elapsed, warm_up, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    audio = make_audio(args.minutes)
    hours = len(audio) / RATE / 3600
    rows = []
    threads = torch.get_num_threads()
    for batch in (1, 8):
        seconds, our_frames = ours(audio, batch)
        rows.append((f"langspan SpeechDetector, {batch} window(s) per call", threads, seconds))
    theirs, warm_up, their_frames = baseline(audio)  # from here on torch runs one thread
    rows.insert(0, ("silero-vad get_speech_timestamps (per-frame loop)", torch.get_num_threads(), theirs))
    for batch in (1, 8):
        rows.append(
            (f"langspan SpeechDetector, {batch} window(s) per call", torch.get_num_threads(), ours(audio, batch)[0])
        )
    n = min(len(our_frames), len(their_frames))
    agreement = float(np.mean(our_frames[:n] == their_frames[:n]))
    print(f"{args.minutes:g} min of audio, {np.mean(our_frames):.0%} of frames speech (ours)\n")
    print("| detector | torch threads | seconds per audio hour | vs silero-vad loop |")
    print("|---|---|---|---|")
    for name, thread_count, seconds in rows:
        print(f"| {name} | {thread_count} | {seconds / hours:.1f} | {theirs / seconds:.1f}x |")
    print(f"\nsilero-vad's first 30 s took {warm_up:.1f} s (TorchScript warm-up, not counted above);")
    print(f"frame decisions agree on {agreement:.1%} (silero-vad adds a 100 ms min-silence rule to the hysteresis)")


if __name__ == "__main__":
    main()
