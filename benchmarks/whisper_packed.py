"""Experiment: five 6 s windows in one Whisper encoder pass, each window's language read from its own frames.

    cd benchmarks && PYTHONPATH=../src python whisper_packed.py [--known en,de,...] [--precision int8]

Today every 6 s window is padded to Whisper's 30 s input, so each window costs a whole encoder pass for a fifth of
its frames. Packed: five windows side by side fill the 30 s input; the encoder runs once; the decoder's language
step (``detect_language`` on encoder output) reads each window's 300 encoder frames alone. Five times fewer
encoder passes — if the language of a window survives being encoded next to other speech. Measured here on the
espeak-ng clips of ``whisper_windows.py`` (the languages whisper-base knows in that voice), CTranslate2:

- ``padded``: langspan's classifier today (each window alone, padded to 30 s);
- ``packed, same clip``: five consecutive windows of one clip per pass (one language, as inside a long stretch);
- ``packed, mixed``: the windows of all languages interleaved, so every neighbour in a pass speaks another
  language (the worst case: a podcast's changes every 6 s).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from langspan.models.base import LoadOptions
from langspan.models.whisper_ct2 import WhisperCT2Classifier
from whisper_corpus import SAMPLE_RATE, language_clip
from whisper_windows import CACHE, windows_of

KNOWN = "en,de,es,fr,it,pl,ru,cs,hu,vi,ja"
PER_PASS = 5  # 5 x 6 s = Whisper's 30 s input
WINDOW = 6.0


def encode(classifier: WhisperCT2Classifier, audio: np.ndarray) -> np.ndarray:
    """Whisper's encoder output [1500, d_model] for up to 30 s of audio (padded as Whisper pads)."""
    import ctranslate2

    features = classifier.feature_extractor([audio], sampling_rate=SAMPLE_RATE, return_tensors="np")
    encoded = classifier.model.encode(
        ctranslate2.StorageView.from_array(np.ascontiguousarray(features["input_features"], np.float32)), to_cpu=True
    )
    return np.asarray(encoded)[0]


def packed_posteriors(classifier: WhisperCT2Classifier, windows: list[np.ndarray], pad: bool = False) -> np.ndarray:
    """Each window's language posteriors from shared encoder passes of PER_PASS windows. With ``pad``, the decoder
    sees the window's frames followed by the encoded silence of an empty input, as it would for a padded window."""
    import ctranslate2

    frames = int(WINDOW * SAMPLE_RATE) // 160 // 2  # encoder frames per window (mel hop 160, encoder stride 2)
    out = np.zeros((len(windows), len(classifier.labels)), dtype=np.float32)
    silence = encode(classifier, np.zeros(SAMPLE_RATE, np.float32))[frames:] if pad else None
    for first in range(0, len(windows), PER_PASS):
        group = windows[first : first + PER_PASS]
        states = encode(classifier, np.concatenate(group))  # [1500, d_model]
        slices = np.stack([
            states[i * frames : (i + 1) * frames] if silence is None
            else np.concatenate([states[i * frames : (i + 1) * frames], silence])
            for i in range(len(group))
        ])  # fmt: skip
        results = classifier.model.detect_language(ctranslate2.StorageView.from_array(np.ascontiguousarray(slices)))
        for row, pairs in enumerate(results):
            for token, probability in pairs:
                column = classifier.index.get(token)
                if column is not None:
                    out[first + row, column] = probability
    return out


def accuracy(posteriors: np.ndarray, truth: list[str], raw: list[str]) -> float:
    return float(np.mean([raw[int(i)] == code for i, code in zip(posteriors.argmax(1), truth, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--known", default=KNOWN, help="languages whisper-base knows in espeak-ng's voice")
    parser.add_argument("--precision", default="int8")
    args = parser.parse_args()
    classifier = WhisperCT2Classifier(LoadOptions(str(CACHE / "whisper-base-ct2"), precision=args.precision))
    raw = list(classifier.info.raw_labels)
    by_language = {code: windows_of(language_clip(code), WINDOW) for code in args.known.split(",")}
    same = [(code, w) for code, windows in by_language.items() for w in windows]
    longest = max(len(windows) for windows in by_language.values())
    mixed = [(code, windows[i]) for i in range(longest) for code, windows in by_language.items() if i < len(windows)]
    print(f"{len(same)} windows of {WINDOW:g} s, {len(by_language)} languages, CTranslate2 {classifier.precision}")
    print("| method | accuracy | encoder passes | seconds |")
    print("|---|---|---|---|")
    for name, pairs, packed in (("padded (today)", same, False), ("packed, same clip", same, True),
                                ("packed, mixed languages", mixed, True), ("packed + encoded silence, same clip", same, "pad"),
                                ("packed + encoded silence, mixed", mixed, "pad")):  # fmt: skip
        truth, windows = [code for code, _ in pairs], [w for _, w in pairs]
        start = time.perf_counter()
        if packed:
            posteriors = packed_posteriors(classifier, windows, pad=packed == "pad")
            passes = -(-len(windows) // PER_PASS)
        else:
            posteriors = np.concatenate([classifier.predict(windows[i : i + 8]) for i in range(0, len(windows), 8)])
            passes = len(windows)
        seconds = time.perf_counter() - start
        print(f"| {name} | {accuracy(posteriors, truth, raw):.3f} | {passes} | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
