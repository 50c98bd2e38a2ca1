"""whisper-base on espeak-ng speech: window accuracy vs window length, cost per audio second, full vs short encoder
context, and whole-pipeline timelines on seeded multilingual "podcasts" against two baselines.

    make whisper && PYTHONPATH=src .venv/bin/python benchmarks/whisper_windows.py [--parts windows,cost,podcasts]

Everything runs on the real whisper-base weights (``make whisper``) and speech synthesised at run time
(benchmarks/whisper_corpus.py, cached in ~/.cache/langspan/bench-speech). Timings compare only within one run;
the machine (CPU model, load, a GEMM GFLOP/s figure) is printed first. Results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from langspan.models.base import LoadOptions
from langspan.models.whisper import WhisperClassifier
from langspan.models.whisper_ct2 import WhisperCT2Classifier
from langspan.models.whisper_languages import iso639_3
from timeline_metrics import Segment, merge, scores
from whisper_corpus import CORPUS, SAMPLE_RATE, language_clip, speak

CACHE = Path(
    os.environ.get("LANGSPAN_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "langspan"
)


def machine() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "?")
    import torch

    a = np.random.default_rng(0).standard_normal((1024, 1024), dtype=np.float32)
    t = time.perf_counter()
    for _ in range(8):
        a @ a
    numpy_gflops = 8 * 2 * 1024**3 / (time.perf_counter() - t) / 1e9
    b = torch.from_numpy(a)
    t = time.perf_counter()
    for _ in range(8):
        b @ b
    torch_gflops = 8 * 2 * 1024**3 / (time.perf_counter() - t) / 1e9
    load = os.getloadavg()
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.python_version()}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads); fp32 GEMM 1024²: numpy {numpy_gflops:.0f} GFLOP/s, torch "
        f"{torch_gflops:.0f} GFLOP/s; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


def windows_of(audio: np.ndarray, seconds: float) -> list[np.ndarray]:
    size = int(seconds * SAMPLE_RATE)
    return [audio[i : i + size] for i in range(0, len(audio) - size + 1, size)]


def predict_all(classifier, windows: list[np.ndarray], batch: int = 8) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    out = [classifier.predict(windows[i : i + batch]) for i in range(0, len(windows), batch)]
    return np.concatenate(out), time.perf_counter() - start


def known_languages(hf: WhisperClassifier) -> list[str]:
    """Languages whose whole single-language clip (12–22 s, one 30 s input) whisper-base identifies: the ones it
    knows *in espeak-ng's voice*. Window accuracy and the podcasts use these; the rest measure espeak, not langspan."""
    clips = {code: language_clip(code) for code in CORPUS}
    hf.short_context = False
    whole, _ = predict_all(hf, [clip[: 30 * SAMPLE_RATE] for clip in clips.values()])
    raw = list(hf.info.raw_labels)
    known = [code for code, posterior in zip(clips, whole, strict=True) if raw[int(np.argmax(posterior))] == code]
    missed = {code: raw[int(np.argmax(p))] for code, p in zip(clips, whole, strict=True) if code not in known}
    print(f"\nwhole clips identified: {len(known)}/{len(clips)}: {' '.join(known)}")
    print("missed (language → answer): " + ", ".join(f"{code}→{answer}" for code, answer in missed.items()))
    return known


def part_windows(hf: WhisperClassifier, known: list[str], lengths: list[float]) -> None:
    """Accuracy per window length and encoder context over the known languages' clips."""
    clips = {code: language_clip(code) for code in known}
    raw = list(hf.info.raw_labels)
    print("\n| window | context | windows | accuracy | s compute per audio s |")
    print("|---|---|---|---|---|")
    per_language: dict[str, dict] = {}
    for seconds in lengths:
        for short in (False, True):
            hf.short_context = short
            windows, truth = [], []
            for code, clip in clips.items():
                cut = windows_of(clip, seconds)
                windows += cut
                truth += [code] * len(cut)
            posteriors, elapsed = predict_all(hf, windows)
            hits = np.array([raw[int(i)] == code for i, code in zip(posteriors.argmax(1), truth, strict=True)])
            context = "window" if short else "30 s"
            print(
                f"| {seconds:g} s | {context} | {len(windows)} | {hits.mean():.3f} | "
                f"{elapsed / (len(windows) * seconds):.3f} |",
                flush=True,
            )
            for code in clips:
                mask = np.array([t == code for t in truth])
                per_language.setdefault(code, {})[(seconds, short)] = hits[mask].mean() if mask.any() else float("nan")
    print("\nper language, window accuracy by length (30 s context | window context):")
    for code, values in per_language.items():
        cells = " ".join(f"{s:g}s {values[(s, False)]:.2f}|{values[(s, True)]:.2f}" for s in lengths)
        print(f"  {code}: {cells}")
    hf.short_context = False


