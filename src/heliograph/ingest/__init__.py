"""Ingestion: validate logged calls, queue them, and commit them in shared batches."""
