"""``python -m mailsupport`` runs the command line."""

from .cli import run

run()
