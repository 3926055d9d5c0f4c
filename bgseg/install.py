"""Install hints for the optional extras, worded for how bgseg was installed."""

from pathlib import Path


def from_source_tree():
    """True when bgseg runs from a clone (an editable install or the repository itself)."""
    root = Path(__file__).resolve().parent.parent
    return (root / "setup.cfg").is_file() and (root / "bgseg" / "cli.py").is_file()


def install_command(extra):
    """The pip command that installs `extra`: `pip install -e ".[extra]"` in a source tree (there
    is no bgseg on the package index), else `pip install "bgseg[extra]"`."""
    if from_source_tree():
        return f'pip install -e ".[{extra}]"'
    return f'pip install "bgseg[{extra}]"'
