"""What reading media from stdin costs: spooling it to a temporary file, against decoding the same file.

    PYTHONPATH=src python benchmarks/stdin_spool.py [minutes]

Makes an AAC (.m4a) file of ``minutes`` of audio (default 60) with ffmpeg, then measures, in the same run:
- baseline: decoding it to 16 kHz mono float32 with langspan's ffmpeg front end (every input pays this);
- spool: copying it from a pipe into langspan's stdin spool (what `langspan detect -` adds).
Prints both and their ratio (best of 3 each).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from langspan.frontend import media
from langspan.frontend.spool import spooled_stdin


def best_of(runs: int, work) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "speech.m4a"
        source = f"sine=f=300:d={minutes * 60}"
        command = [media.find_ffmpeg().ffmpeg, "-v", "error", "-f", "lavfi", "-i", source, "-c:a", "aac", "-b:a", "128k"]
        subprocess.run([*command, str(path)], check=True)

        def decode() -> None:
            for _ in media.decode(path):
                pass

        def spool() -> None:
            with (
                open(path, "rb") as handle,
                subprocess.Popen(["cat"], stdin=handle, stdout=subprocess.PIPE) as cat,
                spooled_stdin(cat.stdout),
            ):
                pass

        decode_s, spool_s = best_of(3, decode), best_of(3, spool)
        size = path.stat().st_size / 1e6
        print(f"{minutes:g} min of 128 kbit/s AAC ({size:.1f} MB)")
        print(f"baseline decode to 16 kHz mono: {decode_s:.3f} s")
        print(f"stdin spool:                    {spool_s:.3f} s ({size / spool_s:.0f} MB/s)")
        print(f"spool / decode:                 {spool_s / decode_s:.3f}")


if __name__ == "__main__":
    main()
