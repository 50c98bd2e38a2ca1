"""Compare langspan's timeline of a demo file with its ground truth, boundary by boundary.

Truth spans (``fixtures/demo/*.truth.json``) cover each language from its first to its last sample; the pauses
between them belong to no span, so a predicted boundary anywhere inside the pause is exact (error 0), and its error
otherwise is the distance to the pause. Also printed: how many windows were classified, how many extra windows
boundary refinement used, and the same timeline without refinement and with the naive merge, for comparison.

Run: ``PYTHONPATH=src python benchmarks/demo_truth.py fixtures/demo/podcast.mp3 --model fixtures/standin-lid``
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

from langspan.engine.local import detect, load_classifier
from langspan.languages import NONSPEECH
from langspan.options import DetectOptions
from langspan.segmentation.segmenter import MergeSegmenter


def boundary_errors(spans, truth) -> list[tuple[str, float, tuple[float, float], float]]:
    """(change, predicted time, truth pause, error) for each predicted boundary, matched in order."""
    rows = []
    truth_edges = [(a["end"], b["start"], f"{a['language']}→{b['language']}") for a, b in itertools.pairwise(truth)]
    predicted = [(a.end, f"{a.language}→{b.language}") for a, b in itertools.pairwise(spans)]
    for (time, change), (lo, hi, truth_change) in zip(predicted, truth_edges, strict=False):  # a missed change ends it
        error = max(0.0, lo - time, time - hi)
        rows.append((change if change == truth_change else f"{change} (truth {truth_change})", time, (lo, hi), error))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("media", type=Path)
    parser.add_argument("--model", required=True)
    args = parser.parse_args()
    truth_path = args.media.with_suffix(".truth.json")
    truth = json.loads(truth_path.read_text())["streams"][0]["spans"]
    classifier = load_classifier(DetectOptions(model=args.model, device="cpu"))  # any family (whisper-base too)
    (timeline,) = detect(args.media, DetectOptions(model=args.model, include_windows=True), classifier=classifier)
    (grid,) = detect(args.media, DetectOptions(model=args.model, refine_probes=0), classifier=classifier)
    naive = MergeSegmenter()(list(timeline.windows or ()), timeline.labels)  # the same windows, merged naively

    def within_truth(spans):  # the trailing silence after the last word has no truth span
        return [s for s in spans if not (s.language == NONSPEECH and s.start >= truth[-1]["end"] - 0.5)]

    print(f"truth:       {' '.join(t['language'] for t in truth)}")
    print(f"langspan:    {' '.join(s.language for s in timeline.spans)}")
    print(f"naive merge: {' '.join(s.language for s in naive)}\n")
    print("| change | predicted (s) | truth pause (s) | error | without probes (s) | error |")
    print("|---|---|---|---|---|---|")
    with_probes = boundary_errors(within_truth(timeline.spans), truth)
    rows = zip(with_probes, boundary_errors(within_truth(grid.spans), truth), strict=False)
    for (change, time, (lo, hi), error), (_, grid_time, _, grid_error) in rows:
        print(f"| {change} | {time:.3f} | {lo:.3f}–{hi:.3f} | {error:.3f} s | {grid_time:.3f} | {grid_error:.3f} s |")
    stats = timeline.stats
    print(
        f"\n{stats['windows']} windows, {stats['classified_windows']} classified (the others had too little speech); "
        f"{stats['refinement_windows']} extra windows for {stats['boundaries_refined']} changes of language "
        f"(+{stats['refinement_windows'] / stats['classified_windows']:.0%} classifier work)"
    )


if __name__ == "__main__":
    main()
