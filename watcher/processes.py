"""Worker processes driven from the event loop: a call goes down a pipe, its result comes back.

Why not ``concurrent.futures.ProcessPoolExecutor``: it hands every call to a feeder thread and
every result to a manager thread, each of which then wakes the event loop. In a first round
(thousands of feeds, one call each) those hand-offs cost the main process ~250-400 us of CPU
per call, more than unpickling the call's result, and they keep the interpreter lock passing
between four threads. Here the event loop writes each call to its worker's pipe and reads the
results when the pipe is readable (``loop.add_reader``): no thread in between.

What it keeps of the executor's contract: calls run in order per process, a result or the
exception raised comes back to the caller, and a process that dies (killed, out of memory)
fails its pending calls with ``BrokenProcessPool`` instead of leaving them waiting forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import pickle
import signal
import struct
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection
from typing import Any

# A frame is a message of multiprocessing.connection.Connection: a big-endian int32 length
# (-1 for a body of 2 GiB or more, whose length then follows as uint64), then the body.
_SHORT = struct.Struct("!i")
_LONG = struct.Struct("!Q")
_READ = 1 << 20


def _frame(data: bytes) -> bytes:
    if len(data) > 0x7FFFFFFF:
        return _SHORT.pack(-1) + _LONG.pack(len(data))
    return _SHORT.pack(len(data))


def _serve(
    calls: Connection,
    results: Connection,
    initializer: Callable[..., object] | None,
    initargs: tuple[Any, ...],
) -> None:
    """A worker: runs the calls it reads, one at a time, until its pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if initializer is not None:
        initializer(*initargs)
    while True:
        try:
            data = calls.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            fn, args = pickle.loads(data)
            outcome: tuple[bool, object, str] = (True, fn(*args), "")
        except BaseException as exc:  # raised again in the caller, as an executor does
            outcome = (False, exc, traceback.format_exc())
        try:
            payload = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            failed = RuntimeError(f"unpicklable result: {exc!r}")
            payload = pickle.dumps((False, failed, traceback.format_exc()))
        try:
            results.send_bytes(payload)
        except OSError:
            return  # the parent is gone


class RemoteTraceback(Exception):
    """Where in the worker process an exception raised in the caller came from (its
    ``__cause__``), as ``ProcessPoolExecutor`` shows it."""

    def __str__(self) -> str:
        return f"\n{self.args[0]}"


# Calls in flight per process: the one it runs and the next, already in its pipe, so that it
# never waits for the parent between two calls. A call is given to a process only then (the
# rest wait here, in order), so a slow call holds up at most one other.
_DEPTH = 2


class _Worker:
    """One process, its two pipes, and the calls sent to it not yet answered, in order."""

    def __init__(self, process: Any, calls: Connection, results: Connection) -> None:
        self.process = process
        self.calls = calls
        self.results = results
        self.pending: deque[asyncio.Future[Any]] = deque()
        self.inbox = bytearray()  # bytes read, not yet a whole frame
        self.outbox = bytearray()  # frames not yet written (the pipe was full)
        self.alive = True  # False once it has died or been shut down
        self.writable = True  # False once a write found its pipe broken


