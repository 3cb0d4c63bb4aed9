"""Diagnoses (layer 4): each module turns evidence into :class:`~mailsupport.model.Finding` values.

Every module owns its check ids and exports a constant mapping of them to one-line meanings
(for example ``CATCHALL_CHECKS`` in :mod:`.catchall`), so the documentation can list every
check. Diagnoses may import the pure core and the clients; they must not import the sandbox
or presentation modules at module level.
"""
