"""Relaying server-sent events while removing the usage chunk the gateway itself asked OpenAI for."""

from __future__ import annotations

import orjson

__all__ = ["UsageChunkFilter"]

_EVENT_END = b"\n\n"


class UsageChunkFilter:
    """Feed upstream bytes in, get the bytes to forward out: every event but the usage-only one.

    Events are forwarded whole as soon as they are complete, so the caller still sees each chunk
    when the upstream sends it; the concatenation of what is forwarded equals what the upstream
    sent, minus the one event whose `choices` is empty and whose `usage` is set.
    """

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        self._pending += chunk
        end = self._pending.rfind(_EVENT_END)
        if end < 0:
            return b""
        complete, self._pending = (
            self._pending[: end + len(_EVENT_END)],
            self._pending[end + len(_EVENT_END) :],
        )
        events = complete.split(_EVENT_END)[:-1]
        return b"".join(event + _EVENT_END for event in events if not _is_usage_only(event))

    def flush(self) -> bytes:
        rest, self._pending = self._pending, b""
        return b"" if _is_usage_only(rest) else rest


def _is_usage_only(event: bytes) -> bool:
    for line in event.split(b"\n"):
        if not line.startswith(b"data:"):
            continue
        try:
            data = orjson.loads(line[5:].strip())
        except orjson.JSONDecodeError:
            return False
        return isinstance(data, dict) and data.get("choices") == [] and bool(data.get("usage"))
    return False
