"""Heliograph: self-hostable LLM observability, wire-compatible with Helicone."""

__version__ = "0.1.0"
