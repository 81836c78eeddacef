"""Admin changes and refused admin requests leave audit lines (the runbook's key-compromise step)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.conftest import ADMIN_KEY


async def test_admin_changes_and_refusals_are_audited(
    client: Any, admin_headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="folionaut.audit")
    created = await client.post("/api/v1/admin/content", headers=admin_headers,
                                json={"type": "note", "data": {"title": "Hi"}})
    item_id = (await created.json())["data"]["id"]
    await client.get(f"/api/v1/admin/content/{item_id}", headers=admin_headers)  # a read: not audited
    await client.delete(f"/api/v1/admin/content/{item_id}", headers={"X-Admin-Key": "wrong" * 8})

    lines = [(r.levelname, r.getMessage(), getattr(r, "ipHash", None)) for r in caplog.records
             if r.name == "folionaut.audit"]
    assert lines[0][:2] == ("INFO", "admin POST /api/v1/admin/content answered 201 (admin key)")
    assert lines[1][:2] == ("WARNING", "admin request refused (401 UNAUTHORIZED): invalid credentials")
    assert len(lines) == 2
    assert all(ip_hash and "127.0.0.1" not in ip_hash for _, _, ip_hash in lines)
    assert all(ADMIN_KEY not in record.getMessage() for record in caplog.records)
