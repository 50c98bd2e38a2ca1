"""A self-contained HTML picture of the timelines of one input: one band per audio track, coloured by language.

The page carries its data as JSON and draws itself with a few lines of inline script: no network, no external
assets, so it can be mailed, archived or opened offline. Hovering a span shows its start, end, confidence and
alternatives; clicking (or focusing it with the keyboard) pins those details below the bands.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..languages import NONSPEECH, UNKNOWN, language_name
from ..timeline import Timeline
from .base import LONE_SURROGATE, Writer, json_text, split_lines

# Colour-blind-friendly first (Okabe–Ito, then Tableau 10): the languages with the most speech get the clearest
# colours; a page with more languages than this falls back to hues derived from the code, stable across pages.
PALETTE = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
    "#4E79A7", "#F28E2B", "#59A14F", "#B07AA1", "#9C755F", "#EDC948", "#76B7B2",
)  # fmt: skip
SPECIAL_COLOURS = {NONSPEECH: "#d9d9d9", UNKNOWN: "#7f7f7f"}


class HTMLWriter(Writer):
    """One page per input with every audio track of it (``combines_tracks``)."""

    name = "html"
    extension = "html"
    combines_tracks = True

    def iter_lines(self, timeline: Timeline) -> Iterator[str]:
        yield from split_lines(self.dumps_all([timeline]))

    def dumps_all(self, timelines: Sequence[Timeline]) -> str:
        data = page_data(timelines)
        # "<" escaped so no string in the data (a file name, say) can close the script element early.
        payload = json_text(data).replace("<", "\\u003c")
        title = html.escape(LONE_SURROGATE.sub("\ufffd", data["title"]))  # an undecodable file name stays writable
        return PAGE.replace("__TITLE__", title).replace("__DATA__", payload)


def page_data(timelines: Sequence[Timeline]) -> dict[str, Any]:
    """What the page script draws: tracks of spans, and a legend with each language's share of speech time."""
    seconds: dict[str, float] = {}  # every label, non-speech and unknown included
    speech: dict[str, float] = {}  # languages only: what the shares are of (as Timeline.speech_seconds)
    for timeline in timelines:
        for span in timeline.spans:
            seconds[span.language] = seconds.get(span.language, 0.0) + span.duration
        for language, duration in timeline.speech_seconds().items():
            speech[language] = speech.get(language, 0.0) + duration
    speech_total = sum(speech.values())
    order = sorted(seconds, key=lambda language: (language in SPECIAL_COLOURS, -seconds[language], language))
    colours = language_colours(order)
    sources = list(dict.fromkeys(timeline.source for timeline in timelines))
    return {
        "title": ", ".join(Path(source).name for source in sources) or "langspan",
        "duration": max((timeline.duration for timeline in timelines), default=0.0),
        "tracks": [
            {
                "label": _track_label(timeline, several_sources=len(sources) > 1),
                "duration": round(timeline.duration, 3),
                "spans": [span.to_dict() for span in timeline.spans],
            }
            for timeline in timelines
        ],
        "legend": [
            {
                "language": language,
                "name": language_name(language),
                "seconds": round(seconds[language], 3),
                "share": round(speech[language] / speech_total, 4) if language in speech and speech_total else None,
                "colour": colours[language],
            }
            for language in order
        ],
        "colours": colours,
        "model": timelines[0].model if timelines else "",
    }


def language_colours(languages: Sequence[str]) -> dict[str, str]:
    colours: dict[str, str] = {}
    palette = iter(PALETTE)
    for language in languages:
        if language in SPECIAL_COLOURS:
            colours[language] = SPECIAL_COLOURS[language]
        else:
            colours[language] = next(palette, None) or _hue_from_code(language)
    return colours


def _hue_from_code(language: str) -> str:
    hue = int(hashlib.sha256(language.encode()).hexdigest()[:4], 16) % 360
    return f"hsl({hue}, 55%, 50%)"


