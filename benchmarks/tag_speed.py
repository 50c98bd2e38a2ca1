"""Wall time of ``langspan tag`` on a 1-hour Matroska file with two audio tracks, full-size model, start to exit.

    PYTHONPATH=src python benchmarks/tag_speed.py --keep DIR [--repeats 2]

``DIR`` is ``benchmarks/speed.py``'s ``--keep`` folder (its ``model-full`` is built there if missing, and its
converted-model cache ``cache-speed`` is used, so loads are warm after the first). The input is made once: a small
video track and two AAC audio tracks of an hour each, English and German espeak-ng speech with pauses and music
(speed.py's clips), untagged — what a video library's untagged file looks like.

Each configuration is its own process, timed by this driver from its start to its exit (Python start, imports,
probe, model load, the probes, the decision, the write):

- ``cli-dry-run``: ``langspan tag FILE --dry-run --json --model DIR/model-full``, the command a user runs. The
  random-weight model knows no language, so it reports ``und`` (uncertain); its probes follow its own votes.
- ``cli-write``: the same with ``-o COPY.mkv`` (ffmpeg stream copy, verified, atomic rename).
- ``cli-mkvpropedit``: ``--in-place --engine mkvpropedit`` on a copy of the input made before the timer starts
  (a header edit: what a library tagger would run).
- ``decided-dry-run`` / ``decided-write``: ``langspan.tag_file`` in a worker with speed.py's ``DecidedClassifier``:
  the full-size model runs on every probe (the cost) while the trained stand-in (``fixtures/standin-lid``, which
  knows these espeak-ng voices) decides, so the scan stops when a trained model would. These must say eng and deu.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speed  # the benchmark's model, clips and timing classifier

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ("cli-dry-run", "cli-write", "cli-mkvpropedit", "decided-dry-run", "decided-write")


def make_track(path: Path, language: str, seconds: float, work: Path) -> None:
    """``seconds`` of one language's clips (both speeds) with ~15% pauses and music, as a stereo WAV."""
    speech, other = speed.make_pool(work)
    speech = [clip for clip in speech if clip.name.startswith(language)]
    speed.concat_list(work / f"{language}.txt", speech, other, seconds, seed=language)
    speed.ffmpeg("-f", "concat", "-safe", "0", "-i", str(work / f"{language}.txt"), "-t", str(seconds), str(path))


def make_input(path: Path, seconds: float) -> None:
    with tempfile.TemporaryDirectory(dir=path.parent) as folder:
        work = Path(folder)
        tracks = {language: work / f"{language}.wav" for language in ("en", "de")}
        for language, track in tracks.items():
            make_track(track, language, seconds, work)
        speed.ffmpeg(
            "-f", "lavfi", "-i", f"color=c=gray:s=160x90:r=1:d={seconds}",
            "-i", str(tracks["en"]), "-i", str(tracks["de"]),
            "-map", "0:v", "-map", "1:a", "-map", "2:a", "-c:v", "libx264", "-preset", "ultrafast",
            "-c:a", "aac", "-b:a", "96k", str(work / "input.mkv"),
        )  # fmt: skip
        os.replace(work / "input.mkv", path)


# --------------------------------------------------------------------------------------------- worker side


def decided_worker(model_dir: str, media: str, output: str | None) -> None:
    from langspan import DetectOptions, TagOptions, load_classifier, tag_file
    from langspan.models.wav2vec2 import HFClassifier
    from langspan.tagging.decide import result_document

    detect = DetectOptions(model=model_dir, device="cpu")

    def classifier():  # a factory, as the command passes: the scan loads it while its first probes decode
        full = load_classifier(detect)
        return speed.DecidedClassifier(full, HFClassifier(str(ROOT / "fixtures" / "standin-lid"), device="cpu"))

    options = TagOptions(detect=detect, dry_run=output is None, output=Path(output) if output else None)
    result = tag_file(media, options, classifier=classifier)
    print(json.dumps(result_document(result, options)))


# --------------------------------------------------------------------------------------------- driver side


def command_for(name: str, model_dir: Path, media: Path, copy: Path) -> list[str]:
    if name == "cli-mkvpropedit":
        shutil.copyfile(media, copy)
        media, write = copy, ["--in-place", "--engine", "mkvpropedit"]
    else:
        write = ["-o", str(copy)] if name.endswith("write") else ["--dry-run"]
    if name.startswith("cli"):
        return [sys.executable, "-m", "langspan", "tag", str(media), *write, "--json", "-q", "--model", str(model_dir)]
    return [
        sys.executable,
        __file__,
        "--worker",
        str(model_dir),
        str(media),
        *([str(copy)] if write[0] == "-o" else []),
    ]


def run(name: str, model_dir: Path, media: Path) -> tuple[float, str]:
    environment = {
        **os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error",
        "LANGSPAN_CACHE_DIR": str(model_dir.parent / "cache-speed"),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }  # fmt: skip
    with tempfile.TemporaryDirectory(dir=media.parent) as folder:
        copy = Path(folder) / "tagged.mkv"
        command = command_for(name, model_dir, media, copy)  # before the timer: it may copy the input
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        if not name.endswith("dry-run") and not copy.exists():
            raise SystemExit(f"{name}: no tagged copy was written")
    return seconds, summary(done.stdout)


def summary(stdout: str) -> str:
    """Each stream's decision from the JSON report: language, confidence, how much audio was classified."""
    report = json.loads(stdout.strip().splitlines()[-1])
    parts = []
    for stream in report["streams"]:
        detected = stream["detected"] or {}
        parts.append(
            f"stream {stream['stream']}: {stream['new']} ({stream['action']}; {detected.get('language')} confidence "
            f"{detected.get('confidence', 0):.2f}, {detected.get('evidence_seconds', 0):.0f} s classified)"
        )
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, help="speed.py's --keep folder (model, cache, input); required")
    parser.add_argument("--seconds", type=float, default=3600, help="length of each audio track")
    parser.add_argument("--repeats", type=int, default=2, help="runs per configuration, alternating")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated: " + ", ".join(CONFIGS))
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        model_dir, media, *output = args.worker
        return decided_worker(model_dir, media, output[0] if output else None)
    if args.keep is None:
        parser.error("--keep DIR is required")

    args.keep.mkdir(parents=True, exist_ok=True)
    model_dir = args.keep / "model-full"
    if not (model_dir / "config.json").exists():
        subprocess.run([sys.executable, str(Path(speed.__file__)), "--keep", str(args.keep), "--configs", "",
                        "--seconds", "1"], check=True)  # fmt: skip
    media = args.keep / f"two-tracks-{args.seconds:.0f}s.mkv"
    if not media.exists():
        start = time.perf_counter()
        make_input(media, args.seconds)
        print(f"made {media.name} ({media.stat().st_size / 2**20:.0f} MB) in {time.perf_counter() - start:.0f} s")
    print(f"load average at start: {os.getloadavg()}", flush=True)
    print("machine: " + json.dumps(speed.measure_machine(model_dir)), flush=True)
    times: dict[str, list[float]] = {name: [] for name in args.configs.split(",")}
    for round_ in range(args.repeats):
        for name, values in times.items():
            seconds, decisions = run(name, model_dir, media)
            values.append(seconds)
            print(f"round {round_ + 1} {name:>16}: {seconds:6.2f} s  {decisions}  (load {os.getloadavg()[0]:.2f})",
                  flush=True)  # fmt: skip
    for name, values in times.items():
        print(
            f"{name:>16}: median {statistics.median(values):.2f} s of {len(values)} ({', '.join(f'{v:.2f}' for v in values)})"
        )
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
