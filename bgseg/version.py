"""The one place where bgseg's version is defined."""

__version__ = "0.3.0"
