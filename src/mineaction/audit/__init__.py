"""The audit trail: an append-only, hash-chained log of every write and every read of
personal data (issue 3). `mineaction.audit.log.attach(store)` hooks it into a store's write
listeners. Nothing is imported here: store/schema.py imports audit.schema while the store
package is still loading."""
