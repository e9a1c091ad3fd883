"""`python -m heliograph` runs the command-line interface."""

from heliograph.cli.main import app

app()
