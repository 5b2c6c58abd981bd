"""The front's fan-out engine over real sockets: WebSocket clients that stop reading, fan-outs written in slices
(order kept across events and clients), fragmented client messages and the WebSocket handshake."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

from sirena import testing
from sirena.domain import AlertDraft, Target
from sirena.protocol import sse, ws
from sirena.runtime import Runtime


async def issue(rt: Runtime, region: str = "31", text: str = "") -> str:
    draft = AlertDraft(target=Target(regions=(region,)), instruction={"en": text} if text else {})
    return (await rt.service.issue(draft)).event.alert.id


class RawWebSocket:
    """A WebSocket client on a plain socket, read only when asked (to play a client that stops reading)."""

    def __init__(self, base: str, query: str = "") -> None:
        self.url = base.replace("http://", "ws://") + "/api/v1/ws" + query
        self.proto = ClientProtocol(parse_uri(self.url))
        self.sock = socket.socket()
        self.frames: list[Frame] = []
        self.eof = False

    async def open(self, rcvbuf: int | None = None) -> None:
        loop = asyncio.get_running_loop()
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.setblocking(False)
        uri = parse_uri(self.url)
        await loop.sock_connect(self.sock, (uri.host, uri.port))
        self.proto.send_request(self.proto.connect())
        await self._send()

    async def _send(self) -> None:
        for data in self.proto.data_to_send():
            if data:
                await asyncio.get_running_loop().sock_sendall(self.sock, data)

    async def read(self) -> None:
        data = await asyncio.get_running_loop().sock_recv(self.sock, 1 << 20)
        if data:
            self.proto.receive_data(data)
        else:
            self.eof = True
            self.proto.receive_eof()
        self.frames.extend(e for e in self.proto.events_received() if isinstance(e, Frame))
        await self._send()

    def texts(self) -> list[dict[str, Any]]:
        return [json.loads(f.data) for f in self.frames if f.opcode is Opcode.TEXT]

    async def until(self, predicate: Any, within: float = 10) -> None:
        async with asyncio.timeout(within):
            while not predicate() and not self.eof:
                await self.read()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Runtime, str]]:
    settings = testing.settings_for(tmp_path, stream_client_buffer_bytes=4096, stream_queue_size=1000, ws_hello_s=0)
    async with testing.running(settings) as rt, testing.serve(rt) as base:
        yield rt, base


async def test_a_websocket_client_that_stops_reading_gets_1013_after_what_it_had(served: tuple[Runtime, str]) -> None:
    rt, base = served
    stuck = RawWebSocket(base)
    await stuck.open(rcvbuf=4096)
    await stuck.until(lambda: any(t.get("type") == "snapshot" for t in stuck.texts()))
    try:
        async with connect(base.replace("http://", "ws://") + "/api/v1/ws") as healthy:
            assert json.loads(await healthy.recv())["type"] == "snapshot"
            ids = []
            for i in range(400):  # enough to fill the kernel's buffers on both sides, then ours
                ids.append(await issue(rt, text="x" * 60_000 + str(i)))
                if rt.hub.stats.dropped_clients:
                    break
            assert rt.hub.stats.dropped_clients == 1
            received = [json.loads(await asyncio.wait_for(healthy.recv(), 10))["alert"]["id"] for _ in ids]
            assert received == ids
        await stuck.until(lambda: stuck.proto.close_rcvd is not None, within=30)
        assert stuck.proto.close_rcvd is not None
        assert stuck.proto.close_rcvd.code == 1013
        got = [t["alert"]["id"] for t in stuck.texts() if "alert" in t]
        assert got == ids[: len(got)]  # whole frames, in order, up to where it fell behind
        await stuck.until(lambda: False)  # the server ends the connection after the closing handshake
        assert stuck.eof
    finally:
        stuck.sock.close()
    for _ in range(100):
        if rt.hub.direct_count == 0:
            break
        await asyncio.sleep(0.02)
    async with httpx.AsyncClient(base_url=base) as http:
        page = (await http.get("/metrics")).text
    assert "sirena_websocket_clients 0.0" in page
    assert "sirena_stream_dropped_clients_total 1.0" in page


async def test_a_fan_out_written_in_slices_keeps_every_clients_order(tmp_path: Path) -> None:
    settings = testing.settings_for(tmp_path, stream_slice_ms=0.000_001, ws_hello_s=0)
    async with testing.running(settings) as rt, testing.serve(rt) as base:
        host, port = base.removeprefix("http://").split(":")
        for region in ("31", "14", "8", "9", "4", "27"):
            await issue(rt, region)
        events = await rt.store.events_after(0)
        sse_clients = []
        for _ in range(300):  # more than one slice (32 clients between looks at the clock)
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(f"GET /api/v1/stream?since_seq={len(events)} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            sse_clients.append((reader, writer))
        sockets = [RawWebSocket(base, f"?since_seq={len(events)}") for _ in range(150)]
        for raw in sockets:
            await raw.open()
        for _ in range(200):
            if sum(len(g.clients) for g in rt.hub.direct.values()) == 450:
                break
            await asyncio.sleep(0.02)
        assert sum(len(g.clients) for g in rt.hub.direct.values()) == 450
        for event in events:  # a burst: every event's fan-out is queued behind the one before
            rt.hub.publish(event)
        expected = [e.seq for e in events]
        for reader, writer in sse_clients:
            body = b""
            async with asyncio.timeout(10):
                while body.count(b"\n\nid: ") + body.startswith(b"id: ") < len(expected):
                    body += await reader.read(65536)
            seqs = [int(e["id"]) for e in sse.parse(body.partition(b"\r\n\r\n")[2].decode()) if "id" in e]
            assert seqs == expected
            writer.close()
        for raw in sockets:
            await raw.until(lambda raw=raw: len([t for t in raw.texts() if "seq" in t]) >= len(expected))
            assert [t["seq"] for t in raw.texts()] == expected
            raw.sock.close()


async def test_fragmented_filters_and_the_frames_the_hub_writes(served: tuple[Runtime, str]) -> None:
    rt, base = served
    async with connect(base.replace("http://", "ws://") + "/api/v1/ws") as ws_client:
        assert json.loads(await ws_client.recv())["type"] == "snapshot"
        await ws_client.send(iter(['{"regions": ', '["14"], "statuses": ["all"]}']))  # three frames
        assert json.loads(await ws_client.recv()) == {"type": "snapshot", "seq": 0, "alerts": []}
        await issue(rt, "31")
        kharkiv = await issue(rt, "14")
        got = json.loads(await ws_client.recv())
        assert (got["seq"], got["alert"]["id"]) == (2, kharkiv)


@pytest.mark.parametrize("size", [0, 125, 126, 65_535, 65_536, 70_000])
def test_frames_are_what_the_websocket_library_would_send(size: int) -> None:
    payload = ("ї" * size).encode()[:size]
    assert ws.text(payload) == Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
    assert ws.close(1013, "resume") == Frame(Opcode.CLOSE, b"\x03\xf5resume").serialize(mask=False, extensions=[])


async def test_a_bad_handshake_is_refused_and_other_upgrades_pass_through(served: tuple[Runtime, str]) -> None:
    _, base = served
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"GET /api/v1/ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n".encode()
    )
    answer = await asyncio.wait_for(reader.read(), 5)  # no Sec-WebSocket-Key: refused, connection closed
    assert answer.startswith(b"HTTP/1.1 400")
    writer.close()
    async with httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/api/v1/ws")).status_code in {400, 404, 426}  # not an upgrade: the app's answer
