"""Wall time of ``langspan detect`` with the real whisper-base, start to exit, on speed.py's 10-minute input.

    PYTHONPATH=src python benchmarks/whisper_speed.py --keep DIR [--repeats 2] [--configs ct2,ct2-int8,...]

``DIR`` is ``benchmarks/speed.py``'s ``--keep`` folder; its ``input-600s.mp3`` (espeak-ng speech in four
languages with pauses and music, made by speed.py if missing) is the input. The models are the ones ``make
whisper`` installs (``$LANGSPAN_CACHE`` or ``~/.cache/langspan``: ``whisper-base-ct2``, ``whisper-base-hf``).

Each configuration is the whole command in its own process, timed by this driver (Python start, imports, model
load, decoding, speech detection, the model, the segmenter, the JSON), rounds alternating A B A B:

- ``ct2``: the faster-whisper folder through CTranslate2 with langspan's defaults (what ``make demo`` runs);
- suffixes ``-int8`` / ``-fp32`` (``--precision``), ``-tN`` (``--threads N``), ``-rN`` (``--refine-probes N``),
  ``-bN`` (``--batch-size N``);
- ``hf``: the transformers folder (``whisper`` family), fp32 by default.

The realtime factor is the input's duration over the command's wall time. The JSON's ``stats`` say how many
windows went to the model.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speed  # the input, and the machine measurement

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("LANGSPAN_CACHE", Path.home() / ".cache" / "langspan"))
FOLDERS = {"ct2": CACHE / "whisper-base-ct2", "hf": CACHE / "whisper-base-hf"}


def command_for(name: str, media: Path, output: Path) -> list[str]:
    family, *suffixes = name.split("-")
    command = [sys.executable, "-m", "langspan", "detect", str(media), "--model", str(FOLDERS[family])]
    for suffix in suffixes:
        if suffix in ("int8", "fp32", "fp16", "bf16"):
            command += ["--precision", suffix]
        elif suffix.startswith("t") and suffix[1:].isdigit():
            command += ["--threads", suffix[1:]]
        elif suffix.startswith("r") and suffix[1:].isdigit():
            command += ["--refine-probes", suffix[1:]]
        elif suffix.startswith("b") and suffix[1:].isdigit():
            command += ["--batch-size", suffix[1:]]
        else:
            raise SystemExit(f"unknown configuration suffix {suffix!r} in {name!r}")
    return [*command, "-o", str(output), "-q"]


def run(name: str, media: Path) -> tuple[float, dict]:
    environment = {
        **os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "timeline.json"
        start = time.perf_counter()
        command = command_for(name, media, output)
        done = subprocess.run(command, check=False, capture_output=True, text=True, env=environment)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return seconds, json.loads(output.read_text())


def describe(timeline: dict) -> str:
    spans = [span["language"] for span in timeline["spans"]]
    stats = timeline.get("stats", {})
    return (
        f"{len(spans)} spans, {stats.get('classified_windows')} windows classified "
        f"(+{stats.get('refinement_windows', 0)} refinement)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, required=True, help="speed.py's --keep folder (holds the input)")
    parser.add_argument("--seconds", type=float, default=600, help="length of the input")
    parser.add_argument("--repeats", type=int, default=2, help="rounds, configurations alternating")
    parser.add_argument("--configs", default="ct2,ct2-int8,ct2-t2,ct2-int8-t2", help="comma-separated, see above")
    args = parser.parse_args()
    for family, folder in FOLDERS.items():
        if family in args.configs and not folder.is_dir():
            raise SystemExit(f"{folder} is missing: run `make whisper` first")
    media = args.keep / f"input-{args.seconds:.0f}s.mp3"
    if not media.exists():
        args.keep.mkdir(parents=True, exist_ok=True)
        print(f"generated {media.name}: {speed.make_media(media, args.seconds, Path(tempfile.mkdtemp(dir=args.keep)))}")
    duration = speed._duration(media)
    print(f"load average at start: {os.getloadavg()}", flush=True)
    print("machine: " + json.dumps(speed.measure_machine(args.keep / "model-full")))
    times: dict[str, list[float]] = {name: [] for name in args.configs.split(",")}
    for round_ in range(args.repeats):
        for name, values in times.items():
            seconds, timeline = run(name, media)
            values.append(seconds)
            print(f"round {round_ + 1} {name:>12}: {seconds:6.1f} s = {duration / seconds:5.2f}x realtime, "
                  f"{describe(timeline)} (load {os.getloadavg()[0]:.2f})", flush=True)  # fmt: skip
    for name, values in times.items():
        median = statistics.median(values)
        runs = ", ".join(f"{v:.1f}" for v in values)
        print(f"{name:>12}: median {median:.1f} s = {duration / median:.2f}x realtime ({runs})")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
