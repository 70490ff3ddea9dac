"""Who may see and do what: the one definition (issue 14). `Access` answers which records
and fields a principal sees (visibility.py); roles.py which actions it may take."""

from mineaction.access.roles import PUBLIC, ROLES, Policy, Principal, Role
from mineaction.access.visibility import Access

__all__ = ["PUBLIC", "ROLES", "Access", "Policy", "Principal", "Role"]
