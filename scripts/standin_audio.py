"""Speech synthesis and augmentation for the langspan stand-in model.

espeak-ng speaks a text with a voice (language sub-variant + voice variant, speed, pitch); ffmpeg resamples its
22.05 kHz WAV to 16 kHz mono float32; leading and trailing silence is trimmed so that the first and last
sample of every utterance are speech (demo ground truth is computed from these exact sample counts).
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000  # what the product decodes to and what mms-lid-256 expects

# espeak-ng language sub-variants per ISO 639-3 label (German has only one).
ESPEAK_LANGUAGES = {
    "eng": ["en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-us-nyc", "en-gb-x-gbclan",
            "en-gb-x-gbcwmd"],
    "deu": ["de"],
    "fra": ["fr-fr", "fr-be", "fr-ch"],
    "spa": ["es", "es-419"],
}
# Voice variants (formant/pitch/breathiness presets) shared by all languages, so that the voice never tells
# the language. Two Klatt-synthesiser variants add a different source model.
VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt3",
            "adam", "Andy", "anika", "steph", "max", "linda"]
SPEED_WPM = (125, 215)  # espeak-ng -s range: slow to brisk speech
PITCH = (20, 80)  # espeak-ng -p range (0-99, default 50)
TRIM_THRESHOLD = 1e-3  # |sample| above this counts as sound when trimming (espeak pads with digital silence)
MIN_SPEECH_S = 0.3  # a training window must hold at least this much speech to carry a language label

# Training windows: a crop of 1-3 utterances of one language joined by pauses, with silence at both ends,
# so that windows straddle pauses the way the product's fixed tiling does.
CLIPS_PER_WINDOW_P = (0.45, 0.4, 0.15)  # probability of 1, 2, 3 utterances
TRAIN_PAUSE_S = (0.05, 0.9)
TRAIN_EDGE_S = (0.0, 0.6)  # silence before the first and after the last utterance
# Augmentation: the demo media pass through lossy codecs and real media have background noise.
GAIN = (0.2, 1.0)
LOWPASS_P, LOWPASS_HZ = 0.3, (2500, 7500)
NOISE_P, SNR_DB = 0.6, (5, 35)


@dataclass(frozen=True)
class Voice:
    """One espeak-ng voice setting."""

    name: str  # e.g. "fr-be+m3"
    speed: int
    pitch: int


def random_voice(lang: str, rng: random.Random) -> Voice:
    """A random sub-variant, voice variant, speed and pitch for a language."""
    name = f"{rng.choice(ESPEAK_LANGUAGES[lang])}+{rng.choice(VARIANTS)}"
    return Voice(name, rng.randint(*SPEED_WPM), rng.randint(*PITCH))


def trim(samples: np.ndarray) -> np.ndarray:
    """Cut leading and trailing silence so the utterance starts and ends with sound."""
    loud = np.flatnonzero(np.abs(samples) > TRIM_THRESHOLD)
    if loud.size == 0:
        raise ValueError("espeak-ng produced silence")
    return samples[loud[0]: loud[-1] + 1]


def synthesize(text: str, voice: Voice) -> np.ndarray:
    """Speak text with espeak-ng and return trimmed 16 kHz mono float32 samples."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice.name, "-s", str(voice.speed), "-p", str(voice.pitch), "--stdout", text],
        check=True, capture_output=True,
    ).stdout
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "wav", "-i", "pipe:0",
         "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "pipe:1"],
        input=wav, check=True, capture_output=True,
    ).stdout
    return trim(np.frombuffer(raw, dtype=np.float32).copy())


def synthesize_many(items: list[tuple[str, Voice]], cache_dir: Path, workers: int = 2) -> list[np.ndarray]:
    """Synthesize (text, voice) pairs in parallel; cache the result under cache_dir keyed by content."""
    key = hashlib.sha256(json.dumps([(t, asdict(v)) for t, v in items]).encode()).hexdigest()[:16]
    path = cache_dir / f"speech-{key}.npz"
    if path.exists():
        with np.load(path) as data:
            flat, ends = data["flat"], data["ends"]
        return [a.astype(np.float32) / 32767 for a in np.split(flat, ends[:-1])]
    with ThreadPoolExecutor(workers) as pool:
        clips = list(pool.map(lambda item: synthesize(*item), items))
    cache_dir.mkdir(parents=True, exist_ok=True)
    flat = np.concatenate([np.round(np.clip(c, -1, 1) * 32767).astype(np.int16) for c in clips])
    np.savez(path, flat=flat, ends=np.cumsum([len(c) for c in clips]))
    # Return what the cache returns, so a cached and a fresh run see identical (int16-rounded) samples.
    return synthesize_many(items, cache_dir, workers)


