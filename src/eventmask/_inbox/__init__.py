"""The durable inbox: deliveries are committed here before Channex gets its 2xx.

Modules: `interface` (the abstract `Inbox` the receiver, the worker and the
command line call), `values` and `context` (what it hands out), `states`
and `settings`; the shared SQL engine, one room per class along a single
line of descent (`backend` <- `revisions` <- `processing` <- `views` <-
`engine`), with `writer` (group commit), `spool` and `counts` (`stats`); one
module per backend (`sqlite` with `sqlite_sql`, `sqlite_puts` and
`sqlite_file`, `postgres` with `pg_pool` and `pg_support`), in the manner of
httpx's transports; `urls` and `schema`; and `factory` (`open_inbox`).
`states`, `counts`, `sqlite_file`, `schema` and `urls` stand on the standard
library alone: ``eventmask inbox stats`` reads an SQLite file with them.  The inbox
knows nothing of Channex beyond what `eventmask._envelope` gives it.
"""
