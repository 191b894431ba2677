"""The worker pool of one run: started only when there is parallel work, shared by both passes,
results in order with a bounded window, and a crashed worker costs one file, not the report."""

from __future__ import annotations

from collections import deque
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Optional, Sequence, TypeVar, Union

from scanner.estate.options import ScanOptions

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

T = TypeVar("T")
# Set when a pool was stopped by terminating its workers (Ctrl-C): a worker killed while it wrote a
# result leaves the pool's result pipe half-written, and the interpreter's exit would wait for the
# pool's manager thread forever; the command line then ends the process itself (scanner.cli.main).
STOPPED_WORKERS = False


class LazyPool:
    """The worker pool of one scan, started only when there is parallel work, shared by both passes."""

    def __init__(self, root: Path, options: ScanOptions, initializer: Callable[[Path, ScanOptions], None]) -> None:
        self.root = root
        self.options = options
        self.initializer = initializer  # sets up each worker process (scanner.estate.worker.init_worker)
        self._pool: Optional[ProcessPoolExecutor] = None

    def get(self, items: int) -> Optional["LazyPool"]:
        if self.options.jobs <= 1 or items < 2:
            return None
        return self

    def executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            from concurrent.futures import ProcessPoolExecutor  # only a scan with parallel work pays for it

            self._pool = ProcessPoolExecutor(max_workers=self.options.jobs, initializer=self.initializer, initargs=(self.root, self.options))
        return self._pool

    def submit(self, work: Callable[..., T], *args: object) -> "Future[T]":
        """``executor().submit`` with SIGINT blocked while it may fork a worker: a worker starts with Ctrl-C
        blocked and ignores it from its initializer on (scanner.estate.worker.init_worker), so Ctrl-C
        reaches the parent alone, which stops the pool (a worker interrupted half-way through its
        start hung the pool, and each printed a traceback)."""
        import signal

        blocked = hasattr(signal, "pthread_sigmask")
        if blocked:
            previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            return self.executor().submit(work, *args)
        finally:
            if blocked:
                signal.pthread_sigmask(signal.SIG_SETMASK, previous)

    def reset(self) -> None:
        """Drop a pool whose worker died (crash, out of memory, killed): the next submit starts a new one."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "LazyPool":
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        if self._pool is None:
            return
        if kind is None:
            self._pool.shutdown()
            return
        # Interrupted (Ctrl-C) or failing: stop at once rather than finish the chunks in flight.
        global STOPPED_WORKERS
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        STOPPED_WORKERS = STOPPED_WORKERS or bool(processes)
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            try:
                process.terminate()
            except (OSError, AttributeError):
                pass
        for process in processes:
            try:
                process.join(timeout=5)
            except (OSError, AttributeError, AssertionError):
                pass
        self._pool = None


def in_order(
    pool: LazyPool,
    work: Callable[..., list[T]],
    items: Union[Sequence[object], Iterator[object]],
    jobs: int,
    *args: object,
    largest: int = 32,
    crashed: Optional[Callable[[object, str], T]] = None,
) -> Iterator[T]:
    """Results of ``work`` over chunks of ``items``, in order, with a bounded window in flight:
    memory stays flat however large the tree, and the output does not depend on --jobs.

    When a worker dies (a crash in a native library, the OOM killer, a kill) every chunk in flight
    fails; each of its items is then run alone in a fresh pool, and an item that kills its worker
    again becomes ``crashed(item, reason)`` (an error entry) instead of a lost report.
    """
    from concurrent.futures.process import BrokenProcessPool

    # An iterator (files streamed from discovery) is cut into chunks of `largest`; a list of known
    # length into smaller chunks when it is short, so that every worker gets a share.
    size = max(1, min(largest, len(items) // (jobs * 8) or 1)) if isinstance(items, Sequence) else largest
    window: deque[tuple[list[object], Optional[Future[list[T]]]]] = deque()

    def submit(chunk: list[object]) -> Optional[Future[list[T]]]:
        try:
            return pool.submit(work, chunk, *args)
        except (BrokenProcessPool, RuntimeError):
            pool.reset()
            return None  # collected one item at a time

    def alone(item: object) -> list[T]:
        try:
            return pool.submit(work, [item], *args).result()
        except BrokenProcessPool:
            pool.reset()
            reason = "the analysis process crashed or was killed on this file (out of memory?)"
        except Exception as exc:  # noqa: BLE001 - one file's failure is that file's error entry
            reason = f"internal error while analysing this file ({type(exc).__name__}); please report it"
        if crashed is None:
            raise RuntimeError(reason)
        return [crashed(item, reason)]

    def collect(chunk: list[object], future: Optional[Future[list[T]]]) -> list[T]:
        if future is not None:
            try:
                return future.result()
            except BrokenProcessPool:
                pool.reset()
            except Exception:  # noqa: BLE001 - retried item by item below
                pass
        out: list[T] = []
        for item in chunk:
            out.extend(alone(item))
        return out

    source = iter(items)
    while True:
        chunk = list(islice(source, size))
        if not chunk:
            break
        window.append((chunk, submit(chunk)))
        if len(window) >= jobs * 4:
            yield from collect(*window.popleft())
    while window:
        yield from collect(*window.popleft())
