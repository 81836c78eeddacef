"""The receiver README.md shows ("Rebuild your site on publish") works: run as written, it takes our signed
deliveries, refuses a forged one, and handles a repeated webhook-id once."""

from __future__ import annotations

import asyncio
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from folionaut.webhooks.signing import signed_headers
from tests.webhooks.conftest import change_item, create_item, create_webhook, drained, log_of, runtime_of

README = Path(__file__).resolve().parents[2] / "README.md"
WAIT_SECONDS = 15.0


def readme_receiver() -> str:
    text = README.read_text(encoding="utf-8")
    block = text[text.index("<!-- webhook-receiver:begin -->"):text.index("<!-- webhook-receiver:end -->")]
    [code] = re.findall(r"```python\n(.*?)```", block, re.DOTALL)
    return code


def receiver_headers(secret: str, message_id: str, body: bytes) -> dict[str, str]:
    return signed_headers(secret, message_id, int(time.time()), body)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def started(port: int, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        assert process.returncode is None, "the README's receiver exited"
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError("the README's receiver did not start listening")


async def test_the_readme_receiver_verifies_and_handles_each_delivery_once(
        api: TestClient, admin_headers: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "receiver.py"
    script.write_text(readme_receiver())
    port = free_port()
    webhook = await create_webhook(api, admin_headers, url=f"http://127.0.0.1:{port}/")
    env = {"FOLIONAUT_WEBHOOK_SECRET": webhook["secret"], "PORT": str(port), "PATH": "/usr/bin:/bin"}
    process = await asyncio.create_subprocess_exec(sys.executable, str(script), env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        await started(port, process)
        item = await create_item(api, admin_headers, data={"title": "Readme"})
        await change_item(api, admin_headers, item["id"], status="published")
        await drained(runtime_of(api))
        log = await log_of(api, admin_headers, webhook["id"])
        assert [(line["status"], line["statusCode"]) for line in log] == [("delivered", 204)] * 2

        # A forged delivery (wrong signature) and an unsigned one are refused.
        async with aiohttp.ClientSession() as session:
            forged = {"webhook-id": "msg_forged", "webhook-timestamp": str(int(time.time())),
                      "webhook-signature": "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}
            async with session.post(f"http://127.0.0.1:{port}/", data=b"{}", headers=forged) as response:
                assert response.status == 401
            async with session.post(f"http://127.0.0.1:{port}/", data=b"{}") as response:
                assert response.status == 401
        # The same delivery again (our answer lost, say): accepted, handled once.
        again = receiver_headers(webhook["secret"], log[0]["deliveryId"], b'{"type":"content.published"}')
        async with aiohttp.ClientSession() as session:
            async with session.post(f"http://127.0.0.1:{port}/", data=b'{"type":"content.published"}',
                                    headers=again) as response:
                assert response.status == 204
        test_send: dict[str, Any] = (await (await api.post(
            f"/api/v1/admin/webhooks/{webhook['id']}/test", headers=admin_headers)).json())["data"]
        assert (test_send["delivered"], test_send["statusCode"]) == (True, 204)
    finally:
        process.terminate()
        async with asyncio.timeout(10):
            output, _ = await process.communicate()
    assert output.decode().splitlines() == ["content.created project readme", "content.published project readme"]
