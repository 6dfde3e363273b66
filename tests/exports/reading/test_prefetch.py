"""Read-ahead in a thread: same items in order, errors reach the consumer, early stop stops it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from exports.reading.prefetch import prefetched


def test_items_arrive_in_order_and_the_source_runs_in_another_thread() -> None:
    threads: set[str] = set()

    def source() -> Iterator[int]:
        for number in range(50):
            threads.add(threading.current_thread().name)
            yield number

    assert list(prefetched(source)) == list(range(50))
    assert threads == {"pks-source-reader"}


def test_an_error_in_the_source_is_raised_to_the_consumer_after_the_items_before_it() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise ConnectionError("source dropped")

    seen = []
    with pytest.raises(ConnectionError, match="source dropped"):
        for item in prefetched(source):
            seen.append(item)
    assert seen == [1, 2]


def test_a_consumer_that_stops_early_closes_the_source_in_its_thread() -> None:
    closed_in: list[str] = []

    def source() -> Iterator[int]:
        try:
            yield from range(1_000_000)
        finally:
            closed_in.append(threading.current_thread().name)

    items = prefetched(source, depth=2)
    assert next(items) == 0
    items.close()
    assert closed_in == ["pks-source-reader"]


def test_the_reader_starts_before_the_first_item_is_asked_for_and_close_stops_it() -> None:
    started = threading.Event()
    closed = threading.Event()

    def source() -> Iterator[int]:
        started.set()
        try:
            yield from range(1_000_000)
        finally:
            closed.set()

    items = prefetched(source)
    assert started.wait(timeout=10)  # the query runs while the caller still prepares
    items.close()
    assert closed.is_set()
    assert list(items) == []
