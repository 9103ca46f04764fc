"""Applications the receiver benchmark serves."""

from __future__ import annotations

from typing import Any

from eventmask import Notification, Router
from eventmask.inbox import current_delivery

router = Router()


@router.on("*")
def noop(n: Notification) -> None:
    """A handler that does nothing: the benchmark measures the receiver, not the PMS."""


# What a PMS handler does on the exactly-once path: one row written through
# the worker's transaction (the benchmark creates the table beforehand).
effect = Router()


@effect.on("*")
def record(n: Notification) -> None:
    ctx = current_delivery()
    mark = "?" if ctx.backend == "sqlite" else "%s"
    ctx.connection.execute(
        f"INSERT INTO effects (delivery, entry) VALUES ({mark}, {mark})",
        (n.raw["payload"]["delivery"], ctx.entry_id),
    )


async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The floor: read the body, answer 200."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"status":"ok"}'})


def run_guarded_bare(port: int) -> None:
    """Serve `bare` with eventmask's guarded HTTP protocol: the cost of the guards alone."""
    import uvicorn

    from eventmask._service.protocol import guarded_protocol

    uvicorn.run(
        bare, port=port, http=guarded_protocol(10.0, 1_024), log_level="warning", access_log=False
    )


if __name__ == "__main__":
    import sys

    run_guarded_bare(int(sys.argv[1]))
