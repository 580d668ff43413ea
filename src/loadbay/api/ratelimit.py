"""A token bucket per tenant: ``LOADBAY_RATE_LIMIT`` requests a minute, bursts up to that.

Kept in the memory of each API process (no write to the database per request).
"""

from __future__ import annotations

import threading
import time

from loadbay.errors import RateLimited


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def hit(self, tenant: str) -> None:
        """Count one request; RateLimited (with ``retry_after`` seconds) past the limit."""
        if self.capacity <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(tenant, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[tenant] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
                raise RateLimited(
                    f"more than {int(self.capacity)} requests a minute for this tenant; "
                    f"retry in {wait:.1f} s",
                    retry_after=round(wait, 3),
                )
            self._buckets[tenant] = (tokens - 1.0, now)