class WorkerProcesses:
    """``workers`` processes, started now (``forkserver``), each running ``initializer(*initargs)``
    once; ``await run(fn, *args)`` from a running event loop runs ``fn(*args)`` in one of them,
    calls taken in order as the processes become free. ``fn`` and its arguments must pickle
    (a module-level function).

    Started with ``forkserver``: a fork of a process running threads (aiohttp's resolver, the
    store's workers) can inherit a held lock and hang."""

    def __init__(
        self,
        workers: int,
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        context = multiprocessing.get_context("forkserver")
        self._workers: list[_Worker] = []
        self._waiting: deque[tuple[asyncio.Future[Any], bytes]] = deque()  # not yet given out
        self._loop: asyncio.AbstractEventLoop | None = None
        for _ in range(max(1, workers)):
            calls_read, calls_write = context.Pipe(duplex=False)
            results_read, results_write = context.Pipe(duplex=False)
            process = context.Process(
                target=_serve,
                args=(calls_read, results_write, initializer, initargs),
                daemon=True,
                name="watcher-parse",
            )
            process.start()
            calls_read.close()  # the child's ends: the child alone holds them now
            results_write.close()
            self._workers.append(_Worker(process, calls_write, results_read))

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process.pid is not None]

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until every process has started and run its initializer (a bench starts its
        clock after this). Only before the first ``run``: it reads the pipes itself."""
        if self._loop is not None:
            raise RuntimeError("wait_ready() is for before the first run()")
        for worker in self._workers:
            worker.calls.send_bytes(pickle.dumps((os.getpid, ())))
            if not worker.results.poll(timeout):
                raise TimeoutError("a worker process did not start")
            worker.results.recv_bytes()

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._attach(loop)
        if not any(w.alive for w in self._workers):
            raise BrokenProcessPool("every worker process has died")
        future: asyncio.Future[Any] = loop.create_future()
        self._waiting.append((future, pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)))
        self._dispatch()
        return await future

    def _dispatch(self) -> None:
        """Give waiting calls to processes with room, an idle one first."""
        while self._waiting:
            ready = [w for w in self._workers if w.alive and w.writable]
            if not ready:
                self._fail_waiting(BrokenProcessPool("every worker process has died"))
                return
            worker = min(ready, key=lambda w: len(w.pending))
            if len(worker.pending) >= _DEPTH:
                return
            future, data = self._waiting.popleft()
            if future.done():  # its caller was cancelled while it waited
                continue
            worker.pending.append(future)
            queued = bool(worker.outbox)
            worker.outbox += _frame(data)
            worker.outbox += data
            if not queued:  # else the writer callback is already waiting for room
                self._write(worker)

    def _fail_waiting(self, error: BaseException) -> None:
        while self._waiting:
            future, _ = self._waiting.popleft()
            _settle(future, False, error)

    def _attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Watch the pipes from ``loop`` (a process may serve several ``asyncio.run``): calls
        still to be written, or waiting, go on from here."""
        self._detach()
        self._loop = loop
        for worker in self._workers:
            if worker.alive:
                os.set_blocking(worker.results.fileno(), False)
                os.set_blocking(worker.calls.fileno(), False)
                loop.add_reader(worker.results.fileno(), self._read, worker)
                if worker.outbox and worker.writable:
                    self._write(worker)
        self._dispatch()

    def _detach(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None or loop.is_closed():
            return
        for worker in self._workers:
            if worker.alive:
                loop.remove_reader(worker.results.fileno())
                loop.remove_writer(worker.calls.fileno())

    def _write(self, worker: _Worker) -> None:
        assert self._loop is not None
        try:
            written = os.write(worker.calls.fileno(), worker.outbox)
        except BlockingIOError:
            written = 0
        except OSError:
            # A broken pipe: the process is gone. What it answered before may still be in
            # its result pipe: read until its end, which fails the rest (``_lost``).
            worker.writable = False
            worker.outbox.clear()
            self._dispatch()
            return
        del worker.outbox[:written]
        if worker.outbox:
            self._loop.add_writer(worker.calls.fileno(), self._writable, worker)

    def _writable(self, worker: _Worker) -> None:
        assert self._loop is not None
        self._loop.remove_writer(worker.calls.fileno())
        if worker.alive and worker.writable:
            self._write(worker)

    def _read(self, worker: _Worker) -> None:
        try:
            chunk = os.read(worker.results.fileno(), _READ)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:  # end of file: the process died
            self._lost(worker)
            return
        inbox = worker.inbox
        inbox += chunk
        while len(inbox) >= 4:
            (size,) = _SHORT.unpack_from(inbox)
            head = 4
            if size == -1:
                if len(inbox) < 12:
                    break
                (size,) = _LONG.unpack_from(inbox, 4)
                head = 12
            if len(inbox) < head + size:
                break
            try:
                ok, value, where = pickle.loads(inbox[head : head + size])
            except Exception as exc:  # (a result this process cannot unpickle) the caller's
                ok, value, where = False, exc, ""
            del inbox[: head + size]
            if not ok and where:
                value.__cause__ = RemoteTraceback(where)
            if worker.pending:  # (always: a process answers only what it was sent)
                _settle(worker.pending.popleft(), ok, value)
        self._dispatch()

    def _lost(self, worker: _Worker) -> None:
        """A process died: its pending calls fail, the others go on."""
        if not worker.alive:
            return
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(worker.results.fileno())
            self._loop.remove_writer(worker.calls.fileno())
        worker.alive = False
        code = worker.process.exitcode  # None until the process has been reaped
        why = "a worker process died" + (f" (exit code {code})" if code is not None else "")
        while worker.pending:
            _settle(worker.pending.popleft(), False, BrokenProcessPool(why))
        worker.calls.close()
        worker.results.close()
        self._dispatch()

    def shutdown(self) -> None:
        """Close the pipes (each process ends when it has read them out) and wait for the
        processes; one that does not end within a few seconds is terminated. Calls not
        answered yet fail with ``BrokenProcessPool``."""
        self._detach()
        gone = BrokenProcessPool("the worker processes were shut down")
        self._fail_waiting(gone)
        for worker in self._workers:
            while worker.pending:
                _settle(worker.pending.popleft(), False, gone)
            if worker.alive:
                worker.alive = False
                worker.calls.close()
        for worker in self._workers:
            worker.process.join(5)
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join(5)
            with contextlib.suppress(OSError):
                worker.results.close()


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    """Give a call its result or its exception, if its caller still waits. An exception a
    future cannot hold (``StopIteration``) arrives as a RuntimeError; a future whose event
    loop has closed is left as it is."""
    if future.done():  # its caller was cancelled
        return
    try:
        if ok:
            future.set_result(value)
        elif isinstance(value, StopIteration):
            error = RuntimeError(f"the call raised StopIteration{value.args!r}")
            error.__cause__ = value.__cause__
            future.set_exception(error)
        else:
            future.set_exception(value)
    except RuntimeError:  # its event loop is closed: nobody is waiting for it
        pass