def part_cost(classifiers: dict, lengths: list[float]) -> None:
    """Seconds of compute per audio second for each backend and context, the same 8 windows each."""
    clip = np.concatenate([language_clip(code) for code in ("en", "de", "es", "it")])
    print("\n| backend | context | " + " | ".join(f"{s:g} s windows" for s in lengths) + " |")
    print("|---|---|" + "---|" * len(lengths))
    for name, classifier in classifiers.items():
        for short in (False, True):
            classifier.short_context = short
            cells = []
            for seconds in lengths:
                windows = windows_of(clip, seconds)[:8]
                predict_all(classifier, windows[:2])  # warm-up: first calls allocate
                _, elapsed = predict_all(classifier, windows)
                cells.append(f"{elapsed / (len(windows) * seconds):.3f}")
            print(f"| {name} | {'window' if short else '30 s'} | " + " | ".join(cells) + " |")
        classifier.short_context = False


def podcast(seed: int, languages: list[str], segments: int = 14) -> tuple[np.ndarray, list[Segment]]:
    """A music-like intro, then ``segments`` stretches of one language each (2–3 sentences), separated by a
    pause (0.6–2 s) or a direct switch (50/50)."""
    rng = np.random.default_rng(seed)
    parts, truth, now = [intro(rng)], [], 4.0
    previous = None
    for _ in range(segments):
        code = rng.choice([c for c in languages if c != previous])
        voice, sentences = CORPUS[code]
        chosen = rng.permutation(len(sentences))[: int(rng.integers(2, 4))]
        speech = np.concatenate(
            [np.concatenate([speak(sentences[i], voice), np.zeros(4800, np.float32)]) for i in chosen]
        )
        gap = np.zeros(int(SAMPLE_RATE * (rng.uniform(0.6, 2.0) if rng.random() < 0.5 else 0.05)), np.float32)
        parts += [gap, speech]
        now += len(gap) / SAMPLE_RATE
        truth.append(Segment(now, now + len(speech) / SAMPLE_RATE - 0.3, iso639_3(str(code))))
        now += len(speech) / SAMPLE_RATE
        previous = code
    return np.concatenate(parts).astype(np.float32), truth


def intro(rng: np.random.Generator, seconds: float = 4.0) -> np.ndarray:
    """Chords of three sines changing every half second, with a noise beat: music-like, not speech."""
    t = np.arange(int(SAMPLE_RATE / 2)) / SAMPLE_RATE
    bars = []
    for _ in range(int(seconds * 2)):
        root = 110 * 2 ** (rng.integers(0, 12) / 12)
        chord = sum(np.sin(2 * np.pi * root * ratio * t) for ratio in (1, 1.25, 1.5)) / 3
        beat = rng.standard_normal(t.size) * np.exp(-t * 30)
        bars.append(0.2 * chord * np.exp(-t * 2) + 0.1 * beat)
    return np.concatenate(bars).astype(np.float32)


class Cached:
    """The same classifier, answering repeated windows from memory (segmenter grids re-use one pass)."""

    def __init__(self, inner) -> None:
        self.inner, self.memory = inner, {}
        self.labels, self.name, self.revision = inner.labels, inner.name, inner.revision

    def predict(self, batch):
        keys = [hashlib.sha1(np.ascontiguousarray(w).tobytes()).hexdigest() for w in batch]
        todo = [i for i, key in enumerate(keys) if key not in self.memory]
        if todo:
            for i, row in zip(todo, self.inner.predict([batch[i] for i in todo]), strict=True):
                self.memory[keys[i]] = row
        return np.stack([self.memory[key] for key in keys])


def run_langspan(classifier, audio: np.ndarray, **settings) -> tuple[list[Segment], float]:
    """langspan's timeline of the audio (defaults unless ``settings`` say otherwise) and the wall time."""
    import langspan

    start = time.perf_counter()
    timeline = langspan.detect(audio, sample_rate=SAMPLE_RATE, classifier=classifier, **settings)[0]
    return [Segment(s.start, s.end, s.language) for s in timeline.spans], time.perf_counter() - start


