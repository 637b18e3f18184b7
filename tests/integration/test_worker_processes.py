"""Worker processes driven from the event loop (``watcher.processes``), with real processes and
pipes: results come back whole and to the right caller, errors come back as raised, and a
process that dies fails only its own pending calls, never leaves one waiting."""

from __future__ import annotations

import asyncio
import operator
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool

import pytest

from tests.conftest import process_alive
from watcher.processes import RemoteTraceback, WorkerProcesses


@pytest.fixture
def two() -> Iterator[WorkerProcesses]:
    processes = WorkerProcesses(2)
    processes.wait_ready()
    try:
        yield processes
    finally:
        processes.shutdown()


def test_many_calls_at_once_each_get_their_own_result_even_when_large(
    two: WorkerProcesses,
) -> None:
    # bytes(n) is n zero bytes: results of 0 B to 3 MiB, far past a pipe's 64 KiB buffer,
    # and arguments as large going the other way
    sizes = [0, 1, 5, 4096, 65_535, 65_536, 70_000, 1_000_000, 3 * 1024 * 1024] * 4

    async def go() -> tuple[list[int], list[int]]:
        made = await asyncio.gather(*(two.run(bytes, n) for n in sizes))
        counted = await asyncio.gather(*(two.run(len, b"x" * n) for n in sizes))
        return [len(b) for b in made], list(counted)

    made, counted = asyncio.run(go())
    assert made == sizes
    assert counted == sizes


def test_calls_are_spread_over_the_processes(two: WorkerProcesses) -> None:
    async def go() -> set[int]:
        return set(await asyncio.gather(*(two.run(os.getpid) for _ in range(20))))

    assert asyncio.run(go()) == set(two.pids)


def test_an_exception_in_the_process_is_raised_in_the_caller(two: WorkerProcesses) -> None:
    async def go() -> float:
        with pytest.raises(ZeroDivisionError) as raised:
            await two.run(operator.truediv, 1, 0)
        # where it happened in the process, as ProcessPoolExecutor shows it
        assert isinstance(raised.value.__cause__, RemoteTraceback)
        assert "ZeroDivisionError: division by zero" in str(raised.value.__cause__)
        # an exception no future can hold arrives as a RuntimeError; calls beside it go on
        stop, four = await asyncio.gather(
            asyncio.wait_for(two.run(next, iter([])), 10),
            asyncio.wait_for(two.run(operator.add, 2, 2), 10),
            return_exceptions=True,
        )
        assert isinstance(stop, RuntimeError) and "StopIteration" in str(stop)
        assert four == 4
        return float(await two.run(operator.truediv, 1, 4))  # the process lives on

    assert asyncio.run(go()) == 0.25


def test_a_slow_call_holds_up_at_most_one_other(two: WorkerProcesses) -> None:
    """Calls go to a process as it becomes free, not all to one queue fixed when they are
    made: a slow feed does not hold up the others behind it."""

    async def go() -> list[float]:
        loop = asyncio.get_running_loop()
        started = loop.time()

        async def short(i: int) -> float:
            await two.run(operator.add, i, i)
            return loop.time() - started

        slow = asyncio.ensure_future(two.run(time.sleep, 2.0))
        times = await asyncio.gather(*(short(i) for i in range(8)))
        await slow
        return times

    times = asyncio.run(go())
    assert sum(t >= 1.5 for t in times) <= 1, times


def test_a_result_that_cannot_be_sent_back_is_an_error_not_a_wait(two: WorkerProcesses) -> None:
    async def go() -> int:
        with pytest.raises(RuntimeError, match="unpicklable result"):
            await asyncio.wait_for(two.run(threading.Lock), 10)  # a lock does not pickle
        return int(await two.run(operator.add, 2, 2))

    assert asyncio.run(go()) == 4


def test_the_processes_serve_one_event_loop_after_another(two: WorkerProcesses) -> None:
    for n in (3, 4):
        assert asyncio.run(two.run(operator.mul, n, 10)) == n * 10


def test_a_loop_that_ends_mid_write_leaves_the_next_loop_working() -> None:
    processes = WorkerProcesses(1)  # one process: the next call must follow the unfinished one
    try:

        async def give_up() -> None:
            # far more than a pipe holds: the loop ends with most of it not yet written
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(processes.run(len, b"x" * (16 << 20)), 0.001)

        asyncio.run(give_up())
        assert asyncio.run(asyncio.wait_for(processes.run(operator.add, 2, 3), 20)) == 5
    finally:
        processes.shutdown()


def test_shutdown_fails_the_calls_still_waiting() -> None:
    processes = WorkerProcesses(1)

    async def go() -> None:
        slow = asyncio.ensure_future(processes.run(time.sleep, 0.5))
        behind = asyncio.ensure_future(processes.run(operator.add, 1, 1))
        await asyncio.sleep(0.1)
        processes.shutdown()
        for call in (slow, behind):
            with pytest.raises(BrokenProcessPool):
                await asyncio.wait_for(call, 10)

    asyncio.run(go())


def test_a_process_that_dies_fails_only_its_pending_calls(two: WorkerProcesses) -> None:
    async def go() -> tuple[list[object], int]:
        loop = asyncio.get_running_loop()
        # one slow call on each process, then one process killed while they run
        pids = await asyncio.gather(*(two.run(os.getpid) for _ in range(2)))
        slow = [asyncio.ensure_future(two.run(time.sleep, 1.0)) for _ in range(2)]
        await asyncio.sleep(0.2)
        os.kill(pids[0], signal.SIGKILL)
        started = loop.time()
        outcomes = await asyncio.gather(*slow, return_exceptions=True)
        assert loop.time() - started < 10  # nothing waits forever on the dead process
        after = await two.run(os.getpid)  # the survivor takes the next call
        return outcomes, after

    outcomes, after = asyncio.run(go())
    assert sum(isinstance(o, BrokenProcessPool) for o in outcomes) == 1
    assert None in outcomes  # the survivor's sleep returned
    assert after in two.pids and not process_alive(next(p for p in two.pids if p != after))


def test_when_every_process_has_died_a_call_fails_at_once(two: WorkerProcesses) -> None:
    for pid in two.pids:
        os.kill(pid, signal.SIGKILL)

    async def go() -> None:
        for _ in range(3):  # each call finds the dead processes, none hangs
            with pytest.raises(BrokenProcessPool):
                await asyncio.wait_for(two.run(os.getpid), 10)

    asyncio.run(go())


def test_shutdown_ends_the_processes() -> None:
    processes = WorkerProcesses(2)
    processes.wait_ready()
    pids = processes.pids
    assert all(process_alive(p) for p in pids)
    processes.shutdown()
    assert not any(process_alive(p) for p in pids)
