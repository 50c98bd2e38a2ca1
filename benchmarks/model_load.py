"""Loading the full-size model with and without langspan's converted-model cache, and a 1 s input end to end.

    PYTHONPATH=src python benchmarks/model_load.py --keep /tmp/lsb-full --rounds 2

Uses the model folder of ``benchmarks/speed.py --keep DIR`` (mms-lid-256's architecture with random weights; built
if missing) and a cache folder of its own (``DIR/cache-bench``, emptied before each cold measurement). Per round,
each in a fresh process:

- ``cold``: no cache entry: load and convert the checkpoint, then write the entry (what a first run does);
- ``warm``: the entry exists: read it and pack its int8 weights (every later run);
- ``no-cache``: ``cache=False``: convert without writing (what every run did before the cache);
- ``detect 1 s cold`` / ``detect 1 s warm``: ``python -m langspan detect INPUT-1s.mp3 --model DIR`` as a whole
  command — interpreter start-up, imports, model load, decoding, the JSON output — without and with the entry.

A loader's time starts after ``import torch, transformers`` (their time is printed as "imports"); the whole
command's includes everything. Peak memory is each process's own high-water mark (``VmHWM`` for a loader; ``wait4``'s ``ru_maxrss`` for a
command, whose parent here is this small driver that never imports torch). CPU seconds are printed beside the
wall seconds: on a shared machine the wall time says more about the other jobs than about the load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

LOADER = """
import json, resource, sys, time
from pathlib import Path
start, cpu = time.perf_counter(), time.process_time()
import torch, transformers
from transformers import AutoFeatureExtractor, AutoModelForAudioClassification
from langspan.models.wav2vec2 import HFClassifier
imported = time.perf_counter() - start
start, cpu_load = time.perf_counter(), time.process_time()
HFClassifier(sys.argv[1], device="cpu", precision=sys.argv[2], cache=sys.argv[3] == "on")
wall, used = time.perf_counter() - start, time.process_time() - cpu_load
status = {l.split(":")[0]: int(l.split()[1]) for l in Path("/proc/self/status").read_text().splitlines()
          if l.startswith(("VmHWM", "VmRSS"))}
print("RESULT " + json.dumps({"import_s": imported, "load_s": wall, "load_cpu_s": used,
                              "peak_mb": status["VmHWM"] / 1024, "rss_after_mb": status["VmRSS"] / 1024}))
"""


def environment(cache: Path) -> dict:
    return {
        **os.environ, "PYTHONPATH": str(SRC), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error",
        "LANGSPAN_CACHE_DIR": str(cache),
    }  # fmt: skip


def load(model: Path, precision: str, cache: Path, use_cache: bool) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", LOADER, str(model), precision, "on" if use_cache else "off"],
        env=environment(cache), capture_output=True, text=True, check=False,
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"loader failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def detect_command(model: Path, media: Path, cache: Path, output: Path) -> dict:
    """The whole ``langspan detect`` command: wall seconds, CPU seconds and peak memory of that process."""
    command = [sys.executable, "-m", "langspan", "detect", str(media), "--model", str(model), "-q", "-o", str(output)]
    start = time.perf_counter()
    process = subprocess.Popen(command, env=environment(cache), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"detect failed:\n{process.stderr.read().decode()[-3000:]}")
    process.stderr.close()
    output.unlink(missing_ok=True)
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}


def ensure_inputs(work: Path) -> tuple[Path, Path]:
    model = work / "model-full"
    if not (model / "config.json").exists():  # built in a child: this driver stays small (see the docstring)
        code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import speed; from pathlib import Path; " \
               f"speed.build_model(Path({str(model)!r}), False)"  # fmt: skip
        subprocess.run([sys.executable, "-c", code], env=environment(work / "unused"), check=True)
    media = work / "input-1s.mp3"
    if not media.exists():
        sys.path.insert(0, str(HERE))
        import speed

        speed.make_media(media, 1, Path(tempfile.mkdtemp(dir=work)))
    return model, media


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, required=True, help="folder of speed.py's saved model (reused)")
    parser.add_argument("--precision", default="int8", choices=("int8", "fp16", "bf16"))
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--skip", default="", help="comma-separated measurements to leave out (e.g. no-cache)")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    args.keep.mkdir(parents=True, exist_ok=True)
    model, media = ensure_inputs(args.keep)
    cache = args.keep / "cache-bench"
    print(f"load average at start: {os.getloadavg()}", flush=True)
    for round_ in range(1, args.rounds + 1):
        measurements = []
        if "cold" not in skip:
            shutil.rmtree(cache, ignore_errors=True)
            measurements.append(("cold", load(model, args.precision, cache, True)))
        if "warm" not in skip:
            measurements.append(("warm", load(model, args.precision, cache, True)))
        if "no-cache" not in skip:
            measurements.append(("no-cache", load(model, args.precision, cache, False)))
        for name, result in measurements:
            print(f"round {round_} {name:>9}: load {result['load_s']:.1f} s wall, {result['load_cpu_s']:.1f} s CPU, "
                  f"peak RSS {result['peak_mb']:.0f} MB (RSS after load {result['rss_after_mb']:.0f} MB); "
                  f"imports {result['import_s']:.1f} s; load average {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
        output = args.keep / "detect-1s.json"
        for state in ("cold", "warm"):
            if f"detect-{state}" in skip:
                continue
            if state == "cold":
                shutil.rmtree(cache, ignore_errors=True)
            result = detect_command(model, media, cache, output)
            print(f"round {round_} detect 1 s {state}: {result['wall_s']:.1f} s wall, {result['cpu_s']:.1f} s CPU, "
                  f"peak RSS {result['peak_mb']:.0f} MB; load average {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
