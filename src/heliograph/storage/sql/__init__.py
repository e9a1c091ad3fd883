"""The SQL backend: SQLite (embedded default) and PostgreSQL behind one SQLAlchemy Core schema."""
