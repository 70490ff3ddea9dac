"""The audit trail: an append-only, hash-chained log of every write and every read of
personal data (issue 3). `attach(store)` hooks it into a store's write listeners."""

from mineaction.audit.log import attach, log_read, verify

__all__ = ["attach", "log_read", "verify"]
