"""Entities, enumerations and validation rules. No I/O."""

from mineaction.domain.models import ENTITIES, Record, record_id

__all__ = ["ENTITIES", "Record", "record_id"]
