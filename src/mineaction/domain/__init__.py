"""Entities, enumerations and validation rules. No I/O."""

from mineaction.domain.models import ENTITIES, Record, new_ids

__all__ = ["ENTITIES", "Record", "new_ids"]
