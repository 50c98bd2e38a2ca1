"""SIGKILL a folder batch at random moments and resume it: the figures docs/reliability.md records.

    PYTHONPATH=src python benchmarks/crash.py [--kills 20] [--seed 15]

Uses tests/crash_harness.py: an eight-file library (WAV, MP3, M4A, two-track MKV, FLAC, in two folders), two output
formats, the tiny checkpoint. Trials of one to three consecutive SIGKILLs (each after a random number of manifest
lines plus 0–500 ms) followed by a run that must finish, until ``--kills`` kills have been sent. Prints each kill
(where it landed, what was on disk), each resume, and the totals; exit 1 if any rule was broken.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import crash_harness as harness


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=15)
    arguments = parser.parse_args()
    rng = random.Random(arguments.seed)
    started = time.perf_counter()
    sent = landed = trials = redone = clean = 0
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="langspan-crash-") as folder:
        work = Path(folder)
        library = harness.make_library(work / "library")
        expected = harness.reference(library, work / "reference")
        while sent < arguments.kills:
            kills = min(rng.choice((1, 1, 2, 3)), arguments.kills - sent)
            result = harness.trial(library, work / f"out{trials}", expected, rng, kills)
            trials += 1
            sent += kills
            landed += sum(kill.landed for kill in result.kills)
            redone += result.redone
            problems += result.problems
            clean += not result.problems
            for kill in result.kills:
                print(f"trial {trials}: SIGKILL after {kill.after_lines} manifest lines + {kill.delay * 1000:.0f} ms: "
                      f"{'landed' if kill.landed else 'run had finished'}; {kill.lines} manifest lines, "
                      f"{kill.outputs} complete outputs on disk")  # fmt: skip
            print(f"trial {trials}: resumed run {'OK' if not result.problems else result.problems}", flush=True)
    print(f"\n## langspan crash: {sent} SIGKILLs in {trials} trials ({landed} landed mid-run)")
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}, "
          f"Python {platform.python_version()}; load {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"command: PYTHONPATH=src python benchmarks/crash.py --kills {arguments.kills} --seed {arguments.seed}  "
          f"({time.perf_counter() - started:.0f} s)")  # fmt: skip
    print(f"resumed cleanly: {clean} of {trials} trials; truncated or half-written "
          f"outputs seen after a kill: {sum('not the complete output' in p for p in problems)}; files done again "
          f"although recorded: {redone}; broken rules: {len(problems)}")  # fmt: skip
    for problem in problems:
        print(f"BROKEN {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
