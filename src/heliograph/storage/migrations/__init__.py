"""Alembic migrations for the SQL backend, and the function that applies them."""