def naive(classifier, audio: np.ndarray, seconds: float) -> list[Segment]:
    """Every tiling window classified (no speech detection), consecutive equal argmax labels merged."""
    size = int(seconds * SAMPLE_RATE)
    windows = [audio[i : i + size] for i in range(0, len(audio) - size // 4, size)]
    posteriors, _ = predict_all(classifier, windows)
    end = len(audio) / SAMPLE_RATE
    return merge([
        (i * seconds, min((i + 1) * seconds, end), classifier.labels[int(np.argmax(p))])
        for i, p in enumerate(posteriors)
    ])  # fmt: skip


def chunk30(classifier, audio: np.ndarray) -> list[Segment]:
    """One detection per 30 s chunk, the whole chunk labelled (faster-whisper's multilingual mode)."""
    return naive(classifier, audio, 30.0)


def part_podcasts(hf: WhisperClassifier, known: list[str], count: int, configs: list[dict]) -> None:
    casts = [podcast(1000 + i, known) for i in range(count)]
    total = sum(len(audio) for audio, _ in casts) / SAMPLE_RATE
    print(f"\npodcasts: {count}, {total / 60:.1f} min, languages {' '.join(known)}; seeds 1000..{999 + count}")
    print(
        "\n| system | context | per-second accuracy | spurious spans / min | median boundary error | p90 | misses | x realtime |"
    )
    print("|---|---|---|---|---|---|---|---|")

    def report(name: str, context: str, system, timed: bool = True) -> None:
        results, seconds = [], 0.0
        for audio, truth in casts:
            start = time.perf_counter()
            spans = system(audio)
            seconds += time.perf_counter() - start
            results.append(scores(truth, spans, len(audio) / SAMPLE_RATE))
        mean = {key: float(np.nanmean([r[key] for r in results])) for key in results[0]}
        misses = sum(r["boundary_misses"] for r in results)
        changes = sum(r["changes"] for r in results)
        print(
            f"| {name} | {context} | {mean['accuracy']:.3f} | {mean['spurious_per_min']:.2f} | "
            f"{mean['boundary_median']:.2f} s | {mean['boundary_p90']:.2f} s | {misses}/{changes} | "
            f"{f'{total / seconds:.1f}' if timed else '–'} |",
            flush=True,
        )

    caches: dict[tuple, Cached] = {}
    for config in configs:
        config = dict(config)
        short = config.pop("short", False)
        hf.short_context = short
        context = "window" if short else "30 s"
        key = (config.get("window"), short)
        fresh = key not in caches
        cached = caches.setdefault(key, Cached(hf))
        settings = ", ".join(f"{k}={v}" for k, v in config.items())
        # Realtime factors are honest only for a fresh cache (the first configuration of a window and context).
        label = f"langspan {settings}" + ("" if fresh else " (cached)")
        report(label, context, lambda audio, c=config, m=cached: run_langspan(m, audio, **c)[0], timed=fresh)
        if fresh:
            report(f"naive merge, window={config['window']:g}", context,
                   lambda audio, w=config["window"], m=cached: naive(m, audio, w), timed=False)  # fmt: skip
    hf.short_context = False
    report("one detection per 30 s", "30 s", lambda audio: chunk30(hf, audio))


def podcast_classifier(backend: str, hf: WhisperClassifier, options: dict):
    if backend == "transformers":
        return hf
    precision = backend.split("-")[1]
    return WhisperCT2Classifier(LoadOptions(str(CACHE / "whisper-base-ct2"), precision=precision, **options))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="windows,podcasts,cost")
    parser.add_argument("--lengths", default="2,3,4,6,10")
    parser.add_argument("--podcasts", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--known", help="comma-separated languages instead of measuring which whisper-base knows")
    parser.add_argument("--podcast-windows", default="2,4,6")
    parser.add_argument("--context", choices=("window", "full"), default="window", help="encoder context, podcasts")
    parser.add_argument("--also-full-6", action="store_true", help="add a 30 s-context run with 6 s windows")
    parser.add_argument("--segmenter-window", type=float, default=6.0)
    parser.add_argument("--segmenter", action="append", default=[], help="extra 6 s runs, e.g. switch_penalty=1.5")
    parser.add_argument(
        "--podcast-backend", choices=("transformers", "ct2-fp32", "ct2-int8"), default="transformers",
        help="the classifier of the podcasts part (CTranslate2's posteriors agree with transformers' within 2e-3)",
    )  # fmt: skip
    args = parser.parse_args()
    parts = args.parts.split(",")
    lengths = [float(x) for x in args.lengths.split(",")]
    print("command:", " ".join(sys.argv))
    print("machine:", machine())
    options = {"device": "cpu", "threads": args.threads}
    hf = WhisperClassifier(LoadOptions(str(CACHE / "whisper-base-hf"), precision="fp32", **options))
    known = args.known.split(",") if args.known else known_languages(hf)
    if "windows" in parts:
        part_windows(hf, known, lengths)
    if "podcasts" in parts:
        windows = [float(x) for x in args.podcast_windows.split(",")]
        short = args.context == "window"
        configs = [{"window": w, "short": short} for w in windows]
        if args.also_full_6:
            configs.append({"window": 6.0, "short": False})
        for extra in args.segmenter:
            pairs = (kv.split("=") for kv in extra.split(","))
            settings = {k: (int(v) if v.isdigit() else float(v)) for k, v in pairs}
            configs.append({"window": args.segmenter_window, "short": short, **settings})
        part_podcasts(podcast_classifier(args.podcast_backend, hf, options), known, args.podcasts, configs)
    if "cost" in parts:
        classifiers = {
            "transformers fp32": hf,
            "transformers int8": WhisperClassifier(LoadOptions(str(CACHE / "whisper-base-hf"), precision="int8", **options)),
            "CTranslate2 int8": WhisperCT2Classifier(LoadOptions(str(CACHE / "whisper-base-ct2"), precision="int8", **options)),
            "CTranslate2 fp32": WhisperCT2Classifier(LoadOptions(str(CACHE / "whisper-base-ct2"), precision="fp32", **options)),
        }  # fmt: skip
        part_cost(classifiers, [2, 6])
    print("load average at the end:", " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
