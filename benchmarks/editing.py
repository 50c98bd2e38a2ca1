"""What writing chapters and cutting pieces cost on a long file, and how close stream-copy cuts land.

    python benchmarks/editing.py [--minutes 30]

Makes a stereo 128 kb/s MP3 of ``--minutes`` (a tone: the model plays no part here), gives it a scripted timeline
that changes language every 3 minutes, and times the editing steps alone: ``write_chapters`` (stream copy,
fsync, ffprobe verification, rename) and ``cut_piece`` for one piece per span and for one piece per language
(cuts joined with the concat demuxer). Prints each piece's planned and ffprobe-measured duration.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from langspan.editing.chapters import write_chapters
from langspan.editing.split import cut_piece, plan_pieces
from langspan.frontend import media
from langspan.timeline import Span, Timeline
from langspan.writers.chapters import language_chapters

SPAN_SECONDS = 180.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "long.mp3"
        seconds = args.minutes * 60
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate=44100",
             "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k", str(source)],
            check=True,
        )  # fmt: skip
        count = int(seconds // SPAN_SECONDS)
        spans = tuple(
            Span(i * SPAN_SECONDS, (i + 1) * SPAN_SECONDS, ("eng", "deu")[i % 2], 0.9) for i in range(count)
        )
        timeline = Timeline(str(source), 0, float(seconds), "scripted", None, {}, spans)
        before = media.probe_raw(source)
        print(f"{args.minutes} min MP3, {source.stat().st_size / 1e6:.1f} MB, {count} spans")
        started = time.perf_counter()
        write_chapters(source, language_chapters(timeline), before, output=Path(folder) / "chapters.mp3")
        print(f"chapters (copy, verify, rename): {time.perf_counter() - started:.2f} s")
        for by_language in (False, True):
            out = Path(folder) / f"cuts-{by_language}"
            out.mkdir()
            pieces = plan_pieces(spans, out, source, by_language, keep_nonspeech=False)
            started = time.perf_counter()
            for piece in pieces:
                cut_piece(source, before, 0, piece, reencode=False)
            label = "per language" if by_language else "per span"
            print(f"split {label}: {len(pieces)} pieces in {time.perf_counter() - started:.2f} s")
            for piece in pieces:
                measured = float(media.probe_raw(piece.path)["format"]["duration"])
                print(f"  {piece.path.name}: planned {piece.duration:.3f} s, ffprobe {measured:.3f} s, "
                      f"{1000 * (measured - piece.duration):+.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