# --- augmentation -------------------------------------------------------------------------------------------


def colored_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """White, pink or brown noise of unit RMS (spectrum shaped as 1/f^alpha)."""
    alpha = rng.choice([0.0, 1.0, 2.0])
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n)
    freqs[0] = freqs[1]
    noise = np.fft.irfft(spectrum / freqs ** (alpha / 2), n)
    return (noise / (np.sqrt(np.mean(noise ** 2)) + 1e-12)).astype(np.float32)


def lowpass(samples: np.ndarray, cutoff_hz: float) -> np.ndarray:
    """Windowed-sinc low-pass filter (like a low-bitrate codec or a phone line removing the top band)."""
    taps = np.arange(-32, 33)
    fc = cutoff_hz / SAMPLE_RATE
    kernel = 2 * fc * np.sinc(2 * fc * taps) * np.hamming(len(taps))
    return np.convolve(samples, kernel / kernel.sum(), mode="same").astype(np.float32)


def augment(window: np.ndarray, speech_rms: float, rng: np.random.Generator) -> np.ndarray:
    """Random gain, optional low-pass, optional background noise (SNR relative to the speech)."""
    gain = np.float32(rng.uniform(*GAIN))
    out = window * gain
    if rng.random() < LOWPASS_P:
        out = lowpass(out, rng.uniform(*LOWPASS_HZ))
    if rng.random() < NOISE_P:
        snr_db = rng.uniform(*SNR_DB)
        noise_rms = max(speech_rms, 1e-3) * gain / 10 ** (snr_db / 20)
        out = out + colored_noise(len(out), rng) * np.float32(noise_rms)
    return out.astype(np.float32)


def join_with_pauses(clips: list[np.ndarray], pauses_s: list[float], lead_s: float = 0.0,
                     tail_s: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate clips with silent pauses; also return a per-sample speech mask (True inside a clip)."""
    lead = int(lead_s * SAMPLE_RATE)
    parts, mask = [np.zeros(lead, np.float32)], [np.zeros(lead, bool)]
    for i, clip in enumerate(clips):
        parts.append(clip)
        mask.append(np.ones(len(clip), bool))
        gap = int((pauses_s[i] if i < len(clips) - 1 else tail_s) * SAMPLE_RATE)
        parts.append(np.zeros(gap, np.float32))
        mask.append(np.zeros(gap, bool))
    return np.concatenate(parts), np.concatenate(mask)


def sample_window(clips: list[np.ndarray], window_s: float, rng: np.random.Generator) -> np.ndarray:
    """A random crop of window_s seconds from 1-3 clips of one language joined by pauses, augmented.

    The crop may straddle pauses, start or end in silence, and hold as little as MIN_SPEECH_S of speech.
    """
    count = rng.choice([1, 2, 3], p=list(CLIPS_PER_WINDOW_P))
    chosen = [clips[i] for i in rng.choice(len(clips), size=count, replace=False)]
    pauses = list(rng.uniform(*TRAIN_PAUSE_S, size=count))
    stream, mask = join_with_pauses(chosen, pauses, lead_s=rng.uniform(*TRAIN_EDGE_S),
                                    tail_s=rng.uniform(*TRAIN_EDGE_S))
    n = round(window_s * SAMPLE_RATE)
    if len(stream) < n:  # pad a short stream to the window at a random position
        offset = rng.integers(0, n - len(stream) + 1)
        stream = np.pad(stream, (offset, n - len(stream) - offset))
        mask = np.pad(mask, (offset, n - len(mask) - offset))
    for _ in range(10):
        start = rng.integers(0, len(stream) - n + 1)
        if mask[start: start + n].sum() >= MIN_SPEECH_S * SAMPLE_RATE:
            break
    window, speech = stream[start: start + n], mask[start: start + n]
    speech_rms = float(np.sqrt(np.mean(window[speech] ** 2))) if speech.any() else 0.0
    return augment(window, speech_rms, rng)
