"""Baseline for the fan-out benchmark: a stock ASGI service, one task and one queue per client, as a typical
service would write it: Starlette's StreamingResponse (SSE at /stream) and WebSocket endpoint (/ws) on uvicorn
with uvloop, httptools and the websockets library. GET /lag answers the worst event-loop lag since the last call.

    python bench/_stock_server.py PORT
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import sys
import time
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


def build() -> Starlette:
    queues: set[asyncio.Queue[bytes]] = set()
    counter = [0]
    worst = [0.0, 0.0]

    async def probe() -> None:
        while True:
            asked, ran = time.perf_counter(), time.thread_time()
            await asyncio.sleep(0.001)
            lag = time.perf_counter() - asked - 0.001
            worst[0] = max(worst[0], lag)
            worst[1] = max(worst[1], min(lag, time.thread_time() - ran))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(probe())
        yield
        task.cancel()

    async def stream(request: Request) -> StreamingResponse:
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=256)
        queues.add(queue)

        async def events() -> AsyncIterator[bytes]:
            try:
                yield b"event: hello\ndata: {}\n\n"
                while True:
                    data = await queue.get()
                    yield b"event: alert.issued\ndata: " + data + b"\n\n"
            finally:
                queues.discard(queue)

        return StreamingResponse(events(), media_type="text/event-stream")

    async def websocket(ws: WebSocket) -> None:
        await ws.accept()
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=256)
        queues.add(queue)
        try:
            await ws.send_text('{"type":"hello"}')
            while True:
                await ws.send_text((await queue.get()).decode())
        except WebSocketDisconnect:
            pass
        finally:
            queues.discard(queue)

    async def publish(request: Request) -> PlainTextResponse:
        counter[0] += 1
        data = json.dumps({"seq": counter[0], "type": "alert.issued", "alert": {"id": str(counter[0])}}).encode()
        for queue in queues:
            queue.put_nowait(data)
        return PlainTextResponse("ok")

    async def lag(request: Request) -> JSONResponse:
        value = {"worst_s": worst[0], "busy_s": worst[1]}
        worst[0] = worst[1] = 0.0
        return JSONResponse(value)

    return Starlette(
        routes=[
            Route("/stream", stream),
            WebSocketRoute("/ws", websocket),
            Route("/publish", publish, methods=["POST"]),
            Route("/lag", lag),
        ],
        lifespan=lifespan,
    )


if __name__ == "__main__":
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    uvicorn.run(
        build(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", backlog=4096, ws_ping_interval=None
    )
