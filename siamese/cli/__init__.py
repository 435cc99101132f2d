"""The ``siamese`` command line (Typer). Commands are thin wrappers over the library API."""
