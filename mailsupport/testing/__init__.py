"""Testing helpers shipped with the package: real servers on loopback and fixtures (layer 6).

Among them, for hostile servers and input: :mod:`.hostile` (POP3/SMTP servers that misbehave
at one point), :mod:`.entrypoints` (a ``mailsupport`` command in a child process under an
address-space limit and a deadline), :mod:`.leaks` (is a secret still visible in a text?)
and :mod:`.fuzz` (``./dev fuzz``: the property tests, round after round).
"""
