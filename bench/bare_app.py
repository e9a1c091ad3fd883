"""The ingest baseline: the same stack as `heliograph serve` (FastAPI on uvicorn, same options) with a
bare route that reads the body and answers `ok`. No auth, no parsing, no database.

Run: `.venv/bin/python bench/bare_app.py --port 8600`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

app = FastAPI(title="bare baseline")


@app.post("/oai/v1/log", response_class=PlainTextResponse)
async def log_call(request: Request) -> PlainTextResponse:
    await request.body()
    return PlainTextResponse("ok")


@app.get("/healthz", response_class=PlainTextResponse)
async def healthz() -> PlainTextResponse:
    return PlainTextResponse("ok")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="info", help="as `heliograph serve` (HELIOGRAPH_LOG_LEVEL)")
    parser.add_argument("--workers", type=int, default=1, help="as `heliograph serve --workers`")
    args = parser.parse_args()
    # The options `heliograph serve` passes to uvicorn.run, nothing more; worker processes import the app.
    uvicorn.run(
        app if args.workers == 1 else "bare_app:app",
        app_dir=str(Path(__file__).parent),
        workers=args.workers,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
