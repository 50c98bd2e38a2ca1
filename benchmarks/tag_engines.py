"""How long writing two language tags takes with each engine of ``langspan tag``, for files of growing size.

    python benchmarks/tag_engines.py [--minutes 1 10 30] [--repeats 3]

Makes Matroska files with two uncompressed stereo PCM tracks (≈23 MB per minute, so size grows fast while making
them costs nothing), then times ``tagwriter.write_tags`` — the whole write: ffmpeg stream copy + fsync + ffprobe
verification + rename, or mkvpropedit's header edit + verification — on a fresh copy each time. Prints the
median seconds per engine and the ratio ffmpeg / mkvpropedit measured in the same run. The files are read from
the page cache after the copy, so the ffmpeg numbers are a floor: on a cold disk it reads and writes the whole
file, while mkvpropedit touches only the header.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from langspan.frontend import media
from langspan.tagging import write as tagwriter

TAGS = {0: tagwriter.NewTag("ger", "de"), 1: tagwriter.NewTag("fre", "fr")}


def make_file(folder: Path, minutes: float) -> Path:
    path = folder / f"{minutes:g}min.mkv"
    seconds = str(minutes * 60)
    subprocess.run(
        [media.find_ffmpeg().ffmpeg, "-nostdin", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"sine=frequency=400:duration={seconds}:sample_rate=48000",
         "-f", "lavfi", "-i", f"sine=frequency=2000:duration={seconds}:sample_rate=48000",
         "-map", "0", "-map", "1", "-c:a", "pcm_s16le", "-ac", "2", str(path)],
        check=True,
    )  # fmt: skip
    return path


def time_engine(original: Path, engine: str, repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        copy = original.with_name(f"copy-{engine}.mkv")
        shutil.copyfile(original, copy)
        before = media.probe_raw(copy)
        start = time.perf_counter()
        tagwriter.write_tags(copy, TAGS, before, engine=engine)
        runs.append(time.perf_counter() - start)
        copy.unlink()
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 10, 30])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{'file':>10} {'MB':>7} {'ffmpeg s':>9} {'mkvpropedit s':>14} {'ratio':>6}")
    with tempfile.TemporaryDirectory(dir=".") as folder:
        for minutes in args.minutes:
            original = make_file(Path(folder), minutes)
            size = original.stat().st_size / 1e6
            ffmpeg_s = time_engine(original, "ffmpeg", args.repeats)
            mkvpropedit_s = time_engine(original, "mkvpropedit", args.repeats)
            print(
                f"{original.name:>10} {size:7.0f} {ffmpeg_s:9.2f} {mkvpropedit_s:14.2f} {ffmpeg_s / mkvpropedit_s:5.1f}x"
            )
            original.unlink()


if __name__ == "__main__":
    main()
