"""Run `reconcile` in-process the way the console script does, for tests."""

from __future__ import annotations

import pytest

from reconciler.cli.app import execute


def invoke(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of one command line, exit codes mapped as in the shell."""
    code = execute(args)
    out, err = capsys.readouterr()
    return code, out, err
