"""Writing tags: everything but the tags survives (checked with ffprobe directly), and no failure or interrupt
ever leaves the original changed or a temporary file behind."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import MEDIA
from langspan.errors import ExportError, MediaError, UsageError
from langspan.frontend import media
from langspan.tagging import write as tagwriter
from langspan.tagging.write import NewTag, differences, write_tags
from tagging_media import (
    assert_only_languages_changed,
    ffprobe,
    folder_listing,
    languages,
    make_movie,
    mkvmerge_tracks,
    sha256,
)

GERMAN, FRENCH = NewTag("ger", "de"), NewTag("fre", "fr")


@pytest.fixture(params=["film.mkv", "film.mp4"])
def movie(request, tmp_path: Path) -> Path:
    return make_movie(tmp_path / "films", request.param)


def tags_for(path: Path) -> dict[int, NewTag]:
    if path.suffix == ".mkv":
        return {1: GERMAN, 2: FRENCH}
    return {1: NewTag("deu", "de"), 2: NewTag("fra", "fr")}


def test_stream_copy_changes_the_languages_and_nothing_else(movie):
    before = ffprobe(movie)
    assert len(before["chapters"]) == 2 and any(s["codec_type"] == "subtitle" for s in before["streams"])
    listing = folder_listing(movie.parent)
    tags = tags_for(movie)
    write_tags(movie, tags, media.probe_raw(movie))
    assert_only_languages_changed(before, ffprobe(movie), {index: tag.code for index, tag in tags.items()})
    assert folder_listing(movie.parent) == listing


def test_matroska_attachment_survives(tmp_path):
    movie = make_movie(tmp_path, "film.mkv")
    write_tags(movie, {1: GERMAN}, media.probe_raw(movie))
    attachments = [s for s in ffprobe(movie)["streams"] if s["codec_type"] == "attachment"]
    assert [a["tags"]["filename"] for a in attachments] == ["notes.txt"]


def test_output_copy(movie, tmp_path):
    digest = sha256(movie)
    target = tmp_path / f"copy{movie.suffix}"
    assert write_tags(movie, tags_for(movie), media.probe_raw(movie), output=target) == target.resolve()
    assert sha256(movie) == digest
    assert list(languages(target).values()) == [tag.code for tag in tags_for(movie).values()]


def test_permissions_are_kept(tmp_path):
    movie = make_movie(tmp_path, "film.mkv")
    movie.chmod(0o640)
    write_tags(movie, {1: GERMAN}, media.probe_raw(movie))
    assert movie.stat().st_mode & 0o777 == 0o640


def test_a_symlink_stays_a_symlink_and_its_target_is_tagged(tmp_path):
    real = make_movie(tmp_path / "library", "film.mkv")
    link = tmp_path / "link.mkv"
    link.symlink_to(real)
    write_tags(link, {1: GERMAN}, media.probe_raw(link))
    assert link.is_symlink()
    assert languages(real)[1] == "ger"


# --- failures and interrupts --------------------------------------------------------------------------------


def _fail_after_writing(error: BaseException):
    real = tagwriter.run_ffmpeg

    def run(command, source):
        real(command, source)  # the temporary copy is complete…
        raise error  # …and then something goes wrong

    return run


@pytest.mark.parametrize(
    "error", [KeyboardInterrupt(), MediaError("disk trouble"), OSError(28, "No space left on device")]
)
def test_failure_after_the_copy_leaves_the_original_and_no_temporary(movie, monkeypatch, error):
    digest, listing = sha256(movie), folder_listing(movie.parent)
    monkeypatch.setattr(tagwriter, "run_ffmpeg", _fail_after_writing(error))
    with pytest.raises((KeyboardInterrupt, MediaError, ExportError)):
        write_tags(movie, tags_for(movie), media.probe_raw(movie))
    assert sha256(movie) == digest
    assert folder_listing(movie.parent) == listing


def test_real_ffmpeg_failure_is_a_media_error_with_its_stderr(movie, monkeypatch):
    digest, listing = sha256(movie), folder_listing(movie.parent)
    real = tagwriter.ffmpeg_command
    monkeypatch.setattr(tagwriter, "ffmpeg_command", lambda *a: real(*a)[:-1] + ["-no_such_option", real(*a)[-1]])
    with pytest.raises(MediaError, match="ffmpeg could not copy the streams") as caught:
        write_tags(movie, tags_for(movie), media.probe_raw(movie))
    assert "no_such_option" in caught.value.stderr_tail
    assert sha256(movie) == digest
    assert folder_listing(movie.parent) == listing


def test_interrupt_during_verification(movie, monkeypatch):
    digest, listing = sha256(movie), folder_listing(movie.parent)

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(tagwriter, "verify", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_tags(movie, tags_for(movie), media.probe_raw(movie))
    assert sha256(movie) == digest
    assert folder_listing(movie.parent) == listing


def test_a_copy_that_lost_something_is_not_used(movie, monkeypatch):
    digest, listing = sha256(movie), folder_listing(movie.parent)
    real_probe = media.probe_raw

    def probe_without_subtitles(path):
        data = real_probe(path)
        if Path(path).name.startswith("."):  # the temporary copy
            data["streams"] = [s for s in data["streams"] if s["codec_type"] != "subtitle"]
        return data

    monkeypatch.setattr(media, "probe_raw", probe_without_subtitles)
    with pytest.raises(MediaError, match="not faithful"):
        write_tags(movie, tags_for(movie), real_probe(movie))
    assert sha256(movie) == digest
    assert folder_listing(movie.parent) == listing


def test_existing_output_is_refused(movie, tmp_path):
    target = tmp_path / f"taken{movie.suffix}"
    target.write_bytes(b"keep me")
    with pytest.raises(ExportError, match="already exists"):
        write_tags(movie, tags_for(movie), media.probe_raw(movie), output=target)
    assert target.read_bytes() == b"keep me"


# --- mkvpropedit --------------------------------------------------------------------------------------------

needs_mkvpropedit = pytest.mark.skipif(shutil.which("mkvpropedit") is None, reason="mkvtoolnix is not installed")


@needs_mkvpropedit
def test_mkvpropedit_edits_in_place_and_sets_language_ietf(tmp_path):
    movie = make_movie(tmp_path, "film.mkv")
    before, inode = ffprobe(movie), movie.stat().st_ino
    write_tags(movie, {1: NewTag("chi", "cmn"), 2: FRENCH}, media.probe_raw(movie), engine="mkvpropedit")
    assert movie.stat().st_ino == inode  # edited, not replaced
    assert_only_languages_changed(before, ffprobe(movie), {1: "chi", 2: "fre"})
    audio = [t for t in mkvmerge_tracks(movie) if t["type"] == "audio"]
    assert [(t["properties"]["language"], t["properties"]["language_ietf"]) for t in audio] == [
        ("chi", "cmn"),
        ("fre", "fr"),
    ]


@needs_mkvpropedit
def test_mkvpropedit_with_output_leaves_the_source_alone(tmp_path):
    movie = make_movie(tmp_path, "film.mkv")
    digest = sha256(movie)
    write_tags(movie, {2: GERMAN}, media.probe_raw(movie), output=tmp_path / "out.mkv", engine="mkvpropedit")
    assert sha256(movie) == digest
    assert languages(tmp_path / "out.mkv") == {1: None, 2: "ger"}


@needs_mkvpropedit
def test_a_file_made_by_mkvmerge_goes_through_the_ffmpeg_engine(tmp_path):
    # mkvmerge writes statistics tags and measures subtitle durations its own way: none of it is a difference.
    made_by_mkvmerge = tmp_path / "mkvmerge.mkv"
    subprocess.run(["mkvmerge", "-q", "-o", str(made_by_mkvmerge), str(make_movie(tmp_path, "film.mkv"))], check=True)
    before = ffprobe(made_by_mkvmerge)
    write_tags(made_by_mkvmerge, {1: GERMAN}, media.probe_raw(made_by_mkvmerge))
    assert languages(made_by_mkvmerge)[1] == "ger"
    assert len(ffprobe(made_by_mkvmerge)["streams"]) == len(before["streams"])


def test_mkvpropedit_refuses_mp4(tmp_path):
    movie = make_movie(tmp_path, "film.mp4")
    with pytest.raises(UsageError, match="Matroska files only"):
        write_tags(movie, {1: GERMAN}, media.probe_raw(movie), engine="mkvpropedit")


# --- containers ---------------------------------------------------------------------------------------------


def test_quicktime_and_other_containers_are_refused(tmp_path):
    mov = tmp_path / "film.mov"
    shutil.copyfile(make_movie(tmp_path, "film.mp4"), mov)
    with pytest.raises(MediaError, match="QuickTime"):
        tagwriter.container_of(mov, media.probe_raw(mov))
    wav = MEDIA / "tone.wav"
    with pytest.raises(MediaError, match="cannot tag"):
        tagwriter.container_of(wav, media.probe_raw(wav))


@pytest.mark.parametrize(("name", "muxer"), [("a.mkv", "matroska"), ("a.webm", "webm"), ("a.mka", "matroska")])
def test_output_muxer_follows_the_suffix_within_the_family(name, muxer, tmp_path):
    source = tagwriter.Container("matroska", "matroska")
    assert tagwriter.destination_container(Path("s.mkv"), source, tmp_path / name, False, "ffmpeg").muxer == muxer


# --- the comparison itself ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def probe(tmp_path_factory) -> dict:
    return media.probe_raw(make_movie(tmp_path_factory.mktemp("probe"), "film.mkv"))


def _changed(probe: dict, change) -> dict:
    altered = copy.deepcopy(probe)
    change(altered)
    return altered


def test_identical_probes_have_no_differences(probe):
    assert differences(probe, copy.deepcopy(probe), {}) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda p: p["streams"].pop(), "streams became"),
        (lambda p: p["streams"][1].update(codec_name="aac"), "codec_name"),
        (lambda p: p["streams"][1]["disposition"].update(default=1 - p["streams"][1]["disposition"]["default"]), "disposition"),
        (lambda p: p["streams"][1]["tags"].update(title="Other"), "tag title"),
        (lambda p: p["streams"][2]["tags"].update(language="eng"), "tag language"),
        (lambda p: p["streams"][1]["tags"].update(DURATION="00:00:03.000000000"), "duration"),
        (lambda p: p["chapters"][0].update(start_time="0.500000"), "chapter 1"),
        (lambda p: p["chapters"].pop(), "chapters became"),
        (lambda p: p["format"]["tags"].update(title="Renamed"), "global tag title"),
    ],
)  # fmt: skip
def test_differences_are_found(probe, change, expected):
    found = differences(probe, _changed(probe, change), {})
    assert found and expected in found[0]


def test_expected_language_and_muxer_tags_are_not_differences(probe):
    def tagged(p):
        p["streams"][1].setdefault("tags", {})["language"] = "ger"
        p["format"]["tags"]["ENCODER"] = "another muxer"
        p["streams"][1]["tags"]["DURATION"] = "00:00:04.050000000"  # within one audio frame
        p["streams"][3]["tags"]["DURATION"] = "00:00:02.500000000"  # subtitle durations depend on the muxer

    assert differences(probe, _changed(probe, tagged), {1: "ger"}) == []
    assert differences(probe, copy.deepcopy(probe), {1: "ger"})  # the tag was expected but is missing


def test_no_temporary_file_when_the_folder_cannot_be_written(tmp_path, monkeypatch):
    movie = make_movie(tmp_path, "film.mkv")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tagwriter.tempfile, "mkstemp", refuse)
    with pytest.raises(ExportError, match="Permission denied"):
        write_tags(movie, {1: GERMAN}, media.probe_raw(movie))
    assert os.path.exists(movie)
