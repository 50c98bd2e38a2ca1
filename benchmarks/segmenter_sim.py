"""Segmenter benchmark on simulated timelines: naive merge vs smoothing segmenter (with and without refinement).

Ground truth: podcast-like timelines (2-4 languages each, segments of 5-120 s, log-uniform; a non-speech intro
half of the time; pauses of 0.5-5 s between a third of the segments). A simulated classifier turns any interval of
the truth into a posterior over 16 language labels: the logits follow how much of the interval each language
covers (a window straddling a change is genuinely mixed), plus noise; a chosen share of windows is *wrong* (a
confusable language — eng/sco, deu/nld, spa/glg, ... — or a random one moves to the top, the true language usually
second), errors come in short bursts (an error follows an error 35% of the time), and 15% of windows are
low-confidence (flattened). The refinement probes go through the same simulated classifier with their own error
draws, so refinement gets no information a real model would not give. The speech detector is simulated from the
truth with 50 ms jitter on speech edges; windows under 25% speech are never classified (as in the pipeline).

Metrics (lower is better):
- lang err: share of truth *speech* time labelled with another language (``und`` and ``nonspeech`` count as wrong);
- spurious/min: predicted language spans (non-speech dropped, equal neighbours merged) that match no truth span
  (wrong language, or an extra fragment of an already matched one), per minute of audio;
- change err: median distance from each truth language change to the predicted one (0 when it falls inside the
  pause between the two languages); "missed" counts changes with no predicted change of that pair within 5 s;
- edge err: median distance from each truth speech onset/offset next to a pause of ≥ 2 s to the predicted one.

Run: ``PYTHONPATH=src python benchmarks/segmenter_sim.py`` (seeded; about a minute on 2 cores).
"""

from __future__ import annotations

import argparse
import itertools
import time
from dataclasses import dataclass

import numpy as np

from langspan.languages import NONSPEECH
from langspan.segmentation.refine import BoundaryRefiner
from langspan.segmentation.segmenter import MergeSegmenter, SmoothingSegmenter
from langspan.timeline import Span, WindowResult

LABELS = (
    "eng",
    "sco",
    "deu",
    "nld",
    "fra",
    "spa",
    "glg",
    "cat",
    "por",
    "ita",
    "pol",
    "ces",
    "rus",
    "ukr",
    "cmn",
    "jpn",
)
CONFUSABLE = {"eng": "sco", "sco": "eng", "deu": "nld", "nld": "deu", "spa": "glg", "glg": "spa", "cat": "spa",
              "fra": "cat", "por": "glg", "ita": "spa", "pol": "ces", "ces": "pol", "rus": "ukr", "ukr": "rus",
              "cmn": "jpn", "jpn": "cmn"}  # fmt: skip
SPOKEN = ("eng", "deu", "fra", "spa", "por", "ita", "pol", "rus", "cmn", "nld")  # languages truth segments use
WINDOW = 2.0
MIN_SPEECH = 0.25
FRAME = 0.01  # evaluation resolution, seconds
SILENT = -1


@dataclass
class Truth:
    """Truth timeline: segments (start, end, label index or SILENT), contiguous from 0 to duration, and the short
    pauses between sentences inside language segments (part of their segment, but silent)."""

    segments: list[tuple[float, float, int]]
    pauses: list[tuple[float, float]]

    def speech_intervals(self) -> list[tuple[float, float]]:
        """Where someone is speaking: language segments minus sentence pauses."""
        cuts = sorted(self.pauses)
        intervals = []
        for start, end, label in self.segments:
            if label == SILENT:
                continue
            for pause_start, pause_end in (p for p in cuts if start < p[0] < end):
                intervals.append((start, pause_start))
                start = pause_end
            intervals.append((start, end))
        return intervals

    @property
    def duration(self) -> float:
        return self.segments[-1][1]

    def frames(self) -> np.ndarray:
        out = np.full(round(self.duration / FRAME), SILENT)
        for start, end, label in self.segments:
            out[round(start / FRAME) : round(end / FRAME)] = label
        return out


