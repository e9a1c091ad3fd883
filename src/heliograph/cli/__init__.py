"""The `heliograph` command line: a thin shell over the functions the server uses."""
