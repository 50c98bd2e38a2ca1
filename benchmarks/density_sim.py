"""Adaptive window density on simulated timelines: dense vs ``--density auto`` with the same classifier outputs.

The simulation is the segmenter benchmark's (benchmarks/segmenter_sim.py: podcast-like truths, a simulated
classifier with bursty, confusable errors and low-confidence windows, a simulated speech detector). Every window
gets one posterior draw; the dense pass uses all of them, ``auto`` (engine/density.py, the product's own code) asks
for the ones it needs and infers the rest, so the two are compared on identical model outputs (paired). Refinement
probes draw from a generator seeded per timeline, the same for both.

Reported per error rate and agreement threshold: lang err, spurious spans per minute, median change error and edge
error (as in the segmenter benchmark), the share of speech windows the model classified, and the differences
auto - dense. Run: ``PYTHONPATH=src python benchmarks/density_sim.py`` (seeded; a few minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from langspan.engine.density import AdaptiveDensity, grid_stride
from langspan.segmentation.refine import BoundaryRefiner
from langspan.segmentation.segmenter import MIN_SPAN, SmoothingSegmenter
from langspan.timeline import WindowResult
from segmenter_sim import LABELS, MIN_SPEECH, WINDOW, SimClassifier, evaluate, make_truth

BATCH = 8


def all_windows(truth, sim: SimClassifier, rng: np.random.Generator) -> list[WindowResult]:
    """Every 2 s window with its speech share and one posterior draw (None without enough speech)."""
    jittered = [(s + rng.normal(0, 0.05), e + rng.normal(0, 0.05)) for s, e in truth.speech_intervals()]
    windows = []
    for i in range(int(truth.duration // WINDOW)):
        a, b = i * WINDOW, (i + 1) * WINDOW
        intervals = tuple((max(a, s), min(b, e)) for s, e in jittered if s < b and e > a and min(b, e) > max(a, s))
        fraction = sum(e - s for s, e in intervals) / WINDOW
        windows.append(WindowResult(a, b, sim.window(a, b) if fraction >= MIN_SPEECH else None, fraction, intervals))
    return windows


def adaptive(windows: list[WindowResult], agreement: float) -> tuple[list[WindowResult], int]:
    """The windows as ``--density auto`` sees them (blocks of BATCH × stride), and how many it classified."""
    density = AdaptiveDensity(grid_stride(MIN_SPAN, WINDOW), agreement)
    block = BATCH * density.stride
    out: list[WindowResult] = []
    classified = 0
    for first in range(0, len(windows), block):
        chunk = windows[first : first + block]
        speech = [w.probabilities is not None for w in chunk]

        def predict(positions: list[int], chunk=chunk) -> np.ndarray:
            nonlocal classified
            classified += len(positions)
            return np.stack([chunk[i].probabilities for i in positions])

        posteriors, inferred = density(speech, predict)
        out += [
            WindowResult(w.start, w.end, posteriors.get(i), w.speech, w.speech_intervals, inferred=i in inferred)
            for i, w in enumerate(chunk)
        ]
    return out, classified


def segment(windows: list[WindowResult], truth, seed: int, error_rate: float) -> dict:
    probes = SimClassifier(truth, np.random.default_rng(seed), error_rate)
    refiner = BoundaryRefiner(probes.probe, WINDOW, 3)
    return evaluate(truth, SmoothingSegmenter()(windows, LABELS, refine=refiner))


def run(error_rate: float, agreements: list[float], timelines: int, minutes: float, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    names = ["dense"] + [f"auto, agreement {a:g}" for a in agreements]
    totals = {name: {"lang_errors": 0.0, "speech_frames": 0.0, "minutes": 0.0, "spurious": 0.0, "changes": [],
                     "missed": 0, "edges": [], "classified": 0, "speech_windows": 0} for name in names}  # fmt: skip
    for t in range(timelines):
        truth = make_truth(rng, minutes)
        windows = all_windows(truth, SimClassifier(truth, rng, error_rate), rng)
        speech_windows = sum(w.probabilities is not None for w in windows)
        variants = {"dense": (windows, speech_windows)}
        for agreement, name in zip(agreements, names[1:], strict=True):
            variants[name] = adaptive(windows, agreement)
        for name, (variant, classified) in variants.items():
            result = segment(variant, truth, seed * 1000 + t, error_rate)
            total = totals[name]
            for key in ("lang_errors", "speech_frames", "minutes", "spurious", "missed"):
                total[key] += result[key]
            total["changes"] += result["change_errors"]
            total["edges"] += result["edge_errors"]
            total["classified"] += classified
            total["speech_windows"] += speech_windows
    return totals


def summary(total: dict) -> dict[str, float]:
    changes = total["changes"] + [np.inf] * total["missed"]
    return {
        "lang_err": total["lang_errors"] / total["speech_frames"],
        "spurious": total["spurious"] / total["minutes"],
        "change": float(np.median(changes)) if changes else float("nan"),
        "edge": float(np.median(total["edges"])) if total["edges"] else float("nan"),
        "classified": total["classified"] / max(1, total["speech_windows"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timelines", type=int, default=24)
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--error-rates", default="0.1,0.2,0.3")
    parser.add_argument("--agreements", default="0.5,0.6,0.7,0.8")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    began = time.perf_counter()
    agreements = [float(a) for a in args.agreements.split(",")]
    print(f"{args.timelines} timelines × {args.minutes:g} min per error rate, seed {args.seed}\n")
    print("| wrong windows (target) | density | lang err | Δ vs dense | spurious/min | change err | edge err "
          "| speech windows classified |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for rate in (float(r) for r in args.error_rates.split(",")):
        totals = run(rate, agreements, args.timelines, args.minutes, args.seed)
        dense = summary(totals["dense"])
        for name, total in totals.items():
            row = summary(total)
            delta = "" if name == "dense" else f"{(row['lang_err'] - dense['lang_err']) * 100:+.2f} pt"
            print(
                f"| {rate:.0%} | {name} | {row['lang_err']:.2%} | {delta} | {row['spurious']:.3f} | "
                f"{row['change']:.2f} s | {row['edge']:.2f} s | {row['classified']:.1%} |"
            )
    print(f"\n{time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
