"""Fixtures for chat tests: the fake OpenAI-compatible server and a sleep that never waits."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.helpers.fake_llm import FakeLLM, RecordingSleep


@pytest.fixture
async def fake_llm() -> AsyncIterator[FakeLLM]:
    async with FakeLLM() as server:
        yield server


@pytest.fixture
def recording_sleep() -> RecordingSleep:
    return RecordingSleep()
