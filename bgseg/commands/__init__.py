"""Subcommands of the `bgseg` console script (see bgseg.cli)."""
