"""Demo media with exact ground truth for langspan: a language-switching podcast and multi-track videos.

Every file is assembled sample by sample at 16 kHz from trimmed espeak-ng utterances (held-out sentences from
standin_corpus.PODCAST and STORIES, never used in training), so span boundaries are exact sample counts:
a language span runs from its first utterance's first sample to its last utterance's last sample; pauses
between languages are not covered by any span. Encoding is done by ffmpeg with bit-exact flags.
"""

from __future__ import annotations

import json
import random
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import standin_audio as audio
import standin_corpus as corpus

SR = audio.SAMPLE_RATE
DEMO_SEED = 2024
DEMO_SPEED_WPM = (140, 180)  # a calm speaking rate keeps every podcast segment comfortably over 10 s
SENTENCE_PAUSE_S = (0.2, 0.6)  # pauses between sentences of one speaker
SWITCH_PAUSE_S = (0.5, 1.0)  # pause where the language changes
INTRO_S = 6.0  # non-speech jingle at the start of the podcast
INTRO_GAP_S = 0.8  # silence between the jingle and the first word
TRACK_LEAD_S = (0.3, 0.8)  # silence before the first word of a film track
TAIL_S = 1.0  # silence after the last word
SPEECH_RMS = 0.08  # every utterance is scaled to this RMS (about -22 dBFS)
NOISE_FLOOR_RMS = 0.0015  # faint pink room noise under the whole podcast (about -56 dBFS)
MIN_SEGMENT_S = 10.0  # the brief: every podcast language segment lasts at least this long
MP3_BITRATE = "32k"  # bit rates keep all committed fixtures under ~3 MB; speech stays clear
AAC_BITRATE = "24k"
OPUS_BITRATE = "16k"
VIDEO = "testsrc2=size=64x64:rate=2"  # a tiny moving test pattern; the audio is what matters

# file -> (truth file, [(story, language, container tag)]); tag None writes no tag (ffmpeg then writes "und").
# tracks.mp4 gets tracks_mp4.truth.json because tracks.truth.json belongs to tracks.mkv.
TRACK_FILES = {
    "tracks.mkv": ("tracks.truth.json", [("A", "deu", "und"), ("A", "fra", "eng")]),  # "eng" is wrong on purpose
    "tracks_untagged.mkv": ("tracks_untagged.truth.json", [("B", "eng", None), ("B", "spa", None)]),
    "tracks.mp4": ("tracks_mp4.truth.json", [("B", "deu", None), ("A", "eng", None)]),
    "single.mp4": ("single.truth.json", [("A", "spa", None)]),
}


@dataclass
class Track:
    """A mono 16 kHz signal under construction plus its ground-truth spans (in samples)."""

    samples: list[np.ndarray] = field(default_factory=list)
    spans: list[tuple[int, int, str]] = field(default_factory=list)
    length: int = 0

    def add(self, chunk: np.ndarray) -> int:
        self.samples.append(chunk.astype(np.float32))
        self.length += len(chunk)
        return self.length

    def silence(self, seconds: float) -> None:
        self.add(np.zeros(round(seconds * SR), np.float32))

    def signal(self) -> np.ndarray:
        return np.concatenate(self.samples)


def level(clip: np.ndarray) -> np.ndarray:
    return clip * np.float32(SPEECH_RMS / np.sqrt(np.mean(clip ** 2)))


def speak(track: Track, lang: str, sentences: list[str], rng: random.Random) -> None:
    """Append sentences in one voice with short pauses, and one span covering them all."""
    voice = audio.random_voice(lang, rng)
    voice = audio.Voice(voice.name, rng.randint(*DEMO_SPEED_WPM), voice.pitch)
    start = track.length
    for i, sentence in enumerate(sentences):
        if i:
            track.silence(rng.uniform(*SENTENCE_PAUSE_S))
        track.add(level(audio.synthesize(sentence, voice)))
    track.spans.append((start, track.length, lang))
    print(f"  {lang} {voice.name} -s {voice.speed} -p {voice.pitch}: "
          f"{start / SR:.3f}-{track.length / SR:.3f} s")


