"""Helpers for the tagging tests: small movies with everything a tag writer must keep, a scripted classifier, and
ffprobe/mkvmerge readers that do not go through langspan's own code."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from conftest import ScriptedClassifier, ffmpeg_path, ffprobe_path

SAMPLE_RATE = 16_000
# The two audio tracks are tones the scripted classifier tells apart: low → German, high → French.
LOW_HZ, HIGH_HZ = 400, 2000
FFMETADATA = """;FFMETADATA1
title=Fixture film
comment=made by the langspan tagging tests

[CHAPTER]
TIMEBASE=1/1000
START=0
END=2000
title=Opening

[CHAPTER]
TIMEBASE=1/1000
START=2000
END=4000
title=Ending
"""
SUBTITLES = "1\n00:00:00,500 --> 00:00:01,500\nHello\n\n2\n00:00:02,000 --> 00:00:03,000\nWorld\n"


def make_movie(folder: Path, name: str, languages: Sequence[str | None] = (None, None), seconds: int = 4) -> Path:
    """A ``seconds`` long (default 4 s) movie (.mkv or .mp4): video, a low-tone and a high-tone audio track with the given language tags,
    a subtitle track, two chapters, global tags, a 'comment' disposition, and (Matroska) an attachment."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    (folder / "meta.txt").write_text(FFMETADATA)
    (folder / "subs.srt").write_text(SUBTITLES)
    matroska = path.suffix == ".mkv"
    command = [
        ffmpeg_path(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc=size=32x32:rate=5:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency={LOW_HZ}:duration={seconds}:sample_rate={SAMPLE_RATE}",
        "-f", "lavfi", "-i", f"sine=frequency={HIGH_HZ}:duration={seconds}:sample_rate={SAMPLE_RATE}",
        "-i", str(folder / "subs.srt"), "-i", str(folder / "meta.txt"),
        "-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:s", "-map_metadata", "4", "-map_chapters", "4",
        "-c:v", "mpeg4", "-q:v", "31", "-c:a", "libopus" if matroska else "aac", "-b:a", "24k",
        "-c:s", "srt" if matroska else "mov_text",
        "-metadata:s:a:0", "title=Main", "-metadata:s:s:0", f"language={'fre' if matroska else 'fra'}",
        "-disposition:a:1", "comment",
    ]  # fmt: skip
    for position, language in enumerate(languages):
        command += [f"-metadata:s:a:{position}", f"language={language or 'und'}"]
    if matroska:
        (folder / "notes.txt").write_text("an attachment that must survive")
        command += ["-attach", str(folder / "notes.txt"), "-metadata:s:t", "mimetype=text/plain"]
    subprocess.run([*command, str(path)], check=True)
    return path


def ffprobe(path: Path) -> dict:
    """ffprobe's JSON (streams, format, chapters), read directly rather than through langspan.frontend.media."""
    result = subprocess.run(
        [ffprobe_path(), "-v", "error", "-show_streams", "-show_format", "-show_chapters", "-of", "json", str(path)],
        check=True, capture_output=True,
    )  # fmt: skip
    return json.loads(result.stdout)


def languages(path: Path) -> dict[int, str | None]:
    """Language tag of each audio stream, by ffprobe index."""
    return {
        stream["index"]: stream.get("tags", {}).get("language")
        for stream in ffprobe(path)["streams"]
        if stream["codec_type"] == "audio"
    }


def _frame(stream: dict) -> float:
    if stream["codec_type"] == "video":
        numerator, denominator = stream["avg_frame_rate"].split("/")
        return int(denominator) / int(numerator)
    return 0.06  # one Opus/AAC frame, with room for rounding


def _duration(stream: dict) -> float:
    if "duration" in stream:
        return float(stream["duration"])
    hours, minutes, seconds = stream["tags"]["DURATION"].split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def assert_only_languages_changed(before: dict, after: dict, expected: dict[int, str]) -> None:
    """An independent before/after comparison, written for the test rather than taken from tagwriter."""
    chapter_track = lambda s: s["codec_type"] == "data" and s.get("codec_tag_string") == "text"
    old = [s for s in before["streams"] if not chapter_track(s)]
    new = [s for s in after["streams"] if not chapter_track(s)]
    assert len(new) == len(old)
    assert [s.get("codec_name") for s in new] == [s.get("codec_name") for s in old]
    assert [s["codec_type"] for s in new] == [s["codec_type"] for s in old]
    assert [s["disposition"] for s in new] == [s["disposition"] for s in old]
    for a, b in zip(old, new, strict=True):
        if a["codec_type"] != "attachment":
            assert abs(_duration(a) - _duration(b)) <= _frame(a), a["index"]
        a_tags = {k: v for k, v in a.get("tags", {}).items() if k not in ("language", "DURATION")}
        b_tags = {k: v for k, v in b.get("tags", {}).items() if k not in ("language", "DURATION")}
        assert a_tags == b_tags
        assert b.get("tags", {}).get("language") == expected.get(a["index"], a.get("tags", {}).get("language"))
    assert [(c["start_time"], c["end_time"], c["tags"]) for c in after["chapters"]] == [
        (c["start_time"], c["end_time"], c["tags"]) for c in before["chapters"]
    ]
    own = ("encoder", "minor_version", "compatible_brands")
    assert {k: v for k, v in after["format"]["tags"].items() if k.lower() not in own} == {
        k: v for k, v in before["format"]["tags"].items() if k.lower() not in own
    }


def mkvmerge_tracks(path: Path) -> list[dict]:
    """mkvmerge's view of the tracks (it reads LanguageIETF, which ffprobe 5.1 does not)."""
    result = subprocess.run(["mkvmerge", "-J", str(path)], check=True, capture_output=True)
    return json.loads(result.stdout)["tracks"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def folder_listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


TONE_LABELS = ("eng", "deu", "fra", "spa")


def tone_classifier() -> ScriptedClassifier:
    """A scripted classifier: windows whose strongest frequency is low are German, others French.

    The second choice is always the other one of the two, so restricting the labels (``--languages``) flips the
    answer in a predictable way.
    """

    def answer(samples: np.ndarray) -> np.ndarray:
        peak_hz = np.argmax(np.abs(np.fft.rfft(samples))) * SAMPLE_RATE / len(samples)
        return np.array([0.03, 0.85, 0.10, 0.02] if peak_hz < 1000 else [0.03, 0.10, 0.85, 0.02])

    return ScriptedClassifier(TONE_LABELS, answer)


def never_load():
    """A classifier factory for runs that must not need the model."""
    raise AssertionError("the model was loaded although no stream needed analysing")


# Encoders for the audio files two_languages makes, by suffix.
CODECS = {".mp3": ["-c:a", "libmp3lame", "-b:a", "32k"], ".m4a": ["-c:a", "aac", "-b:a", "32k"],
          ".mkv": ["-c:a", "libopus", "-b:a", "24k"]}  # fmt: skip


def two_languages(folder: Path, name: str, seconds: int = 6, parts: int = 2) -> Path:
    """``parts`` stretches of ``seconds`` each, alternating a low tone (German to ``tone_classifier``) and a high
    one (French), encoded for the suffix of ``name``, with a global title tag."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    tones = [f"sine=frequency={LOW_HZ if i % 2 == 0 else HIGH_HZ}:duration={seconds}:sample_rate=16000[t{i}]"
             for i in range(parts)]  # fmt: skip
    graph = ";".join(tones) + ";" + "".join(f"[t{i}]" for i in range(parts)) + f"concat=n={parts}:v=0:a=1"
    subprocess.run(
        [ffmpeg_path(), "-nostdin", "-v", "error", "-y", "-filter_complex", graph, *CODECS[path.suffix],
         "-metadata", "title=Episode 1", str(path)],
        check=True,
    )  # fmt: skip
    return path
