"""The HTML picture: self-contained, and it draws in a real browser (headless Chromium)."""

from __future__ import annotations

import html.parser
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from langspan.timeline import Alternative, Span, Timeline
from langspan.writers import get_writer
from langspan.writers.html import HTMLWriter, page_data

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def timelines() -> list[Timeline]:
    def timeline(stream: int, spans: list[Span]) -> Timeline:
        return Timeline("in/</script><b>talk.mkv", stream, 600.0, "tiny", None, {}, tuple(spans), ())

    eng = (Alternative(0.91, "eng"), Alternative(0.04, "sco"))
    return [
        timeline(1, [Span(0, 20, "nonspeech", 1.0), Span(20, 200, "eng", 0.91, eng), Span(200, 600, "deu", 0.8)]),
        timeline(2, [Span(0, 300, "spa", 0.88), Span(300, 500, "eng", 0.7, eng), Span(500, 600, "und", 0.3)]),
    ]


def test_legend_shares_cover_speech_time_only():
    legend = {entry["language"]: entry for entry in page_data(timelines())["legend"]}
    speech = 180 + 400 + 300 + 200  # languages only: unknown and non-speech are shown as durations
    assert legend["eng"]["share"] == round(380 / speech, 4)
    assert legend["nonspeech"]["share"] is None and legend["nonspeech"]["seconds"] == 20
    assert legend["und"]["share"] is None and legend["und"]["seconds"] == 100
    assert sum(e["share"] for e in legend.values() if e["share"] is not None) == pytest.approx(1, abs=1e-3)
    assert next(iter(legend)) == "deu"  # most speech first: it gets the clearest colour
    assert len({e["colour"] for e in legend.values()}) == len(legend)


class _References(html.parser.HTMLParser):
    """Collects every attribute that could make a browser fetch something."""

    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.references += [f"{tag} {name}={value}" for name, value in attrs if name in ("src", "href", "srcset")]


def test_page_is_self_contained_and_escapes_the_file_name():
    page = HTMLWriter().dumps_all(timelines())
    parser = _References()
    parser.feed(page)
    assert parser.references == []
    assert not re.search(r"(https?:)?//[a-z]", page.replace("http://www.w3.org", ""), re.IGNORECASE)
    assert "@import" not in page and "url(" not in page
    assert page.count("</script>") == 2  # the file name's "</script>" is escaped inside the data
    data = json.loads(re.search(r'id="langspan-data">(.*?)</script>', page, re.DOTALL).group(1))
    assert data["tracks"][0]["spans"][1]["language"] == "eng"
    assert page.split("<title>")[1].startswith("script&gt;&lt;b&gt;talk.mkv · languages</title>")


def test_one_page_per_input_whatever_the_number_of_tracks(tmp_path):
    writer = get_writer("html")
    writer.dump_all(timelines(), tmp_path / "talk.html")
    page = (tmp_path / "talk.html").read_text(encoding="utf-8")
    assert [track["label"] for track in page_data(timelines())["tracks"]] == ["stream 1", "stream 2"]
    assert page == writer.dumps_all(timelines())
    assert writer.dumps(timelines()[0]) == writer.dumps_all(timelines()[:1])


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x1c"])
def test_a_line_separator_in_the_file_name_stays_inside_the_data(separator):
    # str.splitlines() breaks at these too; the page script would then hold a bare newline inside a JSON string.
    name = f"in/talk{separator}part two.mkv"
    timeline = Timeline(name, 1, 10.0, "tiny", None, {}, (Span(0, 10, "eng", 0.9),), ())
    page = HTMLWriter().dumps(timeline)
    assert page == HTMLWriter().dumps_all([timeline])
    data = json.loads(re.search(r'id="langspan-data">(.*?)</script>', page, re.DOTALL).group(1))
    assert data["title"] == f"talk{separator}part two.mkv"


def _render(page: Path, tmp_path: Path) -> str:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed here (make setup installs it where apt-get can)")
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=5000", "--dump-dom", page.as_uri(),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_chromium_draws_one_box_per_span_and_shows_details_on_click(tmp_path):
    page = HTMLWriter().dumps_all(timelines())
    # After the page's own script: click the second span of the first track, as a user would.
    click = "<script>document.querySelectorAll('.band')[0].children[1].click();</script>"
    path = tmp_path / "page.html"
    path.write_text(page.replace("</body>", click + "</body>"), encoding="utf-8")
    dom = _render(path, tmp_path)
    assert 'data-rendered="6"' in dom
    assert len(re.findall(r'<div class="span[ "]', dom)) == 6
    assert len(re.findall(r'class="span nonspeech"', dom)) == 1
    assert len(re.findall(r'class="track"', dom)) == 2
    details = dom.split('id="details"')[1].split("</div>")[0]
    assert "English (eng)" in details and "91%" in details and "Scots (sco) 4.0%" in details
    assert "00:20.000" in details and "03:20.000" in details
    legend = dom.split('id="legend"')[1].split("</ul>")[0]
    assert "German (deu)" in legend and "of speech" in legend
