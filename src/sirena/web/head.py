"""``HEAD`` answered as ``GET`` would be, without the body (RFC 9110 §9.3.2), as plain ASGI middleware.

A ``HEAD`` request runs the ``GET`` route of its path, so the status and headers (``Content-Length`` included
where ``GET`` gives one) are the same; the response ends as soon as it starts and whatever body the route goes on
to send is dropped. A live stream (``/api/v1/stream``) answers with its headers and ends at once: after the end
the stream is told the client has gone, so it stops instead of running on. A path without ``GET`` stays 405;
an ``Allow`` header that names ``GET`` names ``HEAD`` too (added where 405 problems are written, in
:mod:`sirena.web.problems`).
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        ended = asyncio.Event()
        received = False

        async def receive_until_ended() -> Message:
            nonlocal received
            if not received:  # the request itself; then only the end, when the response has been sent
                received = True
                return await receive()
            await ended.wait()
            return {"type": "http.disconnect"}

        async def send_head(message: Message) -> None:
            if ended.is_set() or message["type"] != "http.response.start":
                return
            await send(message)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            ended.set()

        await self.app({**scope, "method": "GET"}, receive_until_ended, send_head)
