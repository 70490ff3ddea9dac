"""Users, roles, credentials and the permission rules the API enforces (issue 3)."""

from mineaction.auth.roles import ROLES, Principal, Role
from mineaction.auth.users import AuthError, UserDirectory

__all__ = ["ROLES", "AuthError", "Principal", "Role", "UserDirectory"]
