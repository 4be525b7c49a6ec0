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
