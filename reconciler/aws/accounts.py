"""Clients per account: the run's own credentials, a named profile, or an assumed role.

Manifests may say how to reach each account (`accounts:`). Each import is planned and applied
with its destination account's credentials. A role is assumed with STS once per run and
refreshed before it expires (long `--wait` runs outlive the one hour an AssumeRole gives).
Whatever the way in, the account behind the credentials is checked against the account the
imports are for, so a profile pointing at the wrong account is an error, not a wrong plan.
A failure reaches only that account's imports; the others proceed.
"""

from __future__ import annotations

import getpass
import os
import re
import threading
import time
from collections.abc import Mapping
from functools import partial
from typing import Any

from reconciler.aws.lake import LakeReader, call
from reconciler.aws.logs_tasks import ExportTaskReader, ExportTaskWriter
from reconciler.aws.preflight import PreflightCalls
from reconciler.aws.session import ClientFactory, ClientOptions, new_botocore_session
from reconciler.aws.writer import LakeWriter
from reconciler.errors import CloudError
from reconciler.spec import AccountAccess

ASSUMED_ROLE_SECONDS = 3600


def run_label() -> str:
    """A RoleSessionName that identifies this run in the account's CloudTrail."""
    run = os.environ.get("GITHUB_RUN_ID") or os.environ.get("CI_JOB_ID") or str(int(time.time()))
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    label = re.sub(r"[^\w+=,.@-]", "-", f"reconcile-{user}-{run}")
    return label[:64]


def _assumed_role_session(base: ClientFactory, access: AccountAccess, label: str) -> Any:
    """A boto3 Session whose credentials come from AssumeRole and renew themselves."""
    import boto3
    from botocore.credentials import CredentialProvider, RefreshableCredentials

    sts = base.client("sts", base.region or "us-east-1")
    params: dict[str, Any] = {
        "RoleArn": access.role_arn,
        "RoleSessionName": access.session_name or label,
        "DurationSeconds": ASSUMED_ROLE_SECONDS,
    }
    if access.external_id:
        params["ExternalId"] = access.external_id

    def fetch() -> dict[str, str]:
        answer = call("AssumeRole", partial(sts.assume_role, **params))["Credentials"]
        return {
            "access_key": answer["AccessKeyId"],
            "secret_key": answer["SecretAccessKey"],
            "token": answer["SessionToken"],
            "expiry_time": answer["Expiration"].isoformat(),
        }

    credentials = RefreshableCredentials.create_from_metadata(
        metadata=fetch(), refresh_using=fetch, method="assume-role"
    )

    class AssumedRole(CredentialProvider):
        METHOD = "assume-role"

        def load(self) -> Any:
            return credentials

    core = new_botocore_session()
    core.get_component("credential_provider").insert_before("env", AssumedRole())
    return boto3.Session(botocore_session=core, region_name=base.region)


class Connections:
    """Readers and writers per account, built on first use and kept for the run."""

    def __init__(
        self,
        profile: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        accounts: Mapping[str, AccountAccess] | None = None,
        options: ClientOptions | None = None,
    ) -> None:
        self.options = options or ClientOptions()
        self.base = ClientFactory(profile, region, endpoint_url, options=self.options)
        self.accounts: Mapping[str, AccountAccess] = dict(accounts or {})
        self.label = run_label()
        self._factories: dict[str, ClientFactory] = {}
        self._failures: dict[str, CloudError] = {}
        self._readers: dict[str, LakeReader] = {}
        self._preflight: dict[str, PreflightCalls] = {}
        self._exports: dict[str, ExportTaskReader] = {}
        self._lock = threading.Lock()

    def use_accounts(self, accounts: Mapping[str, AccountAccess]) -> None:
        with self._lock:
            self.accounts = dict(accounts)
            self._factories.clear()
            self._failures.clear()
            self._readers.clear()
            self._preflight.clear()
            self._exports.clear()

    def factory(self, account: str) -> ClientFactory:
        with self._lock:
            if account in self._failures:
                raise self._failures[account]
            if account not in self._factories:
                try:
                    self._factories[account] = self._connect(account)
                except CloudError as exc:
                    self._failures[account] = exc
                    raise
            return self._factories[account]

    def _connect(self, account: str) -> ClientFactory:
        self.base.check_reachable()
        access = self.accounts.get(account)
        if access is None or not (access.role_arn or access.profile):
            factory = self.base
            how = "the run's own credentials"
        elif access.profile:
            factory = ClientFactory(
                access.profile, self.base.region, self.base.endpoint_url, options=self.options
            )
            how = f"profile {access.profile} ({access.location})"
        else:
            try:
                session = _assumed_role_session(self.base, access, self.label)
            except CloudError as exc:
                raise CloudError(
                    f"cannot assume {access.role_arn} for account {account} "
                    f"({access.location}): {exc}"
                ) from None
            return ClientFactory(
                region=self.base.region,
                endpoint_url=self.base.endpoint_url,
                session=session,
                options=self.options,
            )
        sts = factory.client("sts", factory.region or "us-east-1")
        identity = call("GetCallerIdentity", sts.get_caller_identity)
        if identity.get("Account") != account:
            raise CloudError(
                f"{how} belong to account {identity.get('Account')}, but these imports are for "
                f'account {account}; add `accounts: {{"{account}": {{role_arn: ...}}}}` to a '
                "manifest, or use credentials of that account"
            )
        return factory

    def reader(self, account: str) -> LakeReader:
        factory = self.factory(account)
        with self._lock:
            return self._readers.setdefault(account, LakeReader(factory, account))

    def exports(self, account: str) -> ExportTaskReader:
        """CloudWatch Logs import-task reads of the account (its own factory and clients)."""
        factory = self.factory(account)
        with self._lock:
            return self._exports.setdefault(account, ExportTaskReader(factory, account))

    def export_writer(self, account: str) -> ExportTaskWriter:
        return ExportTaskWriter(self.factory(account))

    def writer(self, account: str) -> LakeWriter:
        return LakeWriter(self.factory(account))

    def preflight(self, account: str) -> PreflightCalls:
        factory = self.factory(account)
        with self._lock:
            return self._preflight.setdefault(account, PreflightCalls(factory, account))

    def calls(self) -> dict[str, int]:
        """Calls made by the readers and preflight so far, per operation (for benchmarks)."""
        total: dict[str, int] = {}
        counted: list[dict[str, int]] = [r.calls for r in self._readers.values()]
        counted += [p.calls for p in self._preflight.values()]
        for calls in counted:
            for operation, count in calls.items():
                total[operation] = total.get(operation, 0) + count
        return total
