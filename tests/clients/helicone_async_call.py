"""Run by tests/api/test_otlp_clients.py in helicone-async's own venv: one OpenAI call, traced.

Arguments: Heliograph's base URL, its API key, the fake upstream's base URL, the session id.
"""

import os
import sys

os.environ["TRACELOOP_TELEMETRY"] = "false"  # no usage reports to Traceloop from a test

from helicone_async import HeliconeAsyncLogger
from openai import OpenAI

heliograph, key, upstream, session_id = sys.argv[1:5]
logger = HeliconeAsyncLogger(api_key=key, base_url=f"{heliograph}/v1/trace/log-python")
logger.init()
logger.set_properties(
    {
        "Helicone-Session-Id": session_id,
        "Helicone-Session-Path": "/plan/search",
        "Helicone-Session-Name": "Trip planner",
        "Helicone-User-Id": "user-7",
        "Helicone-Property-Prompt-Version": "B",
    }
)
client = OpenAI(base_url=f"{upstream}/v1", api_key="sk-upstream-fake", max_retries=0)
client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Plan a trip"}])
# Batching is off in helicone-async: the span was exported, and committed, when the call ended.
