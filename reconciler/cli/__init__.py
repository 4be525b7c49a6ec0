"""The `reconcile` command line: the only layer that knows about click and rich.

Every command is a few lines: parse flags, call one core function, map the result to an exit
code. Heavy modules (pydantic, boto3, rich, deepdiff) are imported inside the command that
needs them, so `reconcile --help` costs little more than importing click. Importing this
package registers every command on `main`.
"""

from reconciler.cli import (  # noqa: F401  (importing registers the commands)
    adopt_cmds,
    apply_cmds,
    demo_cmds,
    plan_cmds,
    state_cmds,
    status_cmds,
    validate_cmds,
)
from reconciler.cli.app import main, run
from reconciler.sandbox.commands import sandbox

main.add_command(sandbox)  # its module imports only click; moto loads inside `serve`

__all__ = ["main", "run"]