def make_truth(rng: np.random.Generator, minutes: float) -> Truth:
    languages = [LABELS.index(code) for code in rng.choice(SPOKEN, size=rng.integers(2, 5), replace=False)]
    segments: list[tuple[float, float, int]] = []
    t = 0.0
    if rng.random() < 0.5:
        t = float(rng.uniform(3, 15))
        segments.append((0.0, t, SILENT))
    previous = None
    pauses: list[tuple[float, float]] = []
    while t < minutes * 60:
        language = int(rng.choice([lang for lang in languages if lang != previous]))
        length = float(np.exp(rng.uniform(np.log(5), np.log(120))))
        segments.append((t, t + length, language))
        pause = t + rng.uniform(2, 8)  # sentences of 2-8 s, pauses of 0.15-0.6 s between them
        while pause < t + length - 2:
            pauses.append((pause, pause + rng.uniform(0.15, 0.6)))
            pause = pauses[-1][1] + rng.uniform(2, 8)
        t += length
        previous = language
        if rng.random() < 0.33:
            gap = float(rng.uniform(0.5, 5))
            segments.append((t, t + gap, SILENT))
            t += gap
    return Truth(segments, pauses)


class SimClassifier:
    """Posteriors for any interval of a truth timeline, with realistic errors (see the module docstring)."""

    def __init__(self, truth: Truth, rng: np.random.Generator, error_rate: float, burst: float = 0.35) -> None:
        self.frames = truth.frames()
        self.rng = rng
        self.error_rate = error_rate
        self.burst = burst
        self._in_error = False
        self.calls = 0

    def coverage(self, start: float, end: float) -> np.ndarray:
        """Share of each label among the speech of [start, end)."""
        labels = self.frames[round(start / FRAME) : round(end / FRAME)]
        counts = np.bincount(labels[labels >= 0], minlength=len(LABELS)).astype(float)
        return counts / counts.sum() if counts.sum() else np.full(len(LABELS), 1 / len(LABELS))

    def window(self, start: float, end: float) -> np.ndarray:
        """A regular window: errors follow a two-state (bursty) process with the given long-run rate."""
        enter = self.error_rate * (1 - self.burst) / (1 - self.error_rate)
        self._in_error = self.rng.random() < (self.burst if self._in_error else enter)
        return self._posterior(start, end, wrong=self._in_error)

    def probe(self, intervals) -> np.ndarray:
        """Refinement probes: independent error draws at the same rate."""
        return np.stack([self._posterior(a, b, wrong=self.rng.random() < self.error_rate) for a, b in intervals])

    def _posterior(self, start: float, end: float, wrong: bool) -> np.ndarray:
        self.calls += 1
        coverage = self.coverage(start, end)
        logits = 5.0 * coverage + self.rng.normal(0, 0.6, len(LABELS))
        if wrong:
            true = int(np.argmax(coverage))
            if self.rng.random() < 0.6:
                other = LABELS.index(CONFUSABLE[LABELS[true]])
            else:
                other = int(self.rng.choice([i for i in range(len(LABELS)) if i != true]))
            logits[other] = logits.max() + self.rng.uniform(0.3, 2.5)
        if self.rng.random() < 0.15:
            logits *= self.rng.uniform(0.3, 0.6)  # a low-confidence window: same order, flatter
        probabilities = np.exp(logits - logits.max())
        return probabilities / probabilities.sum()


