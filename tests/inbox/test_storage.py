"""The SQLite inbox's storage checks: health says what a delivery would get.

A full disk and a file made read-only are each tried for real: a small
tmpfs that a filler file fills (where the tests run as root, as CI does),
and a process for which file modes count (root without CAP_DAC_OVERRIDE).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventmask.inbox import InboxSettings, InboxUnavailable, SQLiteInbox

from ..helpers import body


def test_a_disk_under_the_reserve_fails_health_and_deliveries(tmp_path: Path) -> None:
    """Less free space than min_free_bytes: health is unavailable, and so is a put."""
    free = shutil.disk_usage(tmp_path).free
    box = SQLiteInbox(tmp_path / "inbox.db", InboxSettings(min_free_bytes=free + 2**30))
    try:
        health = box.health()
        assert not health.ok
        assert "bytes free" in (health.reason or "")
        with pytest.raises(InboxUnavailable, match="bytes free"):
            box.put(body(1))
    finally:
        box.close()


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 6 MiB tmpfs of its own (mounting needs root, which CI has)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root: CI runs these as root")
    where = Path(tempfile.mkdtemp(prefix="eventmask-disk-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
        where.rmdir()


def test_a_disk_filled_by_another_process_is_seen_before_a_delivery_fails(
    small_disk: Path,
) -> None:
    box = SQLiteInbox(small_disk / "inbox.db", InboxSettings(min_free_bytes=1_048_576))
    filler = small_disk / "filler"
    try:
        box.put(body(1))
        assert box.health().ok
        with filler.open("wb") as out:  # another process takes all but ~0.5 MiB
            out.write(b"\0" * (shutil.disk_usage(small_disk).free - 512 * 1024))
        health = box.health()
        assert not health.ok
        assert "bytes free" in (health.reason or "")
        with pytest.raises(InboxUnavailable):
            box.put(body(2))
        filler.unlink()
        assert box.health().ok  # at once: what the next delivery gets
        assert not box.put(body(3)).duplicate
    finally:
        box.close()


_READ_ONLY_CHILD = """
import os, sys
from eventmask.inbox import Envelope, SQLiteInbox
box = SQLiteInbox(sys.argv[1])
box.put(Envelope.read(b'{"event":"message","payload":{"n":1}}'))
os.chmod(sys.argv[1], 0o444)          # the file read-only; the folder (and so the WAL) not
health = box.health()
stored = box.put(Envelope.read(b'{"event":"message","payload":{"n":2}}'))
print(health.ok, health.reason, stored.id is not None)
box.close()
"""


def test_a_read_only_file_with_a_writable_wal_says_what_a_delivery_gets() -> None:
    """Deliveries still commit (into the WAL), so health says ok: not 503 beside a 200."""
    folder = tempfile.mkdtemp(prefix="eventmask-ro-")
    child = [sys.executable, "-c", _READ_ONLY_CHILD, os.path.join(folder, "inbox.db")]
    if os.geteuid() == 0:  # root ignores file modes unless it gives up these capabilities
        child = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *child]
    try:
        done = subprocess.run(child, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["True", "None", "True"]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