def jingle(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Clearly non-speech: a drone, a bell-like arpeggio and a soft noise swell."""
    t = np.arange(int(seconds * SR)) / SR
    out = 0.05 * np.sin(2 * np.pi * 110 * t) + 0.03 * np.sin(2 * np.pi * 165 * t)
    for k, freq in enumerate([523.25, 659.25, 783.99, 1046.5, 783.99, 659.25, 523.25, 1046.5]):
        onset = 0.3 + 0.65 * k
        local = np.clip(t - onset, 0, None)
        bell = np.sin(2 * np.pi * freq * local) + 0.4 * np.sin(2 * np.pi * 2.76 * freq * local)
        out += 0.12 * bell * np.exp(-3.0 * local) * (t >= onset)
    swell = np.sin(np.pi * t / seconds) ** 2
    out += 0.02 * swell * audio.colored_noise(len(t), rng)
    fade = np.minimum(1, np.minimum(t / 0.2, (seconds - t) / 0.5))
    return (out * fade).astype(np.float32)


def build_podcast(rng: random.Random) -> Track:
    """Jingle, then the PODCAST segments, one voice per segment, with a longer pause at each switch."""
    track = Track()
    track.add(jingle(INTRO_S, np.random.default_rng(DEMO_SEED)))
    track.spans.append((0, track.length, "nonspeech"))
    track.silence(INTRO_GAP_S)
    for i, (lang, sentences) in enumerate(corpus.PODCAST):
        if i:
            track.silence(rng.uniform(*SWITCH_PAUSE_S))
        speak(track, lang, sentences, rng)
        start, end, _ = track.spans[-1]
        assert (end - start) / SR >= MIN_SEGMENT_S, f"podcast segment {i} ({lang}) is shorter than 10 s"
    track.silence(TAIL_S)
    return track


def build_story(story: str, lang: str, rng: random.Random) -> Track:
    track = Track()
    track.silence(rng.uniform(*TRACK_LEAD_S))
    speak(track, lang, corpus.STORIES[story][lang], rng)
    track.silence(TAIL_S)
    return track


# --- encoding -----------------------------------------------------------------------------------------------


def ffmpeg(args: list[str], inputs: list[np.ndarray]) -> None:
    """Run ffmpeg with raw float32 inputs written to temporary files (several inputs need several files)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, samples in enumerate(inputs):
            path = Path(tmp) / f"in{i}.f32"
            samples.astype("<f4").tofile(path)
            paths.append(path)
        cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y"]
        for path in paths:
            cmd += ["-f", "f32le", "-ar", str(SR), "-ac", "1", "-i", f"file:{path}"]
        subprocess.run(cmd + args, check=True)


BITEXACT = ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"]


def encode_podcast(path: Path, samples: np.ndarray) -> None:
    ffmpeg(["-c:a", "libmp3lame", "-b:a", MP3_BITRATE, *BITEXACT, f"file:{path}"], [samples])


def encode_tracks(path: Path, tracks: list[np.ndarray], tags: list[str | None], video: bool) -> None:
    """Mux audio tracks (opus in Matroska, AAC in MP4) after an optional tiny video track."""
    seconds = max(len(t) for t in tracks) / SR
    args: list[str] = []
    maps: list[str] = []
    if video:
        args += ["-f", "lavfi", "-t", f"{seconds:.3f}", "-i", VIDEO]
        maps += ["-map", f"{len(tracks)}:v"]
    maps += [m for i in range(len(tracks)) for m in ("-map", f"{i}:a")]
    codec = ["-c:a", "libopus", "-b:a", OPUS_BITRATE] if path.suffix == ".mkv" else ["-c:a", "aac",
                                                                                     "-b:a", AAC_BITRATE]
    out = args + maps + codec
    if video:
        out += ["-c:v", "mpeg4", "-q:v", "20", "-g", "20"]
    for i, tag in enumerate(tags):
        if tag is not None:
            out += [f"-metadata:s:a:{i}", f"language={tag}"]
    ffmpeg(out + BITEXACT + [f"file:{path}"], tracks)


# --- ground truth -------------------------------------------------------------------------------------------


def ms(samples: int) -> float:
    return round(samples / SR, 3)


def stream_truth(index: int, track: Track, tag: str | None) -> dict:
    return {"index": index, "tag": tag or "und", "duration": ms(track.length),
            "spans": [{"start": ms(s), "end": ms(e), "language": lang} for s, e, lang in track.spans]}


def write_truth(path: Path, source: str, streams: list[dict]) -> None:
    truth = {"source": source, "duration": max(s["duration"] for s in streams), "streams": streams}
    path.write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")


def make_demo(demo_dir: Path, model_dir: Path) -> None:
    """Write every demo file and its truth, then measure the stand-in's window accuracy on them."""
    demo_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(DEMO_SEED)
    print("podcast.mp3")
    podcast = build_podcast(rng)
    signal = podcast.signal() + NOISE_FLOOR_RMS * audio.colored_noise(podcast.length,
                                                                      np.random.default_rng(DEMO_SEED))
    encode_podcast(demo_dir / "podcast.mp3", signal)
    write_truth(demo_dir / "podcast.truth.json", "podcast.mp3", [stream_truth(0, podcast, None)])
    for name, (truth_name, spec) in TRACK_FILES.items():
        print(name)
        tracks = [build_story(story, lang, rng) for story, lang, _ in spec]
        video = len(spec) > 1  # the single-track file is audio only
        encode_tracks(demo_dir / name, [t.signal() for t in tracks], [tag for *_, tag in spec], video)
        tagged = zip(tracks, spec, strict=True)
        streams = [stream_truth(i + int(video), t, tag) for i, (t, (*_, tag)) in enumerate(tagged)]
        write_truth(demo_dir / truth_name, name, streams)
    import check_standin

    write_readme(demo_dir, check_standin.check(model_dir, demo_dir))


README = """\
# langspan demo media (synthetic, with ground truth)

Generated by `.venv/bin/python scripts/make_standin.py --steps demo` from espeak-ng speech of held-out
sentences (`scripts/standin_corpus.py`: PODCAST, STORIES; never used to train `fixtures/standin-lid`).
Each `*.truth.json` gives, per audio stream (ffprobe index), the container language tag and the true spans:
a language span runs from its first word's onset to its last word's offset, sample-exact at 16 kHz and
rounded to milliseconds; `nonspeech` marks the jingle; pauses between languages belong to no span.
Decoded AAC streams run up to one AAC frame (64 ms) past the truth `duration`.

| file | stream | codec | tag | truth spans | stand-in windows right (inside a span / at least half in one) |
|---|---|---|---|---|---|
{rows}

Window accuracy measured by `scripts/check_standin.py` (2.0 s windows, no smoothing).
"""


def write_readme(demo_dir: Path, results: dict[str, dict]) -> None:
    """A table of every file, stream, tag, truth span and the stand-in's measured window accuracy."""
    rows = []
    for truth_path in sorted(demo_dir.glob("*.truth.json")):
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        codec = {".mp3": "mp3", ".mkv": "opus", ".mp4": "aac"}[Path(truth["source"]).suffix]
        for stream in truth["streams"]:
            spans = ", ".join(f"{s['language']} {s['start']:.3f}-{s['end']:.3f}" for s in stream["spans"])
            r = results[f"{truth['source']}#{stream['index']}"]
            rows.append(f"| {truth['source']} | {stream['index']} | {codec} | {stream['tag']} | {spans} | "
                        f"{r['pure_ok']}/{r['pure']}, {r['majority_ok']}/{r['majority']} |")
    (demo_dir / "README.md").write_text(README.format(rows="\n".join(rows)), encoding="utf-8")
