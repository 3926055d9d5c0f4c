import subprocess
import sys
import time

from bgseg import __version__
from bgseg.cli import COMMANDS


def _bgseg(*args):
    return subprocess.run([sys.executable, "-m", "bgseg", *args], capture_output=True, text=True,
                          timeout=120)


def test_version_is_fast_and_imports_no_tensorflow():
    code = ("import sys, bgseg.cli\n"
            "try:\n    bgseg.cli.main(['--version'])\nexcept SystemExit:\n    pass\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert time.perf_counter() - start < 20  # generous: the real figure is well under a second
    assert f"bgseg {__version__}" in out.stdout
    assert out.stdout.strip().endswith("False False")


def test_help_lists_every_subcommand():
    out = _bgseg("--help")
    assert out.returncode == 0
    for name in COMMANDS:
        assert name in out.stdout


def test_no_command_prints_help_and_fails():
    out = _bgseg()
    assert out.returncode == 2 and "COMMAND" in out.stdout
