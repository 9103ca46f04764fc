"""The operator's page: the inbox in a browser (docs/dashboard.md).

>>> import os, tempfile
>>> from eventmask.inbox import SQLiteInbox
>>> inbox = SQLiteInbox(os.path.join(tempfile.mkdtemp(), "inbox.db"))
>>> app = Dashboard(inbox, actions=False)
>>> inbox.close()

Needs ``pip install 'eventmask[dashboard]'`` (Jinja2; uvicorn to serve it).
"""

from __future__ import annotations

from ._dashboard.app import Dashboard

__all__ = ["Dashboard"]
