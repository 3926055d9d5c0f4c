"""Shared fixtures. Heavy tests carry the `slow` marker (deselected by default, see setup.cfg)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
