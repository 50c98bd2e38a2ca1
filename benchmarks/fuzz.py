"""Fuzzed media through the real command line: thousands of damaged files, every one held to the same rules.

    PYTHONPATH=src python benchmarks/fuzz.py [--cases 2000] [--tag-cases 200] [--subprocess-every 50]

Cases come from tests/fuzz_corpus.py (a seeded mutator over MP3, M4A, MP4, two-track MKV, WAV, FLAC, Ogg/Opus and
MPEG-TS seeds; case ``i`` is the same bytes on every run, and the test suite runs cases 0–159). Each runs
``langspan detect`` with the tiny checkpoint in this process (torch loads once); every ``--subprocess-every``-th
case runs again as ``python -m langspan`` in a child process, which also gives its peak memory. ``--tag-cases``
runs ``langspan tag --in-place`` on damaged untagged MKV/MP4 files. Prints the outcomes, every broken rule, and the
figures docs/reliability.md records; exit 1 if any case broke a rule.
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fuzz_corpus import Corpus, Outcome, peak_memory_kb, run_detect_case, run_tag_case, seed_files, warm_up


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--tag-cases", type=int, default=200)
    parser.add_argument("--subprocess-every", type=int, default=50, help="0: none")
    parser.add_argument("--every", type=int, default=1, help="run only every N-th case of the --cases (a re-check)")
    arguments = parser.parse_args()
    started = time.perf_counter()
    broken: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="langspan-fuzz-") as folder:
        work = Path(folder)
        seeds = seed_files(work / "seeds")
        warm_up(seeds, work / "warm-up")
        after_warm_up = peak_memory_kb()[0]
        corpus = Corpus(seeds)
        detect = collections.Counter()
        causes = collections.Counter()
        child_peak = 0
        for index in range(0, arguments.cases, arguments.every):
            case = corpus[index]
            outcome, _ = run_detect_case(case, work / "detect" / case.id)
            detect[(case.container, outcome.kind)] += 1
            if outcome.kind == "refused":
                causes[outcome.detail] += 1
            broken += [outcome] if outcome.problems else []
            if arguments.subprocess_every and index % arguments.subprocess_every == 0:
                again, peak = run_detect_case(case, work / "child" / case.id, subprocess_run=True)
                child_peak = max(child_peak, peak)
                broken += [again] if again.problems else []
                if again.kind != outcome.kind:
                    again.problems.append(f"in a child process: {again.kind}, in-process: {outcome.kind}")
                    broken.append(again)
            if index % 100 == 99:
                print(f"{index + 1} cases, {len(broken)} broken, {time.perf_counter() - started:.0f} s", flush=True)
        tag_corpus = Corpus(seed_files(work / "tag-seeds", tag=True), salt="langspan-fuzz-tag")
        tags = collections.Counter()
        for index in range(arguments.tag_cases):
            case = tag_corpus[index]
            outcome = run_tag_case(case, work / "tag" / case.id)
            tags[(case.container, outcome.kind, outcome.detail)] += 1
            broken += [outcome] if outcome.problems else []
    report(arguments, detect, causes, tags, broken, after_warm_up, child_peak, time.perf_counter() - started)
    return 1 if broken else 0


def report(arguments, detect, causes, tags, broken, after_warm_up, child_peak, seconds) -> None:
    containers = sorted({container for container, _ in detect})
    cases = len(range(0, arguments.cases, arguments.every))
    print(f"\n## langspan fuzz: {cases} detect cases, {arguments.tag_cases} tag --in-place cases")
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}, "
          f"Python {platform.python_version()}, {ffmpeg_version()}; load {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"command: PYTHONPATH=src python benchmarks/fuzz.py --cases {arguments.cases} --tag-cases "
          f"{arguments.tag_cases} --subprocess-every {arguments.subprocess_every} --every {arguments.every}  "
          f"({seconds:.0f} s)")  # fmt: skip
    print("\n| container | cases | exit 0, valid timeline | exit 1, one line |")
    print("|---|---|---|---|")
    for container in containers:
        ok, refused = detect[(container, "ok")], detect[(container, "refused")]
        print(f"| {container} | {sum(n for (c, _), n in detect.items() if c == container)} | {ok} | {refused} |")
    print("\nerrors by cause:", dict(causes.most_common()))
    print("tag --in-place:", {" ".join(key): count for key, count in sorted(tags.items())})
    kinds = collections.Counter(problem.split(":")[0] for outcome in broken for problem in outcome.problems)
    print(f"\ntracebacks {kinds['traceback printed'] + kinds['exception escaped']}, hangs {kinds['hang']}, "
          f"leftover files {kinds['temporary files left'] + kinds['output left after a failure']}, "
          f"broken cases {len(broken)}")  # fmt: skip
    self_peak, _ = peak_memory_kb()
    print(f"peak resident memory: this process {self_peak / 1024:.0f} MB ({after_warm_up / 1024:.0f} MB after the "
          f"first case); largest process of a `python -m langspan` case {child_peak / 1024:.0f} MB")  # fmt: skip
    for outcome in broken:
        print(f"BROKEN {outcome.case.id} ({outcome.case.mutation}): {outcome.problems}")


def ffmpeg_version() -> str:
    text = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, check=False).stdout
    return " ".join(text.split()[:3])


if __name__ == "__main__":
    sys.exit(main())
