"""reconcile: declarative, GitOps-friendly management of CloudTrail Lake imports."""

import os

# pydantic scans every installed package's entry points for plugins the first time a model
# validates (10-20 ms of `validate`); reconcile uses none. Set before pydantic is imported;
# a user who wants plugins can still set the variable.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

__version__ = "0.1.0"
