"""Options shared by several commands, and the global ones every command accepts.

Global options work before or after the subcommand (`reconcile plan --debug` and
`reconcile --debug plan` agree), like the AWS CLI's: --profile, --region, --endpoint-url,
--no-verify-ssl, --ca-bundle, --cli-read-timeout, --cli-connect-timeout, --color, --debug,
--query, plus --no-input (also when CI=true) and --no-color.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import click

from reconciler import defaults

F = TypeVar("F", bound=Callable[..., Any])

_TRUE = ("1", "true", "yes", "on")

if TYPE_CHECKING:  # types only: these modules are imported lazily at run time
    from reconciler.aws.session import ClientOptions
    from reconciler.plan.desired import Shard


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in _TRUE


@dataclass
class GlobalSettings:
    """Options accepted by every command, before or after the subcommand name."""

    debug: bool = False
    color: str = "auto"
    region: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    verify_ssl: bool = True
    ca_bundle: str | None = None
    read_timeout: float | None = None
    connect_timeout: float | None = None
    query: str | None = None
    no_input: bool = field(default_factory=_ci)

    def use_color(self, stream: Any) -> bool:
        if self.color == "on":
            return True
        if self.color == "off" or os.environ.get("NO_COLOR"):
            return False
        return bool(getattr(stream, "isatty", lambda: False)())

    def client_options(self) -> ClientOptions:
        from reconciler.aws.session import ClientOptions

        verify: bool | str | None = None
        if not self.verify_ssl:
            verify = False
        elif self.ca_bundle:
            verify = self.ca_bundle
        return ClientOptions(
            verify=verify, connect_timeout=self.connect_timeout, read_timeout=self.read_timeout
        )


def global_settings(ctx: click.Context) -> GlobalSettings:
    root = ctx.find_root()
    settings = root.meta.get("reconcile.settings")
    if settings is None:
        settings = root.meta["reconcile.settings"] = GlobalSettings()
    assert isinstance(settings, GlobalSettings)
    return settings


def _store(field_name: str, transform: Callable[[Any], Any] = lambda value: value) -> Any:
    """A click callback that records a global option, ignoring it when not given."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is None or value is False:  # not given (0 and "" are real values)
            return
        try:
            setattr(global_settings(ctx), field_name, transform(value))
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
        if field_name == "debug" and value:
            _log_aws_calls()

    return callback


def endpoint_url(value: str) -> str:
    """`http(s)://host[:port][/path]`; anything else would reach botocore as a crash."""
    from urllib.parse import urlparse

    parsed = urlparse(value)
    try:
        port = parsed.port
    except ValueError:
        port = -1
    if parsed.scheme not in ("http", "https") or not parsed.hostname or port == -1:
        raise ValueError(
            f"{value!r} is not an endpoint URL; write it as http://HOST:PORT (the sandbox: "
            "http://127.0.0.1:5555) or https://HOST."
        )
    return value


def region_name(value: str) -> str:
    from reconciler.fields import REGION_RE

    if not REGION_RE.match(value):
        raise ValueError(f"{value!r} is not a Region name; write it like us-east-1.")
    return value


