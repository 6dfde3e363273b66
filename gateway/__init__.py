"""The gateway: HTTP, CLI, settings, keys, database sessions and processes (the outermost layer)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pks-gateway")
except PackageNotFoundError:  # running from a tree that was never installed
    __version__ = "0+unknown"
