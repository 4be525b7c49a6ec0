"""The `reconcile` command line: the only layer that knows about click and rich.

Every command is a few lines: parse flags, call one core function, map the result to an exit
code. Heavy modules (pydantic, boto3, rich, deepdiff) are imported inside the command that
needs them, and each command's module only when that command runs (`app.COMMANDS`), so
`reconcile --help` costs little more than importing click.
"""

from reconciler.cli.app import main, run

__all__ = ["main", "run"]
