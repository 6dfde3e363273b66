"""The gateway: HTTP, CLI, settings, keys, database sessions and processes (the outermost layer)."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # Looked up on first use: reading the installed metadata costs ~50 ms at every command's start.
    if name != "__version__":
        raise AttributeError(name)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pks-gateway")
    except PackageNotFoundError:  # running from a tree that was never installed
        return "0+unknown"
