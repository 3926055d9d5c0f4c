"""Shim for tools that still call setup.py; all configuration lives in setup.cfg."""
from setuptools import setup

setup()
