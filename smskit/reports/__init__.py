"""Status reports, from the wire to the funnel.

* :mod:`.wire` — pure parsing of push bodies (form and JSON batch) into :class:`~.wire.StatusReport`
* :mod:`.replies` — pure parsing of uplink (reply) pushes, the unsubscribe test, the replies frame
* :mod:`.receiver` — :class:`~.receiver.CallbackReceiver`, the ASGI receiver over the parser and the store
* :mod:`.store` — the durable SQLite store with group commit
* :mod:`.ingest` — :func:`~.ingest.read_status_reports`: every report source → one frame
* :mod:`.funnel` — :func:`~.funnel.delivery_funnel`: results + reports → the final state per recipient
"""
