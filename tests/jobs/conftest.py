"""Redis for the queue tests: skip with a reason on a laptop, fail when CI is set."""

from __future__ import annotations

import os

import pytest

REDIS_URL = os.environ.get("LOADBAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def require_redis() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:
        problem = f"Redis at {REDIS_URL} is not reachable: {exc}"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and {problem}")
        pytest.skip(problem)
