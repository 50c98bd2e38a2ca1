"""Speed and memory of langspan with the full-size facebook/mms-lid-256 architecture, against the naive loop.

    PYTHONPATH=src python benchmarks/speed.py --seconds 600 --configs naive,fp32-b8,int8-b8
    PYTHONPATH=src python benchmarks/speed.py --small --seconds 60          # a toy model, to try the script

The model is built from mms-lid-256's config with random weights (no download; same cost as the real weights),
saved with ``save_pretrained`` next to a ``Wav2Vec2FeatureExtractor``, and loaded back through the product's own
path (``HFClassifier``, i.e. ``--model PATH``). The input is a generated MP3 (44.1 kHz stereo, like a podcast) of
espeak-ng speech in several languages with ~15% pauses and synthetic music, so ffmpeg really decodes, downmixes
and resamples.

Each configuration runs in its own subprocess, so its peak RSS is its own. Configurations:

- ``naive``: what the model card's snippet does, per 2 s window: decode the whole file into memory, then for each
  window call the feature extractor and the model (fp32, batch 1, ``torch.no_grad``), take the argmax.
- ``PRECISION-bBATCH`` (e.g. ``int8-b8``): ``langspan.detect`` end to end with its defaults (decode → windows →
  speech detection → classifier on the speech windows → segmenter) plus the JSON writer. Suffixes: ``-tN`` (N torch threads), ``-noprefetch`` (no decode read-ahead
  thread), ``-nograd`` (``torch.no_grad`` instead of ``torch.inference_mode``), ``-dense`` / ``-auto`` (window
  density; ``auto`` is the default), ``-conv32`` (the int8 model's conv front end in fp32, as before it ran in bf16 on
  CPUs with native bf16), ``-decided`` (see below).
- ``-decided``: the random-weight model knows no language, so with ``--density auto`` it would rightly send every
  window to the dense pass. With this suffix the full-size model still runs on every window langspan asks for (its
  cost is what is timed) but the posteriors that steer the pipeline come from the trained stand-in
  (``fixtures/standin-lid``, which knows the input's four espeak-ng voices): the cost of the windows ``auto``
  asks for when a trained model makes the decisions. The stand-in's own forward passes are timed too (reported as
  ``deciding model``); they are a few percent of the full-size model's.
- ``scan-PRECISION``: ``langspan.engine.sparse`` (sparse probes) on the input; also times a full ffmpeg decode of it, to
  compare seeking per probe with decode-and-skip.

Realtime factor = audio seconds / wall seconds of the run (model loading excluded, reported separately). The
``end to end`` line divides by the whole worker process instead, timed by the driver: Python's start, imports,
model load, the run and the JSON — what a user waits for.
Speedup = that factor / the naive loop's factor measured in the same invocation. Other people share the
machine, so the load average is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The 256 labels in the model card's order (a copy of the shared notes' list): the classifier head's size.
LABELS_FILE = Path(__file__).with_name("mms-lid-256-labels.txt")
SENTENCES = {
    "en": "The weather was cold this morning, so we stayed inside and talked about the plans for the summer holidays.",
    "de": "Heute Morgen war es kalt, deshalb sind wir drinnen geblieben und haben über die Pläne für den Sommer gesprochen.",
    "fr": "Il faisait froid ce matin, alors nous sommes restés à la maison pour parler des projets de vacances d'été.",
    "es": "Esta mañana hacía frío, así que nos quedamos en casa y hablamos de los planes para las vacaciones de verano.",
}
RATE = 44_100


def full_size_config(labels: list[str]):
    from transformers import Wav2Vec2Config

    return Wav2Vec2Config(
        hidden_size=1280, num_hidden_layers=48, num_attention_heads=16, intermediate_size=5120,
        feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True,
        conv_dim=(512,) * 7, conv_stride=(5, 2, 2, 2, 2, 2, 2), conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        num_conv_pos_embeddings=128, num_conv_pos_embedding_groups=16, classifier_proj_size=1024,
        use_weighted_layer_sum=False, id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )  # fmt: skip


def small_config(labels: list[str]):
    config = full_size_config(labels)
    config.hidden_size, config.num_hidden_layers, config.intermediate_size = 256, 4, 1024
    config.num_attention_heads, config.classifier_proj_size = 4, 256
    return config


def build_model(folder: Path, small: bool) -> None:
    import torch
    from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2ForSequenceClassification

    labels = LABELS_FILE.read_text().split()
    assert len(labels) == 256, f"{LABELS_FILE}: expected 256 labels"
    torch.manual_seed(0)
    config = small_config(labels) if small else full_size_config(labels)
    model = Wav2Vec2ForSequenceClassification(config).eval()
    model.save_pretrained(folder)
    Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16_000, padding_value=0.0, do_normalize=True, return_attention_mask=True
    ).save_pretrained(folder)


def ffmpeg(*args: str) -> None:
    from langspan.frontend.media import find_ffmpeg  # the binaries langspan runs; imported late like the rest

    subprocess.run([find_ffmpeg().ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_pool(folder: Path) -> tuple[list[Path], list[Path]]:
    """Speech clips (espeak-ng, four languages, two speeds) and non-speech clips (pauses, music)."""
    speech, other = [], []
    for language, text in SENTENCES.items():
        for speed in (150, 175):
            raw, clip = folder / f"{language}{speed}.raw.wav", folder / f"{language}{speed}.wav"
            subprocess.run(
                ["espeak-ng", "-v", language, "-s", str(speed), "-w", str(raw), f"{text} {text}"], check=True
            )
            ffmpeg("-i", str(raw), "-ar", str(RATE), "-ac", "2", str(clip))
            speech.append(clip)
    for seconds in (1, 2, 3):
        pause = folder / f"pause{seconds}.wav"
        ffmpeg("-f", "lavfi", "-i", f"anoisesrc=a=0.003:d={seconds}:r={RATE}", "-ac", "2", str(pause))
        other.append(pause)
    chords = {"music_a": (220, 277, 330), "music_b": (196, 247, 294)}
    for name, notes in chords.items():
        tones = "+".join(f"0.15*sin(2*PI*{f}*t)" for f in notes)
        music = folder / f"{name}.wav"
        ffmpeg("-f", "lavfi", "-i", f"aevalsrc=({tones})*(0.6+0.4*sin(2*PI*2*t)):d=8:s={RATE}", "-ac", "2", str(music))
        other.append(music)
    return speech, other


def make_media(path: Path, seconds: float, work: Path) -> dict:
    """An MP3 of ``seconds`` with ~85% speech and ~15% pauses and music, assembled by ffmpeg's concat demuxer."""
    speech, other = make_pool(work)
    non_speech = concat_list(work / "list.txt", speech, other, seconds, seed=0)
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(work / "list.txt"), "-t", str(seconds), "-b:a", "96k", str(path))
    return {"seconds": _duration(path), "non_speech_share": non_speech}


