"""One router per resource: records (one per entity kind), auth, users, imports, audit."""
