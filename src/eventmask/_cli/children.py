"""The worker processes of ``eventmask serve``, supervised: a dead one is started again.

Workers run as child processes, not threads: in one interpreter they would
take the GIL from the event loop that acknowledges deliveries, which showed
as a p99 of about 90 ms under load instead of about 25.

A worker that dies (SIGKILL, ``os._exit`` in a handler, the OOM killer) is
restarted at once the first time, then after 1, 2, 4 ... up to 60 seconds
while it keeps dying within a minute of its start, and every death is
logged at ERROR (docs/receiver.md, "Operating it").  Deliveries are still
acknowledged meanwhile, so `status` tells /health and the metrics how
many workers run against how many were asked for.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Final

__all__ = ["WorkerProcesses"]

log = logging.getLogger("eventmask.serve")

_POLL: Final = 0.25  # seconds between two looks at the children
_HEALTHY: Final = 60.0  # a worker alive this long has stopped crash-looping
_MAX_DELAY: Final = 60.0


def restart_delay(deaths: int) -> float:
    """Seconds before restarting a worker after its `deaths`-th death in a row.

    >>> [restart_delay(n) for n in (1, 2, 3, 4, 9)]
    [0.0, 1.0, 2.0, 4.0, 60.0]
    """
    return 0.0 if deaths <= 1 else min(2.0 ** (deaths - 2), _MAX_DELAY)


def _how(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class _Slot:
    """One worker process and its history."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.deaths = 0
        self.due = 0.0


class WorkerProcesses:
    """`count` worker processes started by `spawn`, watched by a thread, restarted when they die.

    >>> procs = WorkerProcesses(lambda: None, 0)  # type: ignore[arg-type, return-value]
    >>> procs.status()
    (0, 0)
    """

    def __init__(
        self, spawn: Callable[[], subprocess.Popen[bytes]], count: int, kind: str = "worker"
    ) -> None:
        self.spawn = spawn
        self.count = count
        self.kind = kind  # what the logs call them: "worker", "receiver"
        self._slots = [_Slot() for _ in range(count)]
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.restarts = 0

    def start(self) -> None:
        """Start every worker, and the thread that watches them."""
        with self._lock:
            for slot in self._slots:
                self._start(slot)
        self._thread = threading.Thread(
            target=self._watch, name="eventmask-supervisor", daemon=True
        )
        self._thread.start()

    def _start(self, slot: _Slot) -> None:
        slot.proc = self.spawn()
        slot.started = time.monotonic()

    def _watch(self) -> None:
        while not self._stopping.wait(_POLL):
            with self._lock:
                if self._stopping.is_set():
                    return
                for slot in self._slots:
                    self._look(slot, time.monotonic())

    def _look(self, slot: _Slot, now: float) -> None:
        if slot.proc is None:
            if now >= slot.due:
                try:
                    self._start(slot)
                except OSError as exc:  # no memory, no process slots: try again later
                    slot.deaths += 1
                    slot.due = now + max(restart_delay(slot.deaths), 1.0)
                    log.error("cannot start a %s process: %s", self.kind, exc)
                    return
                self.restarts += 1
            return
        code = slot.proc.poll()
        if code is None:
            if now - slot.started > _HEALTHY:
                slot.deaths = 0
            return
        slot.deaths = slot.deaths + 1 if now - slot.started < _HEALTHY else 1
        delay = restart_delay(slot.deaths)
        fields = {"pid": slot.proc.pid, "exit": code, "deaths": slot.deaths, "restart_in_s": delay}
        log.error(
            "%s process %d %s; restarting it in %g s",
            self.kind,
            slot.proc.pid,
            _how(code),
            delay,
            extra={"fields": fields},
        )
        slot.proc = None
        slot.due = now + delay
        self._look(slot, now)

    def running(self) -> int:
        """How many worker processes are alive now."""
        with self._lock:
            return sum(1 for s in self._slots if s.proc is not None and s.proc.poll() is None)

    def status(self) -> tuple[int, int]:
        """(running, configured): what /health and the metrics report about processing."""
        return self.running(), self.count

    def stop(self, timeout: float = 60.0) -> None:
        """Stop watching, then SIGTERM every worker and wait (SIGKILL after `timeout`)."""
        started = time.monotonic()
        with self._lock:
            self._stopping.set()
            procs = [s.proc for s in self._slots if s.proc is not None]
        if self._thread is not None:
            self._thread.join(5)
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
        seconds = round(time.monotonic() - started, 3)
        fields = {f"{self.kind}s": len(procs), "seconds": seconds}
        log.info("stopped %s processes", self.kind, extra={"fields": fields})
