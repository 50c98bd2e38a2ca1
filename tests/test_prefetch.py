import threading

import pytest

from langspan.frontend.prefetch import prefetch


def test_items_arrive_in_order_and_complete():
    assert list(prefetch(iter(range(100)), depth=3)) == list(range(100))


def test_an_error_in_the_source_is_raised_in_the_consumer_after_the_items_before_it():
    def source():
        yield 1
        yield 2
        raise ValueError("decoder broke")

    seen: list[int] = []
    with pytest.raises(ValueError, match="decoder broke"):
        seen.extend(prefetch(source(), depth=2))  # extend keeps what arrived before the error
    assert seen == [1, 2]


def test_the_producer_runs_ahead_only_by_depth():
    produced = []
    ahead = threading.Event()

    def source():
        for i in range(50):
            produced.append(i)
            if i >= 5:
                ahead.set()
            yield i

    items = prefetch(source(), depth=2)
    assert next(items) == 0
    ahead.wait(timeout=1.0)
    # 1 consumed + 2 queued + 1 waiting in the producer's hand: never the whole stream.
    assert len(produced) <= 4
    items.close()


def test_stopping_early_closes_the_source_in_its_thread():
    closed = threading.Event()

    def source():
        try:
            yield from range(1000)
        finally:
            closed.set()

    items = prefetch(source(), depth=2)
    assert [next(items), next(items)] == [0, 1]
    items.close()
    assert closed.wait(timeout=2.0)


def test_depth_must_be_positive():
    with pytest.raises(ValueError, match="depth must be at least 1, got 0"):
        list(prefetch([1], depth=0))
