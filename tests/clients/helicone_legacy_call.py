"""Run by tests/clients/test_helicone_legacy.py in the legacy `helicone` package's own venv (1.0.14, with
openai 0.27): log one call through `/oai/v1/log`, then rate it through the gateway's feedback route.

Arguments: Heliograph's base URL, its API key, the request id to log the call under.
"""

import datetime
import sys

from helicone.async_logger.async_logger import (
    HeliconeAsyncLogger,
    HeliconeAyncLogRequest,
    Provider,
    ProviderRequest,
    ProviderResponse,
    Timing,
)
from helicone.globals import helicone_global
from helicone.openai_proxy.openai_injector import injector

heliograph, key, request_id = sys.argv[1:4]
helicone_global.fail_on_error = True
started = datetime.datetime.now(tz=datetime.UTC)
HeliconeAsyncLogger(base_url=heliograph, api_key=key).log(
    HeliconeAyncLogRequest(
        providerRequest=ProviderRequest(
            url="https://api.openai.com/v1/chat/completions",
            json={"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "Say hi"}]},
            meta={"Helicone-Request-Id": request_id, "Helicone-Property-Client": "helicone-1.0.14"},
        ),
        providerResponse=ProviderResponse(
            json={
                "id": "chatcmpl-legacy",
                "model": "gpt-3.5-turbo-0613",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}}],
                "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10},
            },
            status=200,
            headers={},
        ),
        timing=Timing.from_datetimes(started, started + datetime.timedelta(milliseconds=250)),
    ),
    Provider.OPENAI,
)
helicone_global.api_key = key
helicone_global.proxy_url = f"{heliograph}/openai/v1"
sys.stdout.write(f"{injector.log_feedback({'helicone': {'id': request_id}}, 'rating', True)}\n")