def simulate_windows(truth: Truth, classifier: SimClassifier, rng: np.random.Generator) -> list[WindowResult]:
    """Tiled 2 s windows; the simulated speech detector gates them exactly like the pipeline does."""
    jittered = [(s + rng.normal(0, 0.05), e + rng.normal(0, 0.05)) for s, e in truth.speech_intervals()]
    results = []
    count = int(truth.duration // WINDOW)
    for i in range(count):
        a, b = i * WINDOW, (i + 1) * WINDOW
        intervals = tuple((max(a, s), min(b, e)) for s, e in jittered if s < b and e > a and min(b, e) > max(a, s))
        fraction = sum(e - s for s, e in intervals) / WINDOW
        probabilities = classifier.window(a, b) if fraction >= MIN_SPEECH else None
        results.append(WindowResult(a, b, probabilities, fraction, intervals))
    return results


def predicted_frames(spans: list[Span], length: int) -> np.ndarray:
    out = np.full(length, -2)  # -2: not covered (tail) / und
    for span in spans:
        label = (
            SILENT if span.language == NONSPEECH else (LABELS.index(span.language) if span.language in LABELS else -2)
        )
        out[round(span.start / FRAME) : round(span.end / FRAME)] = label
    return out


def language_runs(frames: np.ndarray) -> list[tuple[int, int, int]]:
    """(first frame, last frame + 1, label) of speech runs, non-speech frames dropped, equal neighbours merged."""
    keep = np.flatnonzero(frames != SILENT)
    runs: list[list[int]] = []
    for index in keep:
        label = int(frames[index])
        if runs and runs[-1][2] == label:
            runs[-1][1] = index + 1
        else:
            runs.append([index, index + 1, label])
    return [tuple(run) for run in runs]  # type: ignore[misc]


def evaluate(truth: Truth, spans: list[Span]) -> dict[str, float]:
    true = truth.frames()
    pred = predicted_frames(spans, len(true))
    speech = true != SILENT
    result = {"lang_errors": float(np.sum(pred[speech] != true[speech])), "speech_frames": float(speech.sum())}
    result["minutes"] = truth.duration / 60
    result["spurious"] = float(count_spurious(true, pred))
    result["change_errors"], result["missed"] = change_errors(truth, spans)
    result["edge_errors"] = edge_errors(truth, spans)
    return result


def count_spurious(true: np.ndarray, pred: np.ndarray) -> int:
    truth_of_frame = np.full(len(true), -1)
    truth_runs = language_runs(true)
    for n, (a, b, _) in enumerate(truth_runs):
        truth_of_frame[a:b] = n
    matched: dict[int, int] = {}  # truth run → length of its best matching predicted run
    spurious = 0
    for a, b, label in language_runs(pred):
        owners = truth_of_frame[a:b][(true[a:b] != SILENT)]
        if len(owners) == 0:
            spurious += 1
            continue
        owner = int(np.bincount(owners).argmax())
        if truth_runs[owner][2] != label:
            spurious += 1
        elif owner in matched:
            spurious += 1  # a second fragment of the same truth span
        else:
            matched[owner] = b - a
    return spurious


def change_errors(truth: Truth, spans: list[Span]) -> tuple[list[float], int]:
    """For each truth language change A→B (maybe with a pause between), the distance of the predicted A→B change
    (end of A, start of B, ignoring predicted non-speech between) from the truth pause [end of A, start of B]."""
    speech_truth = [(s, e, label) for s, e, label in truth.segments if label != SILENT]
    speech_pred = [(span.start, span.end, span.language) for span in spans if span.language != NONSPEECH]
    predicted_changes = [
        (left[1], right[0], left[2], right[2]) for left, right in itertools.pairwise(speech_pred) if left[2] != right[2]
    ]
    errors, missed = [], 0
    for left, right in itertools.pairwise(speech_truth):
        if left[2] == right[2]:
            continue
        lo, hi, a, b = left[1], right[0], LABELS[left[2]], LABELS[right[2]]
        candidates = [
            max(0.0, lo - end, start - hi, end - hi, lo - start)
            for end, start, x, y in predicted_changes
            if x == a and y == b and abs(end - lo) < 5 and abs(start - hi) < 5
        ]
        if candidates:
            errors.append(min(candidates))
        else:
            missed += 1
    return errors, missed


def edge_errors(truth: Truth, spans: list[Span]) -> list[float]:
    """Speech onsets/offsets next to truth pauses of ≥ 2 s vs the nearest predicted edge of the same kind."""
    pairs = list(itertools.pairwise(spans))
    onsets = [span.start for prev, span in pairs if prev.language == NONSPEECH and span.language != NONSPEECH]
    offsets = [span.end for span, nxt in pairs if nxt.language == NONSPEECH and span.language != NONSPEECH]
    errors = []
    segments = truth.segments
    for i, (start, end, label) in enumerate(segments):
        if label != SILENT or end - start < 2.0:
            continue
        if i > 0 and offsets:
            errors.append(min(abs(start - t) for t in offsets))
        if i + 1 < len(segments) and onsets:
            errors.append(min(abs(end - t) for t in onsets))
    return errors


def run(error_rate: float, timelines: int, minutes: float, seed: int, probes: int, burst: float) -> dict[str, dict]:
    rng = np.random.default_rng(seed)
    methods = {
        "naive merge": lambda windows, sim: MergeSegmenter()(windows, LABELS),
        "smoothing": lambda windows, sim: SmoothingSegmenter()(windows, LABELS),
        "smoothing, no pause snap": lambda windows, sim: SmoothingSegmenter(pause_snap=0)(windows, LABELS),
        f"smoothing + refine ({probes} probes), no pause snap": None,
        f"smoothing + refine ({probes} probes)": None,
    }
    totals: dict[str, dict] = {name: {"lang_errors": 0.0, "speech_frames": 0.0, "minutes": 0.0, "spurious": 0.0,
                                      "change_errors": [], "missed": 0, "edge_errors": [], "extra": 0, "windows": 0}
                               for name in methods}  # fmt: skip
    wrong_windows = classified = 0
    for _ in range(timelines):
        truth = make_truth(rng, minutes)
        sim = SimClassifier(truth, rng, error_rate, burst)
        windows = simulate_windows(truth, sim, rng)
        for window in windows:
            if window.probabilities is not None:
                classified += 1
                wrong_windows += int(np.argmax(window.probabilities)) != int(
                    np.argmax(sim.coverage(window.start, window.end))
                )
        for name, method in methods.items():
            if method is None:
                refiner = BoundaryRefiner(sim.probe, WINDOW, probes)
                segmenter = SmoothingSegmenter(pause_snap=0) if "no pause" in name else SmoothingSegmenter()
                spans = segmenter(windows, LABELS, refine=refiner)
                totals[name]["extra"] += refiner.windows_used
            else:
                spans = method(windows, sim)
            result = evaluate(truth, spans)
            total = totals[name]
            total["windows"] += sum(w.probabilities is not None for w in windows)
            for key in ("lang_errors", "speech_frames", "minutes", "spurious", "missed"):
                total[key] += result[key]
            total["change_errors"] += result["change_errors"]
            total["edge_errors"] += result["edge_errors"]
    for total in totals.values():
        total["wrong_windows"] = wrong_windows / max(1, classified)
    return totals


def summarise(total: dict) -> dict[str, float]:
    changes = total["change_errors"] + [np.inf] * total["missed"]
    return {
        "lang_err": total["lang_errors"] / total["speech_frames"],
        "spurious_per_min": total["spurious"] / total["minutes"],
        "change_err": float(np.median(changes)) if changes else float("nan"),
        "missed": total["missed"] / max(1, len(changes)),
        "edge_err": float(np.median(total["edge_errors"])) if total["edge_errors"] else float("nan"),
        "extra": total["extra"] / max(1, total["windows"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timelines", type=int, default=24, help="simulated timelines per error rate")
    parser.add_argument("--minutes", type=float, default=15.0, help="length of each timeline")
    parser.add_argument("--error-rates", default="0.1,0.2,0.3", help="shares of wrong windows to simulate")
    parser.add_argument("--probes", type=int, default=3, help="refinement probes per language change")
    parser.add_argument("--burst", type=float, default=0.35, help="chance an error follows an error (0: independent)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    began = time.perf_counter()
    print(f"{args.timelines} timelines × {args.minutes:g} min per error rate, seed {args.seed}, burst {args.burst}\n")
    print(
        "| wrong windows | segmenter | lang err | spurious/min | change err (median) | missed changes | edge err (median) | extra windows |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for rate in (float(r) for r in args.error_rates.split(",")):
        totals = run(rate, args.timelines, args.minutes, args.seed, args.probes, args.burst)
        baseline = summarise(totals["naive merge"])
        for name, total in totals.items():
            row = summarise(total)
            ratio = "" if name == "naive merge" else f" ({row['lang_err'] / baseline['lang_err']:.2f}×)"
            change = f"{row['change_err']:.2f} s" if np.isfinite(row["change_err"]) else "— (most missed)"
            print(
                f"| {total['wrong_windows']:.1%} | {name} | {row['lang_err']:.2%}{ratio} | {row['spurious_per_min']:.3f} | "
                f"{change} | {row['missed']:.1%} | {row['edge_err']:.2f} s | {row['extra']:.1%} |"
            )
    print(f"\n{time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
