"""Baseline for the fan-out benchmark: a stock ASGI stream, one task and one queue per client
(Starlette's StreamingResponse on uvicorn with uvloop and httptools, as a typical service would write it)."""

from __future__ import annotations

import asyncio
import resource
import sys
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route


def build() -> Starlette:
    queues: set[asyncio.Queue[bytes]] = set()
    counter = [0]

    async def stream(request: Request) -> StreamingResponse:
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=256)
        queues.add(queue)

        async def events() -> AsyncIterator[bytes]:
            try:
                yield b"event: hello\ndata: {}\n\n"
                while True:
                    yield await queue.get()
            finally:
                queues.discard(queue)

        return StreamingResponse(events(), media_type="text/event-stream")

    async def publish(request: Request) -> PlainTextResponse:
        counter[0] += 1
        frame = f'id: {counter[0]}\nevent: alert.issued\ndata: {{"seq": {counter[0]}}}\n\n'.encode()
        for queue in queues:
            queue.put_nowait(frame)
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/stream", stream), Route("/publish", publish, methods=["POST"])])


if __name__ == "__main__":
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    uvicorn.run(build(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", backlog=4096)
