"""End-to-end check of the stand-in model on the demo media, the way langspan will see them.

Decodes every audio stream named in fixtures/demo/*.truth.json with ffmpeg to 16 kHz mono float32, tiles it
into non-overlapping 2.0 s windows (the last one may be shorter and is padded with an attention mask), classifies
each window through AutoFeatureExtractor + AutoModelForAudioClassification, and compares with the truth:

* "pure" windows lie entirely inside one language span;
* "majority" windows have at least half of their length inside one language span (switch windows included).

It also reports whether decoding keeps the truth's timing (the decoded length and the first loud sample near
each span start against the truth) and whether the attention mask works (the ragged last window scored alone
and padded in a batch must give the same logits).

    .venv/bin/python scripts/check_standin.py [--model fixtures/standin-lid] [--demo fixtures/demo]
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import numpy as np
import torch

SR = 16_000
WINDOW_S = 2.0
ONSET_THRESHOLD = 0.02  # above the podcast's noise floor, below every utterance's first syllable
REPO = Path(__file__).resolve().parent.parent


def decode(path: Path, index: int) -> np.ndarray:
    """One audio stream as 16 kHz mono float32, as the product decodes it."""
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-protocol_whitelist", "file,pipe", "-i", f"file:{path}",
         "-map", f"0:{index}", "-ac", "1", "-ar", str(SR), "-f", "f32le", "pipe:1"],
        check=True, capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.float32)


def windows(samples: np.ndarray) -> list[tuple[float, float, np.ndarray]]:
    n = int(WINDOW_S * SR)
    return [(i / SR, min(i + n, len(samples)) / SR, samples[i:i + n]) for i in range(0, len(samples), n)]


def window_truth(start: float, end: float, spans: list[dict]) -> tuple[str | None, bool]:
    """(language covering at least half the window or None, whether the window lies inside that span)."""
    best, best_overlap = None, 0.0
    for span in spans:
        if span["language"] == "nonspeech":
            continue
        overlap = min(end, span["end"]) - max(start, span["start"])
        if overlap > best_overlap:
            best, best_overlap = span, overlap
    if best is None or best_overlap < 0.5 * (end - start):
        return None, False
    return best["language"], best["start"] <= start and end <= best["end"]


def onset_errors_ms(samples: np.ndarray, spans: list[dict]) -> list[float]:
    """First loud sample at or after 0.3 s before each language span start, minus the span start."""
    errors = []
    for span in spans:
        if span["language"] == "nonspeech":
            continue
        lo = int(max(0.0, span["start"] - 0.3) * SR)
        loud = np.flatnonzero(np.abs(samples[lo:int(span["end"] * SR)]) > ONSET_THRESHOLD)
        errors.append((lo + loud[0]) / SR * 1000 - span["start"] * 1000 if loud.size else float("nan"))
    return errors


@torch.no_grad()
def classify(fe, model, wins: list[np.ndarray], batch: int = 16) -> list[str]:
    labels = []
    for i in range(0, len(wins), batch):
        inputs = fe(wins[i:i + batch], sampling_rate=SR, padding=True, return_attention_mask=True,
                    return_tensors="pt")
        labels += [model.config.id2label[int(k)] for k in model(**inputs).logits.argmax(-1)]
    return labels


@torch.no_grad()
def padding_gap(fe, model, wins: list[np.ndarray]) -> float:
    """Largest logit difference for the last (ragged) window scored alone vs padded in a batch."""
    alone = fe(wins[-1:], sampling_rate=SR, padding=True, return_attention_mask=True, return_tensors="pt")
    batch = fe(wins[-3:], sampling_rate=SR, padding=True, return_attention_mask=True, return_tensors="pt")
    return float((model(**alone).logits[0] - model(**batch).logits[-1]).abs().max())


def check_stream(fe, model, path: Path, stream: dict) -> dict:
    samples = decode(path, stream["index"])
    tiles = windows(samples)
    predicted = classify(fe, model, [w for _, _, w in tiles])
    pure = majority = pure_ok = majority_ok = 0
    line = []
    for (start, end, _), guess in zip(tiles, predicted, strict=True):
        truth, inside = window_truth(start, end, stream["spans"])
        if truth is None:
            line.append(f"({guess})")
            continue
        majority += 1
        majority_ok += guess == truth
        pure += inside
        pure_ok += inside and guess == truth
        line.append(guess if guess == truth else f"{guess}!={truth}")
    errors = onset_errors_ms(samples, stream["spans"])
    return {"pure": pure, "pure_ok": pure_ok, "majority": majority, "majority_ok": majority_ok,
                "padding_gap": padding_gap(fe, model, [w for _, _, w in tiles]),
                "length_error_ms": (len(samples) / SR - stream["duration"]) * 1000,
                "max_onset_error_ms": max(abs(e) for e in errors), "windows": " ".join(line)}


def check(model_dir: Path, demo_dir: Path) -> dict[str, dict]:
    """Print and return per-stream window accuracy of the model on every demo file."""
    from transformers import AutoFeatureExtractor, AutoModelForAudioClassification

    fe = AutoFeatureExtractor.from_pretrained(model_dir)
    model = AutoModelForAudioClassification.from_pretrained(model_dir).eval()
    results, totals = {}, np.zeros(4, int)
    for truth_path in sorted(demo_dir.glob("*.truth.json")):
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        for stream in truth["streams"]:
            r = check_stream(fe, model, demo_dir / truth["source"], stream)
            results[f"{truth['source']}#{stream['index']}"] = r
            totals += [r["pure_ok"], r["pure"], r["majority_ok"], r["majority"]]
            print(f"{truth['source']} stream {stream['index']}: pure {r['pure_ok']}/{r['pure']}, "
                  f"majority {r['majority_ok']}/{r['majority']}; decoded length {r['length_error_ms']:+.1f} ms, "
                  f"onset error <= {r['max_onset_error_ms']:.1f} ms; ragged last window alone vs padded: "
                  f"logits differ by {r['padding_gap']:.1e}\n    {r['windows']}")
    print(f"all demo streams: pure windows {totals[0]}/{totals[1]} = {totals[0] / totals[1]:.1%}, "
          f"majority windows {totals[2]}/{totals[3]} = {totals[2] / totals[3]:.1%}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="Check the stand-in model on the demo media.")
    parser.add_argument("--model", type=Path, default=REPO / "fixtures" / "standin-lid")
    parser.add_argument("--demo", type=Path, default=REPO / "fixtures" / "demo")
    args = parser.parse_args()
    torch.set_num_threads(2)
    check(args.model, args.demo)


if __name__ == "__main__":
    main()