def concat_list(listing: Path, speech: list[Path], other: list[Path], seconds: float, seed: object) -> float:
    """Write an ffmpeg concat list of at least ``seconds``: random speech clips, and a pause or music clip whenever
    those are under 15% of what is listed so far. Returns their share."""
    durations = {clip: _duration(clip) for clip in speech + other}
    rng = random.Random(seed)
    lines, total, non_speech = [], 0.0, 0.0
    while total < seconds:
        clip = rng.choice(other) if non_speech < 0.15 * total else rng.choice(speech)
        lines.append(f"file '{clip}'")
        total += durations[clip]
        non_speech += durations[clip] if clip in other else 0
    listing.write_text("\n".join(lines) + "\n")
    return round(non_speech / total, 3)


def _duration(path: Path) -> float:
    from langspan.frontend.media import find_ffmpeg

    out = subprocess.run(
        [find_ffmpeg().ffprobe, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return float(out.stdout)


# --------------------------------------------------------------------------------------------- worker side


def peak_rss_mb() -> float:
    """This process's own peak resident set (``VmHWM``). Not ``ru_maxrss``: a child inherits its parent's peak
    through fork and exec, which made this benchmark report the driver's 4 GB (it had just built the full-size
    model) as the peak of a 2.6 GB run."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux


def current_rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class RssSampler:
    """The largest resident set seen while a block runs (sampled every 0.2 s): the streaming phase's own peak,
    which the process-wide peak hides behind the transient of loading the checkpoint. ``tenths`` are the peaks
    of each tenth of the block's duration: flat tenths mean memory does not grow with input length."""

    def __enter__(self):
        import threading

        self.samples, self._stop = [(time.perf_counter(), current_rss_mb())], threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self.samples.append((time.perf_counter(), current_rss_mb()))

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.perf_counter(), current_rss_mb()))

    @property
    def peak_mb(self) -> float:
        return max(rss for _, rss in self.samples)

    @property
    def tenths(self) -> list[float]:
        start, end = self.samples[0][0], self.samples[-1][0]
        peaks = [0.0] * 10
        for moment, rss in self.samples:
            tenth = min(int(10 * (moment - start) / max(end - start, 1e-9)), 9)
            peaks[tenth] = max(peaks[tenth], rss)
        return peaks


