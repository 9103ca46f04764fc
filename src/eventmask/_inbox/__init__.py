"""The durable inbox: deliveries are committed here before Channex gets its 2xx.

Modules: `base` (the interface the receiver, the worker and the command line
call, and its values), `settings`, `writer` (group commit), `backend` (what a
backend provides), `processing`, `views` and `engine` (the shared engine),
one module per backend (`sqlite`, `postgres`), and `factory` (`open_inbox`).
The inbox knows nothing of Channex beyond what `eventmask._envelope` gives it.
"""
