"""Test doubles and load drivers that the test suite and the benchmarks share (the server never
imports them): a fake OpenAI/Anthropic upstream, the fault-injection load and its stored-data check,
and the request bodies real clients send."""