class Timed:
    """Wraps a callable and adds up the wall time spent in it."""

    def __init__(self, function) -> None:
        self.function, self.seconds, self.calls = function, 0.0, 0

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.function(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1


def run_naive(model_dir: str, media_path: str, seconds: float | None) -> dict:
    import numpy as np
    import torch
    from transformers import AutoFeatureExtractor, AutoModelForAudioClassification

    from langspan.frontend import media

    start = time.perf_counter()
    extractor = AutoFeatureExtractor.from_pretrained(model_dir)
    model = AutoModelForAudioClassification.from_pretrained(model_dir).eval()
    load = time.perf_counter() - start
    rss_loaded = current_rss_mb()
    start = time.perf_counter()
    audio = np.concatenate(list(media.decode(media_path)))  # the whole file in memory, like librosa.load
    decode = time.perf_counter() - start
    if seconds and seconds * 16_000 < len(audio):
        decode *= seconds * 16_000 / len(audio)  # charge only the decoding of the part that is timed
        audio = audio[: int(seconds * 16_000)]
    size = 32_000
    feature_seconds = model_seconds = 0.0
    answers = []
    rss_audio = current_rss_mb()
    for offset in range(0, len(audio) - 8_000 + 1, size):
        t0 = time.perf_counter()
        inputs = extractor(audio[offset : offset + size], sampling_rate=16_000, return_tensors="pt")
        t1 = time.perf_counter()
        with torch.no_grad():
            logits = model(**inputs).logits
        answers.append(model.config.id2label[int(torch.argmax(logits, dim=-1)[0])])
        feature_seconds += t1 - t0
        model_seconds += time.perf_counter() - t1
    audio_seconds = len(audio) / 16_000
    wall = decode + feature_seconds + model_seconds
    return {
        "audio_s": audio_seconds, "wall_s": wall, "load_s": load, "windows": len(answers),
        "stages": {"decode": decode, "features": feature_seconds, "model": model_seconds},
        "rss_after_load_mb": rss_loaded, "stream_peak_rss_mb": max(rss_audio, current_rss_mb()),
        "peak_rss_mb": peak_rss_mb(),
    }  # fmt: skip


def parse_config(name: str) -> dict:
    parts = name.split("-")
    config = {"precision": "int8", "batch_size": 8, "threads": None, "prefetch": True, "nograd": False,
              "density": "auto", "decided": False, "conv32": False}  # fmt: skip
    config["precision"] = parts[1] if parts[0] == "scan" else parts[0]
    for part in parts[1:]:
        if part.startswith("b") and part[1:].isdigit():
            config["batch_size"] = int(part[1:])
        elif part.startswith("t") and part[1:].isdigit():
            config["threads"] = int(part[1:])
        elif part == "noprefetch":
            config["prefetch"] = False
        elif part == "nograd":
            config["nograd"] = True
        elif part in ("dense", "auto"):
            config["density"] = part
        elif part == "decided":
            config["decided"] = True
        elif part == "conv32":
            config["conv32"] = True
    return config


class DecidedClassifier:
    """Runs the full-size model on every batch (the cost being measured) and returns the trained stand-in's
    posteriors (the decisions), so adaptive density behaves as it would with a trained full-size model."""

    def __init__(self, full, deciding) -> None:
        self.full, self.deciding = full, deciding
        self.labels, self.name, self.revision = deciding.labels, full.name, full.revision
        self.info = deciding.info
        self.precision = full.precision
        self.deciding_seconds = 0.0

    def predict(self, batch):
        self.full.predict(batch)
        start = time.perf_counter()
        posteriors = self.deciding.predict(batch)
        self.deciding_seconds += time.perf_counter() - start
        return posteriors


def load_timed_classifier(model_dir: str, config: dict):
    from langspan import DetectOptions, load_classifier

    options = DetectOptions(
        model=model_dir, device="cpu", precision=config["precision"], batch_size=config["batch_size"],
        threads=config["threads"], density=config["density"],
    )  # fmt: skip
    from langspan.models import cache

    entry = cache.entry_for(model_dir, None, config["precision"])
    cache_hit = entry is not None and entry.path.exists()
    start = time.perf_counter()
    classifier = load_classifier(options)
    load = time.perf_counter() - start
    config["cache_hit"] = cache_hit
    classifier.feature_extractor = Timed(classifier.feature_extractor)
    classifier.predict = Timed(classifier.predict)
    return options, classifier, load


def run_pipeline(model_dir: str, media_path: str, config: dict) -> dict:
    from langspan import detect
    from langspan.engine import local as pipeline
    from langspan.writers import get_writer

    if config["nograd"]:
        import torch

        torch.inference_mode = torch.no_grad  # this worker process only: the lever being measured
    if not config["prefetch"]:
        pipeline.prefetch = lambda items, depth: iter(items)
    if config["conv32"]:
        from langspan.models import wav2vec2

        wav2vec2.bf16_front_end = lambda network: False  # this worker process only: the lever being measured
    options, classifier, load = load_timed_classifier(model_dir, config)
    timed = classifier
    if config["decided"]:
        from langspan.models.wav2vec2 import HFClassifier

        classifier = DecidedClassifier(timed, HFClassifier(str(ROOT / "fixtures" / "standin-lid"), device="cpu"))
    rss_loaded = current_rss_mb()
    start = time.perf_counter()
    with RssSampler() as sampler:
        (timeline,) = detect(media_path, options, classifier=classifier)
    detect_seconds = time.perf_counter() - start
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        get_writer("json").dump(timeline, Path(folder) / "out.json")
    writer = time.perf_counter() - start
    predict, features = timed.predict, timed.feature_extractor
    deciding = getattr(classifier, "deciding_seconds", 0.0)
    return {
        "audio_s": timeline.duration, "wall_s": detect_seconds + writer, "load_s": load,
        "spans": len(timeline.spans), "stats": dict(timeline.stats),
        "stages": {
            "features": features.seconds, "model": predict.seconds - features.seconds,
            "deciding model": deciding,
            "decode+windows+VAD+segmenter (not overlapped)": detect_seconds - predict.seconds - deciding,
            "writer": writer,
        },
        "model_calls": predict.calls, "rss_after_load_mb": rss_loaded, "stream_peak_rss_mb": sampler.peak_mb,
        "stream_rss_tenths_mb": sampler.tenths,
        "peak_rss_mb": peak_rss_mb(),
        "precision": classifier.precision, "cache_hit": config["cache_hit"],
    }  # fmt: skip


def run_scan(model_dir: str, media_path: str, config: dict) -> dict:
    from langspan import scan
    from langspan.frontend import media

    options, classifier, load = load_timed_classifier(model_dir, config)
    start = time.perf_counter()
    decoded = sum(len(chunk) for chunk in media.decode(media_path)) / 16_000
    full_decode = time.perf_counter() - start
    clip_decoder = Timed(media.decode_clip)
    media.decode_clip = clip_decoder
    start = time.perf_counter()
    (result,) = scan(media_path, options, classifier=classifier)
    wall = time.perf_counter() - start
    return {
        "audio_s": result.duration, "wall_s": wall, "load_s": load, "language": result.language,
        "share": result.share, "confidence": result.confidence, "evidence_s": result.evidence_seconds,
        "windows": result.windows, "full_pass": result.full_pass,
        "stages": {
            "probe decode (ffmpeg -ss per probe)": clip_decoder.seconds, "probes": clip_decoder.calls,
            "model (incl. features)": classifier.predict.seconds,
            f"for comparison: full decode of {decoded:.0f} s": full_decode,
        },
        "peak_rss_mb": peak_rss_mb(),
    }  # fmt: skip


def worker(args: argparse.Namespace) -> None:
    if args.worker == "machine":
        import machine

        return print("RESULT " + json.dumps(machine.measure(args.model_dir)))
    if args.worker == "build":
        build_model(Path(args.model_dir), args.small)
        return print("RESULT {}")
    config = parse_config(args.worker)
    if args.worker == "naive":
        result = run_naive(args.model_dir, args.media, args.naive_seconds)
    elif args.worker.startswith("scan"):
        result = run_scan(args.model_dir, args.media, config)
    else:
        result = run_pipeline(args.model_dir, args.media, config)
    print("RESULT " + json.dumps(result))


# --------------------------------------------------------------------------------------------- driver side


def run_config(name: str, args: argparse.Namespace, model_dir: Path, media_path: Path) -> dict:
    command = [sys.executable, __file__, "--worker", name, "--model-dir", str(model_dir), "--media", str(media_path)]
    if args.naive_seconds:
        command += ["--naive-seconds", str(args.naive_seconds)]
    if args.small:
        command.append("--small")
    # Converted models go to a cache of the benchmark's own (the first configuration of a precision converts and
    # writes its entry, later ones read it; "load" says which), never to the user's cache.
    environment = {
        **os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error",
        "LANGSPAN_CACHE_DIR": str(model_dir.parent / "cache-speed"),
    }  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    process_seconds = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
    return {**json.loads(lines[-1][len("RESULT ") :]), "process_s": process_seconds}


def measure_machine(model_dir: Path) -> dict:
    """The machine (CPU, one FFN block's rates, versions) measured in a child process, as the benchmarks print it."""
    return run_config("machine", argparse.Namespace(naive_seconds=None, small=False), model_dir, model_dir.parent)


def ceiling_share(result: dict, machine: dict | None) -> str:
    """The run's model work per second as a share of the FFN block's rate in the same precision on this host."""
    precision = result.get("precision") or ("fp32" if "naive" in result.get("name", "") else None)
    windows = result.get("stats", {}).get("classified_windows") or result.get("windows")
    if not machine or not precision or not windows or precision not in ("fp32", "int8", "bf16"):
        return ""
    unit = "GOP/s" if precision == "int8" else "GFLOP/s"
    block = machine["ffn_block"]["int8_gops" if precision == "int8" else f"{precision}_gflops"]
    work = windows * machine["model_gop_per_2s_window"]
    end_to_end, model = work / result["wall_s"], work / max(result["stages"].get("model", 0.0), 1e-9)
    return (
        f"\n    ceiling: {windows} windows x {machine['model_gop_per_2s_window']} GOP = {work:.0f} GOP; "
        f"{end_to_end:.0f} {unit} end to end = {end_to_end / block:.0%} of this host's {precision} FFN block "
        f"({block} {unit}), {model:.0f} {unit} in the model calls = {model / block:.0%}"
    )


def report(name: str, result: dict, naive_rate: float | None, machine: dict | None = None) -> str:
    rate = result["audio_s"] / result["wall_s"]
    speedup = f"{rate / naive_rate:.2f}x" if naive_rate else "n/a"
    stages = ", ".join(f"{k} {v:.1f} s" if isinstance(v, float) else f"{k} {v}" for k, v in result["stages"].items())
    extra = ""
    if "evidence_s" in result:
        extra = (
            f"\n    scan: {result['language']} share {result['share']:.2f} confidence {result['confidence']:.4f}, "
            f"classified {result['evidence_s']:.0f} s of {result['audio_s']:.0f} s "
            f"({result['windows']} windows, full pass: {result['full_pass']})"
        )
    if result.get("stream_rss_tenths_mb"):
        extra += "\n    peak RSS per tenth of the run (MB): " + " ".join(
            f"{v:.0f}" for v in result["stream_rss_tenths_mb"]
        )
    if result.get("stats"):
        extra += "\n    timeline stats: " + ", ".join(f"{k} {v}" for k, v in result["stats"].items())
    rss_loaded = f", RSS after load {result['rss_after_load_mb']:.0f} MB" if "rss_after_load_mb" in result else ""
    if "stream_peak_rss_mb" in result:
        rss_loaded += f", peak RSS while streaming {result['stream_peak_rss_mb']:.0f} MB"
    if "cache_hit" in result:
        rss_loaded += f" (model from the cache: {'yes' if result['cache_hit'] else 'no, converted and cached'})"
    extra += ceiling_share({**result, "name": name}, machine)
    if "stages" in result and "model" in result["stages"] and "audio_s" in result:
        extra += (
            f"\n    end to end: {result['process_s']:.1f} s from starting the process (Python, imports, model load, the run,"
            f" the JSON) = {result['audio_s'] / result['process_s']:.2f}x realtime"
            + (" (includes loading and running the deciding stand-in)" if "decided" in name.split("-") else "")
        )
    return (
        f"{name:>18}: {result['audio_s']:.0f} s audio in {result['wall_s']:.1f} s = {rate:.2f}x realtime, "
        f"{speedup} vs naive, load {result['load_s']:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB{rss_loaded}"
        f"\n    stages: {stages}{extra}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=600, help="length of the generated input")
    parser.add_argument("--configs", default="naive,fp32-b8,int8-b8", help="comma-separated, see above")
    parser.add_argument("--naive-seconds", type=float, help="time the naive loop on only the first N seconds")
    parser.add_argument("--small", action="store_true", help="a toy-size model instead of the full size")
    parser.add_argument("--keep", type=Path, help="folder to keep (and reuse) the saved model and media in")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", help=argparse.SUPPRESS)
    parser.add_argument("--media", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    print(f"load average at start: {os.getloadavg()}", flush=True)
    work = args.keep or Path(tempfile.mkdtemp(prefix="langspan-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    model_dir = work / ("model-small" if args.small else "model-full")
    try:
        if not (model_dir / "config.json").exists():
            start = time.perf_counter()
            run_config("build", args, model_dir, work)  # in a child, so that this driver stays small
            print(f"built and saved the {'small' if args.small else 'full-size'} model in "
                  f"{time.perf_counter() - start:.0f} s", flush=True)  # fmt: skip
        machine = run_config("machine", args, model_dir, work)
        print(f"machine: {json.dumps(machine)}", flush=True)
        size = sum(f.stat().st_size for f in model_dir.iterdir()) / 2**20
        media_path = work / f"input-{args.seconds:.0f}s.mp3"
        if not media_path.exists():
            info = make_media(media_path, args.seconds, Path(tempfile.mkdtemp(dir=work)))
            print(f"generated {media_path.name}: {info}", flush=True)
        print(f"model {model_dir.name}: {size:.0f} MB on disk; input {args.seconds:.0f} s", flush=True)
        naive_rate = None
        for name in args.configs.split(","):
            result = run_config(name, args, model_dir, media_path)
            if name == "naive":
                naive_rate = result["audio_s"] / result["wall_s"]
            print(report(name, result, naive_rate, machine), flush=True)
            print(f"    load average now: {os.getloadavg()}", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