def checked(check: Callable[[str], str]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback from a value check (for options outside the global ones)."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None:
            return value
        try:
            if isinstance(value, tuple):
                return tuple(check(item) for item in value)
            return check(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None

    return callback


def _log_aws_calls() -> None:
    """--debug: botocore's own debug log on stderr, as the AWS CLI's --debug prints."""
    import logging

    logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(name)s %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_redact_secrets)
    for noisy in ("urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.INFO)


# What --debug must never print: session tokens, signatures, secret keys (botocore logs its
# request headers and, for STS, the credentials it is given).
_SECRET_NAMES = (
    "SessionToken|SecretAccessKey|aws_session_token|aws_secret_access_key|WebIdentityToken|"
    "accessToken|refreshToken|clientSecret"
)
_SECRETS = [
    (re.compile(r"(x-amz-security-token'?\s*[:=]\s*(?:b?')?)[^'\s,}]+", re.IGNORECASE), r"\1***"),
    (re.compile(r"(x-amz-sso_bearer_token'?\s*[:=]\s*(?:b?')?)[^'\s,}]+", re.IGNORECASE), r"\1***"),
    (re.compile(r"((?:X-Amz-)?Signature[=:]\s*)[0-9a-fA-F]+", re.IGNORECASE), r"\1***"),
    (re.compile(rf"(<({_SECRET_NAMES})>)[^<]*", re.IGNORECASE), r"\1***"),
    (
        re.compile(
            rf"""(["']?(?:{_SECRET_NAMES})["']?\s*[:=]\s*["']?)[^"',\s}}]+""", re.IGNORECASE
        ),
        r"\1***",
    ),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def _redact_secrets(record: Any) -> bool:
    try:
        message = record.getMessage()
    except Exception:  # a record that cannot be formatted is left to logging itself
        return True
    record.msg, record.args = redact(message), ()
    return True


def _check_query(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        jmespath.compile(value)
    except JMESPathError as exc:
        raise click.BadParameter(f"not a JMESPath expression: {exc}") from None
    global_settings(ctx).query = value


def global_options(func: F) -> F:
    """Attach the global options to a command (or to the group)."""
    options = [
        click.option(
            "--debug",
            is_flag=True,
            expose_value=False,
            callback=_store("debug"),
            help="Show full tracebacks and botocore's log of every AWS call.",
        ),
        click.option(
            "--color",
            type=click.Choice(["on", "off", "auto"]),
            default=None,
            expose_value=False,
            callback=_store("color"),
            help="Colour output: on, off, or auto (only on a terminal; NO_COLOR is honoured).",
        ),
        click.option(
            "--no-color",
            is_flag=True,
            expose_value=False,
            callback=_store("color", lambda _: "off"),
            help="Same as --color off.",
        ),
        click.option(
            "--no-input",
            is_flag=True,
            expose_value=False,
            callback=_store("no_input"),
            help="Never prompt and print no interactive hints (automatic when CI=true).",
        ),
        click.option(
            "--query",
            metavar="JMESPATH",
            expose_value=False,
            callback=_check_query,
            help="Filter JSON output with a JMESPath expression, as the AWS CLI does "
            "(implies --json where a command has it).",
        ),
        click.option(
            "--profile",
            metavar="NAME",
            expose_value=False,
            callback=_store("profile"),
            help="Use this named profile from the AWS shared config files (or AWS_PROFILE).",
        ),
        click.option(
            "--region",
            metavar="REGION",
            expose_value=False,
            callback=_store("region", region_name),
            help="Default Region for commands that have no ARN to take it from.",
        ),
        click.option(
            "--endpoint-url",
            metavar="URL",
            expose_value=False,
            callback=_store("endpoint_url", endpoint_url),
            help="Send AWS calls to this endpoint, e.g. the sandbox (or AWS_ENDPOINT_URL).",
        ),
        click.option(
            "--no-verify-ssl",
            is_flag=True,
            expose_value=False,
            callback=_store("verify_ssl", lambda _: False),
            help="Do not verify TLS certificates of AWS endpoints.",
        ),
        click.option(
            "--ca-bundle",
            metavar="PATH",
            type=click.Path(exists=True, dir_okay=False),
            expose_value=False,
            callback=_store("ca_bundle"),
            help="CA certificate bundle to verify TLS with (or AWS_CA_BUNDLE).",
        ),
        click.option(
            "--cli-read-timeout",
            type=FiniteFloat(0, defaults.MAX_SOCKET_TIMEOUT_SECONDS),
            metavar="SECONDS",
            expose_value=False,
            callback=_store("read_timeout"),
            help="Socket read timeout; 0 waits forever (default 60).",
        ),
        click.option(
            "--cli-connect-timeout",
            type=FiniteFloat(0, defaults.MAX_SOCKET_TIMEOUT_SECONDS),
            metavar="SECONDS",
            expose_value=False,
            callback=_store("connect_timeout"),
            help="Socket connect timeout; 0 waits forever (default 60).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def state_option(func: F) -> F:
    return click.option(
        "--state",
        "state_location",
        metavar="PATH",
        help="State file, or s3://BUCKET/KEY (default: $RECONCILE_STATE, else "
        ".reconcile/state.json).",
    )(func)


def timing_options(func: F) -> F:
    """--retry-backoff and --pending-grace: the planner's two clocks, shared by plan and apply."""
    func = click.option(
        "--pending-grace",
        type=FiniteFloat(0, defaults.MAX_PENDING_GRACE_SECONDS),
        default=defaults.PENDING_GRACE_SECONDS,
        show_default=True,
        metavar="SECONDS",
        help="How long an unanswered StartImport blocks its queue while its import may still "
        "appear; after that it counts as never having reached AWS, but only if no import "
        "appeared in its store since (otherwise it needs attention).",
    )(func)
    return click.option(
        "--retry-backoff",
        type=FiniteFloat(0, defaults.MAX_RETRY_BACKOFF_SECONDS),
        default=defaults.RETRY_BACKOFF_SECONDS,
        show_default=True,
        metavar="SECONDS",
        help="Wait this long after a failure before a retry; doubles per attempt, at most an hour.",
    )(func)


def start_options(func: F) -> F:
    """--queue-scope and --retry: what may start, shared by plan and apply (plan shows what
    apply would do with the same flags)."""
    func = click.option(
        "--retry",
        "retry",
        multiple=True,
        metavar="NAME",
        help="You fixed what made this entry's import fail (access, files, a store not usable "
        "for a day): retry it now, without backoff. Counts toward retry.max_attempts. "
        "Repeatable.",
    )(func)
    return click.option(
        "--queue-scope",
        type=click.Choice(["account", "region"]),
        default=defaults.QUEUE_SCOPE,
        show_default=True,
        help="One import at a time per account, as AWS words its limit, or per account and "
        "Region for accounts that allow that (an account's queue_scope: under accounts: "
        "says the same for one account).",
    )(func)


def shard_option(func: F) -> F:
    return click.option(
        "--shard",
        metavar="I/N",
        callback=_parse_shard,
        help="Only the accounts of shard I of N (stable by account ID), for CI fan-out; "
        "give each shard its own --state.",
    )(func)


def _parse_shard(ctx: click.Context, param: click.Parameter, value: str | None) -> Shard | None:
    if value is None:
        return None
    from reconciler.plan.desired import Shard

    try:
        index_text, count_text = value.split("/")
        index, count = int(index_text), int(count_text)
    except ValueError:
        raise click.BadParameter("expected I/N, e.g. 2/4") from None
    if not 1 <= index <= count:
        raise click.BadParameter(f"I must be between 1 and N; got {value}")
    return Shard(index, count)


def format_options(func: F) -> F:
    func = click.option(
        "--markdown", "as_markdown", is_flag=True, help="Markdown for pull-request comments."
    )(func)
    return click.option("--json", "as_json", is_flag=True, help="The plan as JSON data.")(func)


def output_format(as_json: bool, as_markdown: bool, settings: GlobalSettings) -> str:
    if as_json and as_markdown:
        raise click.UsageError("choose one of --json and --markdown")
    if as_json or (settings.query is not None and not as_markdown):
        return "json"
    return "markdown" if as_markdown else "text"


class FiniteFloat(click.ParamType):  # type: ignore[type-arg]
    """A finite number in [low, high]: click's FloatRange lets nan through and says nothing
    helpful about inf."""

    name = "number"

    def __init__(self, low: float, high: float, *, low_open: bool = False) -> None:
        self.low, self.high, self.low_open = low, high, low_open

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            number = value
        else:
            try:
                number = float(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a number.", param, ctx)
        too_low = number <= self.low if self.low_open else number < self.low
        if number != number or too_low or number > self.high:  # nan != nan
            side = ">" if self.low_open else ">="
            low, high = _number(self.low), _number(self.high)
            self.fail(
                f"{value} must be a finite number {side} {low} and <= {high}.",
                param,
                ctx,
            )
        return number


def _number(value: float) -> str:
    return f"{int(value):,}" if value == int(value) else f"{value:g}"


@dataclass(frozen=True)
class PreflightFlags:
    """--no-preflight, --max-cost and --price-per-gb, as the plan request takes them."""

    enabled: bool = True
    max_cost: float | None = None
    price_per_gb: float | None = None

    def request_fields(self) -> dict[str, Any]:
        return {
            "preflight": self.enabled,
            "max_cost": self.max_cost,
            "price_per_gb": self.price_per_gb,
        }


def preflight_options(func: F) -> F:
    """Preflight's flags, shared by plan and apply; the command gets one `preflight` value."""
    import functools

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        no_preflight: bool,
        max_cost: float | None,
        price_per_gb: float | None,
        **kwargs: Any,
    ) -> Any:
        if no_preflight and (max_cost is not None or price_per_gb is not None):
            raise click.UsageError(
                "--no-preflight skips the size and cost estimate, so --max-cost and "
                "--price-per-gb (or RECONCILE_MAX_COST) cannot be checked; drop one of them."
            )
        flags = PreflightFlags(not no_preflight, max_cost, price_per_gb)
        return func(*args, preflight=flags, **kwargs)

    command: Any = wrapper
    command = click.option(
        "--price-per-gb",
        type=FiniteFloat(0, defaults.MAX_PRICE_PER_GB, low_open=True),
        metavar="USD",
        help="Price per GB of uncompressed events ingested, for the estimate (default: the "
        f"store's billing mode's list price, ${defaults.PRICE_PER_GB_FIXED_RETENTION:.2f} "
        f"seven-year or ${defaults.PRICE_PER_GB_EXTENDABLE_RETENTION:.2f} one-year "
        "extendable, US East; an entry's preflight.price_per_gb wins).",
    )(command)
    command = click.option(
        "--max-cost",
        type=FiniteFloat(0, defaults.MAX_COST_LIMIT_USD),
        envvar="RECONCILE_MAX_COST",
        metavar="USD",
        help="Budget for the whole run: when the estimated total of its starts is above it, "
        "every start needs attention (over-budget) and nothing starts. Also "
        "RECONCILE_MAX_COST.",
    )(command)
    command = click.option(
        "--no-preflight",
        is_flag=True,
        help="Skip preflight: no store, bucket or role checks and no size or cost estimate "
        "(StartImport still refuses what AWS refuses).",
    )(command)
    return command  # type: ignore[no-any-return]
