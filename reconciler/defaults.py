"""Every default of a run, in one place: the core and the CLI's flags both read these.

Plain numbers and strings only (no imports), so `reconcile --help` can show them for free.
"""

from __future__ import annotations

PENDING_GRACE_SECONDS = 600  # how long an unanswered StartImport blocks its queue
RETRY_BACKOFF_SECONDS = 60  # the first wait before a retry; doubles per attempt
MAX_RETRY_BACKOFF_SECONDS = 3600  # the backoff never waits longer than this
QUEUE_SCOPE = "account"  # AWS words its limit as one ongoing import per account
POLL_INTERVAL_SECONDS = 2.0  # how often --wait polls GetImport
PARALLELISM = 16  # queues (accounts, or accounts and Regions) worked on at once
LOCK_TIMEOUT_SECONDS = 0.0  # fail fast on a held lock, naming the holder
THROTTLE_RETRIES = 5  # a throttled StartImport is sent again this often (each after a look)
THROTTLE_BACKOFF_SECONDS = 1.0  # the first wait after throttling; doubles
STORE_WAIT_LIMIT_SECONDS = 24 * 3600  # a store not usable yet is tried this long
# CloudTrail Lake bills ingestion per GB of uncompressed events; AWS's own rule of thumb is that
# trail logs are ten times their size in S3 once uncompressed (DOMAIN.md, "Money and duplicates").
UNCOMPRESSED_RATIO = 10
# Ingestion price per GB (2**30 bytes), USD, from https://aws.amazon.com/cloudtrail/pricing/
# (US East, as listed in 2025): the store's BillingMode picks one; unknown: the higher one, so
# a budget errs on the safe side. `--price-per-gb` and an entry's `preflight.price_per_gb` win.
PRICE_PER_GB_FIXED_RETENTION = 2.50  # BillingMode FIXED_RETENTION_PRICING (seven years)
PRICE_PER_GB_EXTENDABLE_RETENTION = 0.75  # BillingMode EXTENDABLE_RETENTION_PRICING (one year)
MAX_PRICE_PER_GB = 1000.0  # a larger price is a typo, not a price
MAX_COST_LIMIT_USD = 1e12  # --max-cost takes finite values up to this
# Trail files carry their delivery time, a few minutes after the events in them: an import
# that ends this long before a store began ingesting live leaves a tiny gap, but no duplicates.
LIVE_INGESTION_MARGIN_MINUTES = 15
# The largest value each numeric flag takes (finite, so a typo such as `inf` is a usage error).
MAX_SOCKET_TIMEOUT_SECONDS = 3600  # --cli-read-timeout, --cli-connect-timeout (0: forever)
MAX_PENDING_GRACE_SECONDS = 7 * 86400
MAX_WAIT_TIMEOUT_SECONDS = 30 * 86400  # --wait-timeout (0: forever)
MAX_LOCK_TIMEOUT_SECONDS = 86400
MAX_POLL_INTERVAL_SECONDS = 3600
MAX_PARALLELISM = 256
PROGRESS_LOG_SECONDS = 30.0  # off a terminal, apply --wait logs an import's progress this often
PROGRESS_LOG_STEP = 0.25  # or when this share more of its prefixes is done
