"""Durable state in SQLite (or any SQLAlchemy URL): message metadata and server state. No audio here."""
