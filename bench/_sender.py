"""Baseline sender for the webhook benchmark: N POSTs of a webhook-sized JSON body to URL, at most C in flight,
over httpx keep-alive connections, from its own process (as Sirena's dispatcher is in its own), each signed with
SECRET as Sirena signs its own (so that the receiver checks both the same way).

    python bench/_sender.py URL N C SECRET
"""

from __future__ import annotations

import asyncio
import json
import sys

import httpx

from sirena.delivery.signing import Signer


async def main(url: str, n: int, concurrency: int, secret: str) -> None:
    body = json.dumps({"seq": 1, "type": "alert.issued", "alert": {"id": "x" * 26, "regions": ["31"]}}).encode()
    body += b" " * max(0, 900 - len(body))
    signer = Signer(secret)
    left = n

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            headers = {"content-type": "application/json", **dict(signer.headers(f"msg_{left}", body))}
            response = await client.post(url, content=body, headers=headers)
            response.raise_for_status()

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
