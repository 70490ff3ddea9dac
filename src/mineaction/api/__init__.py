"""The HTTP API: app factory (app.py), settings, one router per resource, typed errors."""
