"""Where the real whisper-base folders are (``make whisper`` puts them there) and espeak-ng speech for the tests."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

# The same default as scripts/whisper_base.py: LANGSPAN_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/langspan.
CACHE = Path(
    os.environ.get("LANGSPAN_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "langspan"
)
CT2_FOLDER = CACHE / "whisper-base-ct2"
HF_FOLDER = CACHE / "whisper-base-hf"


def require(folder: Path) -> Path:
    if not (folder / ".langspan-complete").is_file():
        pytest.skip(f"{folder} is missing: run `make whisper` (part of `make setup`)")
    return folder


def speak(text: str, voice: str, speed: int = 150) -> np.ndarray:
    """espeak-ng speech as 16 kHz mono float32 (skips the test when espeak-ng is not installed)."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.skip("espeak-ng is not installed (make setup installs it as root)")
    wav = subprocess.run([espeak, "-v", voice, "-s", str(speed), "--stdout", text], check=True, capture_output=True)
    with wave.open(io.BytesIO(wav.stdout)) as reader:
        rate = reader.getframerate()
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype=np.int16).astype(np.float32) / 32768
    positions = np.arange(0, len(samples) - 1, rate / 16000)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)


# Speech whisper-base identifies from espeak-ng voices (of 33 languages tried in benchmarks/whisper_windows.py,
# these are among those it gets right on whole clips); sentences written for the tests, not the benchmark's.
SPEECH = {
    "en": (
        "en-us",
        [
            "Every spring the river floods the low meadows and the farmers move their sheep uphill.",
            "In the evening the children carry lanterns along the narrow path to the lake.",
        ],
    ),
    "de": (
        "de",
        [
            "Jeden Frühling überflutet der Fluss die tiefen Wiesen, und die Bauern treiben ihre Schafe hinauf.",
            "Am Abend tragen die Kinder Laternen über den schmalen Weg zum See.",
        ],
    ),
    "es": (
        "es",
        [
            "Cada primavera el río inunda los prados bajos y los granjeros suben sus ovejas a la colina.",
            "Por la tarde los niños llevan faroles por el camino estrecho hasta el lago.",
        ],
    ),
    "it": (
        "it",
        [
            "Ogni primavera il fiume allaga i prati bassi e i contadini portano le pecore in collina.",
            "La sera i bambini portano le lanterne lungo il sentiero stretto fino al lago.",
        ],
    ),
    "hu": (
        "hu",
        [
            "Minden tavasszal a folyó elönti az alacsony réteket, és a gazdák feljebb hajtják a juhaikat.",
            "Este a gyerekek lámpásokat visznek a keskeny ösvényen a tóhoz.",
        ],
    ),
    "ja": (
        "ja",
        [
            "まいとしはるになると、かわがひくいのはらにあふれて、のうかのひとはひつじをおかのうえにつれていきます。",
            "ゆうがたには、こどもたちがちょうちんをもって、ほそいみちをみずうみまであるきます。",
        ],
    ),
}


def speech(code: str) -> np.ndarray:
    """Both sentences of a language, 0.3 s apart (9–15 s: whisper-base needs more than one espeak sentence)."""
    voice, texts = SPEECH[code]
    parts = [speak(text, voice) for text in texts]
    return np.concatenate([parts[0], np.zeros(4800, np.float32), *parts[1:]])
