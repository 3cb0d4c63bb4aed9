"""Testing helpers shipped with the package: real servers on loopback and fixtures (layer 6)."""