def _track_label(timeline: Timeline, several_sources: bool) -> str:
    track = "audio" if timeline.stream is None else f"stream {timeline.stream}"
    return f"{Path(timeline.source).name} · {track}" if several_sources else track


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="langspan">
<title>__TITLE__ · languages</title>
<style>
  body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222; }
  h1 { font-size: 18px; margin: 0 0 4px; }
  .meta { color: #666; margin-bottom: 16px; }
  .track { display: grid; grid-template-columns: 110px 1fr; align-items: center; margin: 6px 0; }
  .track-label { color: #444; font-size: 13px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .band { position: relative; height: 34px; background: #f4f4f4; border-radius: 3px; }
  .span { position: absolute; top: 0; bottom: 0; cursor: pointer; box-sizing: border-box;
          border-right: 1px solid #fff; overflow: hidden; white-space: nowrap; padding-left: 5px;
          font-size: 12px; line-height: 34px; color: #fff; text-shadow: 0 0 2px #000a; }
  .span:hover, .span:focus, .span.pinned { outline: 2px solid #222; outline-offset: -2px; z-index: 1; }
  .span.nonspeech { background-image: repeating-linear-gradient(45deg, transparent 0 4px, #fff8 4px 8px); }
  .axis { position: relative; height: 22px; margin-left: 110px; border-top: 1px solid #999; }
  .tick { position: absolute; top: 0; font-size: 11px; color: #666; transform: translateX(-50%); }
  .tick::before { content: ""; position: absolute; left: 50%; top: 0; height: 5px; border-left: 1px solid #999; }
  .tick span { position: relative; top: 6px; }
  .legend { display: flex; flex-wrap: wrap; gap: 6px 18px; margin: 18px 0; padding: 0; list-style: none; }
  .legend li { display: flex; align-items: center; gap: 6px; }
  .swatch { width: 14px; height: 14px; border-radius: 2px; display: inline-block; }
  .share { color: #666; }
  #tooltip { position: fixed; pointer-events: none; background: #222; color: #fff; padding: 6px 8px;
             border-radius: 4px; font-size: 12px; display: none; max-width: 320px; z-index: 2; }
  #details { min-height: 3em; padding: 8px 12px; background: #fafafa; border: 1px solid #e4e4e4;
             border-radius: 4px; }
  #details table { border-collapse: collapse; }
  #details td { padding: 1px 10px 1px 0; }
</style>
</head>
<body>
<h1 id="title"></h1>
<div class="meta" id="meta"></div>
<div id="tracks"></div>
<div class="axis" id="axis"></div>
<ul class="legend" id="legend"></ul>
<div id="details">Hover a span for details; click it to pin them here.</div>
<div id="tooltip"></div>
<script type="application/json" id="langspan-data">__DATA__</script>
<script>
"use strict";
const data = JSON.parse(document.getElementById("langspan-data").textContent);
const total = data.duration || 1;

function clock(seconds) {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3600000), m = Math.floor(ms / 60000) % 60, s = (ms % 60000) / 1000;
  const mmss = String(m).padStart(2, "0") + ":" + s.toFixed(3).padStart(6, "0");
  return h ? h + ":" + mmss : mmss;
}
function percent(value) { return (100 * value).toFixed(value < 0.1 ? 1 : 0) + "%"; }
function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
function details(span) {
  const table = element("table");
  const rows = [["language", span.name + " (" + span.language + ")"], ["start", clock(span.start)],
                ["end", clock(span.end)], ["duration", (span.end - span.start).toFixed(3) + " s"],
                ["confidence", percent(span.confidence)]];
  for (const alt of span.alternatives) {
    rows.push(["alternative", alt.name + " (" + alt.language + ") " + percent(alt.probability)]);
  }
  for (const [key, value] of rows) {
    const row = table.insertRow();
    row.insertCell().textContent = key;
    row.insertCell().textContent = value;
  }
  return table;
}

document.getElementById("title").textContent = data.title;
document.getElementById("meta").textContent =
  clock(data.duration) + " · " + data.tracks.length + (data.tracks.length === 1 ? " audio track" : " audio tracks") +
  " · model " + data.model;

const tooltip = document.getElementById("tooltip");
const panel = document.getElementById("details");
let pinned = null;
const tracks = document.getElementById("tracks");
for (const track of data.tracks) {
  const row = element("div", "track");
  row.appendChild(element("div", "track-label", track.label));
  const band = element("div", "band");
  for (const span of track.spans) {
    const box = element("div", "span" + (span.language === "nonspeech" ? " nonspeech" : ""));
    box.style.left = (100 * span.start / total) + "%";
    box.style.width = (100 * (span.end - span.start) / total) + "%";
    box.style.background = data.colours[span.language];
    if (span.language !== "nonspeech") box.textContent = span.language;  // clipped where the span is narrow
    box.tabIndex = 0;
    box.dataset.language = span.language;
    box.setAttribute("aria-label", span.name + " " + clock(span.start) + " to " + clock(span.end));
    box.addEventListener("mousemove", (event) => {
      tooltip.replaceChildren(details(span));
      tooltip.style.display = "block";
      tooltip.style.left = Math.min(event.clientX + 12, window.innerWidth - 330) + "px";
      tooltip.style.top = (event.clientY + 12) + "px";
    });
    box.addEventListener("mouseleave", () => { tooltip.style.display = "none"; });
    const pin = () => {
      if (pinned) pinned.classList.remove("pinned");
      pinned = box;
      box.classList.add("pinned");
      panel.replaceChildren(details(span));
    };
    box.addEventListener("click", pin);
    box.addEventListener("focus", pin);
    band.appendChild(box);
  }
  row.appendChild(band);
  tracks.appendChild(row);
}

// Axis ticks at a round step giving about eight labels, whatever the length.
const axis = document.getElementById("axis");
const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
const step = steps.find((s) => total / s <= 8) || 14400;
for (let t = 0; t <= total + 1e-9; t += step) {
  const tick = element("div", "tick");
  tick.style.left = (100 * t / total) + "%";
  tick.appendChild(element("span", "", clock(t).replace(/\\.000$/, "")));
  axis.appendChild(tick);
}

const legend = document.getElementById("legend");
for (const entry of data.legend) {
  const item = element("li");
  const swatch = element("span", "swatch");
  swatch.style.background = entry.colour;
  item.appendChild(swatch);
  item.appendChild(element("span", "", entry.name + " (" + entry.language + ")"));
  const share = entry.share === null
    ? clock(entry.seconds).replace(/\\.000$/, "")
    : percent(entry.share) + " of speech";
  item.appendChild(element("span", "share", share));
  legend.appendChild(item);
}
document.body.dataset.rendered = document.querySelectorAll(".span").length;
</script>
</body>
</html>
"""
