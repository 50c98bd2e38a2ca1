"""A seeded sample of fuzzed media through the real command line (tests/fuzz_corpus.py says what and why).

Cases 0–159 of the 2,000 that ``benchmarks/fuzz.py`` runs (20 per container: MP3, M4A, MP4, two-track MKV, WAV,
FLAC, Ogg/Opus, MPEG-TS), and 16 ``tag --in-place`` cases on damaged MKV/MP4. Every case: exit 0 with outputs that
parse as timelines, or exit 1 with one stderr line and no output; no traceback, no hang, no temporary file, the
input untouched (``tag``: byte-identical after every refusal).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzz_corpus import Corpus, run_detect_case, run_tag_case, seed_files, warm_up

DETECT_CASES = 160
TAG_CASES = 16


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    seeds = seed_files(tmp_path_factory.mktemp("seeds"))
    warm_up(seeds, tmp_path_factory.mktemp("warm-up"))
    return Corpus(seeds)


@pytest.fixture(scope="module")
def tag_corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return Corpus(seed_files(tmp_path_factory.mktemp("tag-seeds"), tag=True), salt="langspan-fuzz-tag")


def test_the_mutator_is_seeded_and_damages_every_container(corpus: Corpus) -> None:
    again = Corpus(corpus.seeds)
    assert [again[i].data for i in range(16)] == [corpus[i].data for i in range(16)]  # same seed, same bytes
    assert len(corpus.order) == 8
    assert all(corpus[i].data != corpus.originals[corpus[i].container] for i in range(64))


@pytest.mark.parametrize("index", range(DETECT_CASES))
@pytest.mark.slow
def test_fuzzed_detect(corpus: Corpus, index: int, tmp_path: Path) -> None:
    case = corpus[index]
    outcome, _ = run_detect_case(case, tmp_path)
    assert outcome.problems == [], f"{case.id} ({case.mutation}): {outcome.problems}"


@pytest.mark.parametrize("index", range(TAG_CASES))
@pytest.mark.slow
def test_fuzzed_tag_in_place(tag_corpus: Corpus, index: int, tmp_path: Path) -> None:
    case = tag_corpus[index]
    outcome = run_tag_case(case, tmp_path)
    assert outcome.problems == [], f"{case.id} ({case.mutation}): {outcome.problems}"


@pytest.mark.slow
def test_the_sample_reaches_both_outcomes(corpus: Corpus, tmp_path: Path) -> None:
    # A harness that refused everything (or accepted everything) would pass the rules above vacuously.
    kinds = {run_detect_case(corpus[index], tmp_path / str(index))[0].kind for index in (0, 1, 2, 3, 8, 9, 10, 11)}
    assert kinds == {"ok", "refused"}
