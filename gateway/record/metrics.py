"""Prometheus metrics. With several workers, prometheus-client's multiprocess mode is used."""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client import multiprocess as _multiprocess
from prometheus_client import values as _values

_pid = os.getpid()


def _kept_pid() -> int:
    """This process's id, as prometheus-client's multiprocess values ask for it on every
    update (os.getpid is a system call each time: about 30 per message)."""
    return _pid


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Decided here, not by prometheus-client as it was imported: the master imports it
    # before it sets the folder, and its tth_build_info must still reach the folder. The
    # value class asks the kept id; a forked child still gets its own files.
    _values.ValueClass = _values.MultiProcessValue(  # type: ignore[no-untyped-call]
        process_identifier=_kept_pid)

# `_created` series double every counter's cardinality and nothing here reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

SIZE_BUCKETS = (1e3, 1e4, 5e4, 1e5, 5e5, 1e6, 5e6, 1e7, 2.5e7, 5e7, float("inf"))
TIME_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

CONNECTIONS = Counter("tth_connections", "SMTP connections accepted")
CONNECTIONS_REFUSED = Counter(
    "tth_connections_refused", "SMTP connections refused at connect", ["reason"]
)
ACTIVE_CONNECTIONS = Gauge(
    "tth_active_connections", "SMTP connections open now", multiprocess_mode="livesum"
)
UPSTREAM_CONNECTIONS = Gauge(
    "tth_upstream_connections",
    "Connections to the upstream mail system: idle in the pool, or in_use by a transaction",
    ["state"],
    multiprocess_mode="livesum",
)
WORKER_RESTARTS = Counter(
    "tth_worker_restarts", "Workers started by the master to replace one that died"
)
TRANSACTIONS = Counter(
    "tth_transactions",
    "Mail transactions by the stage that ended them (MAIL, RCPT, DATA) and outcome; "
    "a refused RCPT counts once per recipient",
    ["stage", "outcome"],
)
UPSTREAM_ERRORS = Counter("tth_upstream_errors", "Upstream failures by kind", ["kind"])
MESSAGE_SIZE = Histogram(
    "tth_message_size_bytes", "Size of messages received", buckets=SIZE_BUCKETS
)
PROCESSING_TIME = Histogram(
    "tth_processing_seconds",
    "From the end of DATA to the final reply (policy and relay)",
    buckets=TIME_BUCKETS,
)
DECISIONS = Counter(
    "tth_decisions", "Messages decided after DATA, by direction and action",
    ["direction", "action"],
)
RULE_HITS = Counter("tth_rule_hits", "Policy rules that matched", ["rule", "mode", "action"])
POLICY_RELOADS = Counter("tth_policy_reloads", "Policy loads that succeeded")
POLICY_RELOAD_ERRORS = Counter("tth_policy_reload_errors", "Policy reloads refused for errors")
POLICY_GENERATION = Gauge(
    "tth_policy_generation", "Generation of the loaded policy", multiprocess_mode="max"
)
POLICY_LOADED_AT = Gauge(
    "tth_policy_loaded_timestamp_seconds",
    "When the running policy was loaded",
    multiprocess_mode="max",
)

DECISION_FAILURES = Counter(
    "tth_decision_failures", "Messages tempfailed because analysis or policy failed (fail closed)"
)
ANALYSIS_TIMEOUTS = Counter("tth_analysis_timeouts", "Analyses stopped at their time limit")
UNANALYSABLE = Counter(
    "tth_unanalysable", "Messages whose analysis could not finish, given the policy's outcome",
    ["cause"],
)
ANALYSIS_BUSY = Counter("tth_analysis_busy", "Messages that found no analysis worker in time")
ANALYSIS_TIME = Histogram(
    "tth_analysis_seconds", "Time to analyse one message (MIME, documents, signatures)",
    buckets=TIME_BUCKETS,
)
DOCUMENTS = Counter(
    "tth_documents", "Documents seen, by type and signature status", ["doc_type", "signature"]
)
CLASSIFIED = Counter("tth_classified_messages", "Messages bearing a classification", ["level"])
NOTICES = Counter(
    "tth_notices", "Quarantine notice attempts by outcome (sent, retry, expired)", ["outcome"]
)
NOTICES_PENDING = Gauge(
    "tth_notices_pending", "Quarantine notices queued durably, not yet delivered",
    multiprocess_mode="max",
)
NOTICES_EXPIRED = Gauge(
    "tth_notices_expired", "Quarantine notices given up after notices.expire_after",
    multiprocess_mode="max",
)
AUDIT_WRITE_ERRORS = Counter(
    "tth_audit_write_errors", "Audit records the audit log file refused (written to the log)"
)
QUARANTINE_STORE_ERRORS = Counter(
    "tth_quarantine_store_errors", "Quarantine store operations that failed", ["operation"]
)
TRUST_EXPIRY = Gauge(
    "tth_trust_expiry_timestamp_seconds",
    "When each trust anchor expires or each CRL goes stale (nextUpdate)",
    ["kind", "name"],
    multiprocess_mode="min",
)
AUTH_RESULTS = Counter(
    "tth_auth_results", "Sender authentication results", ["method", "result"]
)
TRUST_RELOAD_ERRORS = Counter("tth_trust_reload_errors", "Trust store reloads refused for errors")
TRUST_GENERATION = Gauge(
    "tth_trust_generation", "Generation of the loaded trust store", multiprocess_mode="max"
)
STAGE_TIME = Histogram(
    "tth_stage_seconds",
    "Time spent per stage: receive (DATA), analysis, signatures, policy, upstream",
    ["stage"],
    buckets=TIME_BUCKETS,
)
BUILD_INFO = Gauge(
    "tth_build_info", "Always 1; the version and Python", ["version", "python"],
    multiprocess_mode="max",
)


def registry() -> CollectorRegistry:
    """The registry to serve: every worker's values in multiprocess mode, else this one's."""
    if multiprocess_directory() is None:
        return REGISTRY
    collected = CollectorRegistry()
    _multiprocess.MultiProcessCollector(collected)  # type: ignore[no-untyped-call]
    return collected


def multiprocess_directory() -> Path | None:
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None
