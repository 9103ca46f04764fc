"""Logging for the long-running commands: JSON lines on stderr, never blocking.

Records are formatted where they are made and handed to a thread through a
bounded queue (`logging.handlers.QueueHandler` and `QueueListener`): a stderr
that nobody reads can stall the thread, never the event loop that
acknowledges deliveries.  When the queue is full a line is dropped and
counted, and the count is logged once there is room again.  asyncio's
"socket.accept() out of system resource" error, which it prints with a
traceback on every failed accept, becomes one structured line per interval.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import queue
import sys
import threading
import time
from typing import Any, Final

from .._json import dumps_text

__all__ = ["LEVELS", "JsonFormatter", "clip", "setup_logging", "stderr_stalled", "stop_logging"]

# Lines waiting for stderr before new ones are dropped.
QUEUE_SIZE: Final = 10_000
# asyncio's accept error: at most one line per this many seconds.
ACCEPT_ERROR_EVERY: Final = 10.0
# The loggers eventmask configures; psycopg's pool is kept at WARNING or above.
_LOGGERS: Final = ("eventmask", "uvicorn", "uvicorn.error", "asyncio", "psycopg.pool")

# The most of a logged value kept (a message, a field, a traceback): a 500 KB
# event name must not be copied into every line, nor fill the queue.
MAX_FIELD: Final = 256
MAX_MESSAGE: Final = 1_024
MAX_EXCEPTION: Final = 8_192


def clip(value: str, limit: int) -> str:
    """`value`, cut to `limit` characters with the count of what was cut.

    >>> clip("booking_new", 256), clip("x" * 300, 256)[-20:]
    ('booking_new', 'xx...(44 more chars)')
    """
    if len(value) <= limit:
        return value
    return f"{value[:limit]}...({len(value) - limit} more chars)"


# The logging levels a command accepts.
LEVELS: Final = ("debug", "info", "warning", "error", "critical")


class _Listener(logging.handlers.QueueListener):
    """A QueueListener whose stop never waits for ever on a stalled stderr."""

    stalled = False  # the thread was still stuck writing when stop gave up on it

    def stop(self) -> None:
        thread = self._thread
        if thread is None:
            return
        with contextlib.suppress(queue.Full):
            self.queue.put_nowait(self._sentinel)  # type: ignore[attr-defined]
        thread.join(timeout=2.0)
        self._thread = None
        if thread.is_alive():
            _Listener.stalled = True


def stderr_stalled() -> bool:
    """Whether a logging thread gave up on a stderr that nobody reads.

    Then the process must leave with ``os._exit``: the interpreter's own
    flush of stderr at exit would wait for ever, behind the stuck thread's
    lock on the stream (a SIGTERM seen 75 s later, still running).

    >>> stderr_stalled()
    False
    """
    return _Listener.stalled


_listener: _Listener | None = None


class JsonFormatter(logging.Formatter):
    """One JSON object per log line: time, level, logger, message and fields.

    >>> record = logging.LogRecord("eventmask", logging.INFO, "", 0, "ready", None, None)
    >>> JsonFormatter().format(record).startswith('{"ts":')
    True
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        doc: dict[str, Any] = {
            "ts": round(record.created, 6),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": clip(record.getMessage(), MAX_MESSAGE),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                doc[key] = clip(value, MAX_FIELD) if isinstance(value, str) else value
        if record.exc_info:
            doc["exception"] = clip(self.formatException(record.exc_info), MAX_EXCEPTION)
        return dumps_text(doc)


class _DroppingQueueHandler(logging.handlers.QueueHandler):
    """A QueueHandler that drops (and counts) a line rather than wait for room."""

    def __init__(self, target: queue.Queue[Any]) -> None:
        super().__init__(target)
        self.dropped = 0
        self._lock = threading.Lock()

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            if self.dropped:
                self._report_dropped()
            self.queue.put_nowait(record)
        except queue.Full:
            with self._lock:
                self.dropped += 1

    def _report_dropped(self) -> None:
        with self._lock:
            dropped, self.dropped = self.dropped, 0
        note = logging.LogRecord(
            "eventmask", logging.WARNING, "", 0, "log lines dropped: stderr is not keeping up",
            None, None,
        )  # fmt: skip
        note.fields = {"dropped": dropped}
        self.queue.put_nowait(self.prepare(note))


class _AcceptErrors(logging.Filter):
    """asyncio's accept failures (out of descriptors): one short line per interval."""

    def __init__(self) -> None:
        super().__init__()
        self._last = float("-inf")
        self._since = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if "socket.accept() out of system resource" not in record.getMessage():
            return True
        self._since += 1
        now = time.monotonic()
        if now - self._last < ACCEPT_ERROR_EVERY:
            return False
        self._last = now
        error = record.exc_info[1] if record.exc_info else None
        record.msg = "cannot accept connections: out of file descriptors"
        record.args = None
        record.exc_info = None
        record.exc_text = None
        record.fields = {"error": str(error) if error else None, "failed_accepts": self._since}
        self._since = 0
        return True


def setup_logging(level: str = "info") -> None:
    """Structured (JSON lines) logging on stderr for eventmask, uvicorn and asyncio."""
    global _listener
    stop_logging()
    lines: queue.Queue[Any] = queue.Queue(QUEUE_SIZE)
    handler = _DroppingQueueHandler(lines)
    handler.setFormatter(JsonFormatter())  # formatted here; the thread only writes
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(logging.Formatter("%(message)s"))
    _listener = _Listener(lines, stream)
    _listener.start()
    accept_errors = _AcceptErrors()
    wanted = logging.getLevelName(level.upper())
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.filters[:] = [accept_errors] if name == "asyncio" else []
        # The pool reports every connection it opens at INFO: chatter at the default level.
        logger.setLevel(max(wanted, logging.WARNING) if name == "psycopg.pool" else wanted)
        logger.propagate = False
    logging.getLogger("uvicorn.access").disabled = True  # the receiver logs each delivery


def stop_logging() -> None:
    """Write out what is queued, stop the logging thread, and give the loggers back.

    The loggers propagate to the root again, with no handler of their own:
    a command run inside another program (a test, an embedding) leaves its
    logging as it found it.
    """
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None
        for name in _LOGGERS:
            logger = logging.getLogger(name)
            logger.handlers[:] = []
            logger.filters[:] = []
            logger.setLevel(logging.NOTSET)
            logger.propagate = True
        logging.getLogger("uvicorn.access").disabled = False
