"""Writing rows as a table: TSV for the shell, CSV for a spreadsheet, JSON Lines for tools.

CSV follows RFC 4180 (a header row, fields quoted when they hold a comma, a
quote or a line break, CRLF line ends), which is what spreadsheets open.
Values print as Channex means them: a rate as a decimal string, a flag as
``true``/``false``, a missing value as an empty field (``null`` in JSON).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TextIO

__all__ = ["FORMATS", "write_rows"]

FORMATS = ("tsv", "csv", "jsonl")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _json(value: object) -> object:
    return str(value) if isinstance(value, Decimal) else value


def write_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str,
               out: TextIO, *, header: bool = True) -> None:  # fmt: skip
    """Write `rows` (`columns` in order) to `out` as `fmt`, with a header row for TSV and CSV
    (unless `header` is false: a later block of the same table).

    >>> import io
    >>> buf = io.StringIO()
    >>> write_rows([{"rate": Decimal("1.50"), "name": 'a "b", c'}], ["rate", "name"], "csv", buf)
    >>> buf.getvalue()
    'rate,name\\r\\n1.50,"a ""b"", c"\\r\\n'
    """
    if fmt == "jsonl":
        from .._json import dumps_text

        for row in rows:
            out.write(dumps_text({c: _json(row.get(c)) for c in columns}) + "\n")
        return
    if fmt == "csv":
        import csv  # only for a CSV table: not at the start of every filter

        writer = csv.writer(out)
        if header:
            writer.writerow(columns)
        writer.writerows([_text(row.get(c)) for c in columns] for row in rows)
        return
    if header:
        out.write("\t".join(columns) + "\n")
    for row in rows:
        out.write("\t".join(_text(row.get(c)).replace("\t", " ") for c in columns) + "\n")
