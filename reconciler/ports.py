"""How the core reaches AWS: per account, a reader (plan) and a writer (apply).

`reconciler.aws.accounts.Connections` is the real one; tests may pass fakes. The core never
builds clients itself, so it never imports boto3.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from reconciler.aws.writer import StartOutcome, StartRequest
from reconciler.plan.observe import ImportReader
from reconciler.spec import AccountAccess


class Writer(Protocol):
    def start_import(self, request: StartRequest) -> StartOutcome: ...
    def stop_import(self, destination: str, import_id: str) -> str: ...


class Connector(Protocol):
    def use_accounts(self, accounts: Mapping[str, AccountAccess]) -> None: ...
    def reader(self, account: str) -> ImportReader: ...
    def writer(self, account: str) -> Writer: ...
