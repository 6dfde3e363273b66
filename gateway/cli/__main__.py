"""Allows `python -m gateway.cli`, the same as the `pks-gateway` command."""

from gateway.cli import main

main()
