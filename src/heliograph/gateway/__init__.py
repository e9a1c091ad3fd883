"""The gateway: a proxy to OpenAI, Anthropic or any OpenAI-compatible upstream that logs every call."""
