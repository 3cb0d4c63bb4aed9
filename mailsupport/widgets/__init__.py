"""Notebook widgets (ipywidgets), one module per widget; import them explicitly.

This package's ``__init__`` imports nothing, so ``import mailsupport`` never pulls in
ipywidgets. ``from mailsupport.widgets.setup import EmailSetup`` gives the Email Setup form.
"""
