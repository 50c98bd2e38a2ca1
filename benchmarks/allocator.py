"""Forward-pass time and page faults of the full-size model with glibc's default thresholds vs langspan's.

    PYTHONPATH=src python benchmarks/allocator.py --model-dir /tmp/lsb-full/model-full --rounds 3

The model folder is the one ``benchmarks/speed.py --keep DIR`` saves (mms-lid-256's architecture, random
weights). Each variant runs in its own process (glibc's thresholds are per process), loads the model with
``--precision int8`` as ``langspan detect`` does, runs one warm-up batch of 8 × 2 s windows and then times
``--batches`` more; the variants alternate for ``--rounds`` rounds so that a change in machine load hits both.

- ``glibc``: glibc's own dynamic mmap/trim thresholds (langspan's ``reuse_large_buffers`` switched off);
- ``langspan``: what langspan does on CPU (``cpu_memory.reuse_large_buffers``);
- ``trim=N``: langspan's mmap threshold with a trim threshold of N MB (to see how much free heap is needed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time


def worker(model_dir: str, variant: str, batches: int) -> dict:
    import numpy as np

    import langspan.models.wav2vec2 as classifier_module
    from langspan.models import cpu_memory

    if variant == "glibc":
        classifier_module.reuse_large_buffers = lambda: False
    elif variant.startswith("trim="):
        cpu_memory.TRIM_THRESHOLD = int(variant[5:]) << 20
    classifier = classifier_module.HFClassifier(model_dir, device="cpu", precision="int8")
    rng = np.random.default_rng(0)
    batch = [rng.standard_normal(32_000).astype(np.float32) * 0.1 for _ in range(8)]
    classifier.predict(batch)  # warm-up: first-touch costs are not what is compared
    times = []
    faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(batches):
        start = time.perf_counter()
        classifier.predict(batch)
        times.append(time.perf_counter() - start)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before) / batches
    return {"seconds": times, "faults_per_batch": faults, "load": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", default="/tmp/lsb-full/model-full")
    parser.add_argument("--variants", default="glibc,langspan", help="comma-separated, see above")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(worker(args.model_dir, args.worker, args.batches)))
        return
    variants = args.variants.split(",")
    results: dict[str, list[dict]] = {variant: [] for variant in variants}
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}
    for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
        environment.pop(name, None)
    print(f"load average at start: {os.getloadavg()}")
    for _ in range(args.rounds):
        for variant in variants:
            command = [sys.executable, __file__, "--worker", variant, "--model-dir", args.model_dir,
                       "--batches", str(args.batches)]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True, env=environment, check=True)
            line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
            results[variant].append(json.loads(line[len("RESULT ") :]))
    baseline = statistics.median(s for r in results[variants[0]] for s in r["seconds"])
    for variant in variants:
        seconds = [s for r in results[variant] for s in r["seconds"]]
        median = statistics.median(seconds)
        faults = statistics.median(r["faults_per_batch"] for r in results[variant])
        loads = [r["load"] for r in results[variant]]
        print(
            f"{variant:>10}: {median:.3f} s per batch of 8 (min {min(seconds):.3f}, max {max(seconds):.3f}), "
            f"{faults:,.0f} page faults per batch, {baseline / median:.2f}x vs {variants[0]}, "
            f"load {min(loads):.1f}-{max(loads):.1f}"
        )


if __name__ == "__main__":
    main()
