"""Users, roles, credentials and the permission rules the API enforces (issue 3): roles.py,
users.py, schema.py. Nothing is imported here: store/schema.py imports auth.schema while the
store package is still loading."""
