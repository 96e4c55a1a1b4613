"""A per-client limit on the public form, kept in this process's memory.

Each API replica counts on its own, so N replicas allow up to N times the limit; a shared
limit belongs in the reverse proxy in front of them.
"""

import math
import time
from collections import deque

from api.problems import ProblemError


class RateLimiter:
    """At most `limit` requests per client in any `window` seconds."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._seen: dict[str, deque[float]] = {}

    def check(self, client: str) -> None:
        if self.limit <= 0:
            return
        now = time.monotonic()
        seen = self._seen.setdefault(client, deque())
        while seen and now - seen[0] >= self.window:
            seen.popleft()
        if len(seen) >= self.limit:
            retry = max(1, math.ceil(self.window - (now - seen[0])))
            raise ProblemError(
                429,
                "Too many requests",
                f"at most {self.limit} submissions a minute; try again in {retry} s",
                headers={"Retry-After": str(retry)},
            )
        seen.append(now)
        if len(self._seen) > 10_000:  # forget idle clients so memory stays bounded
            for key in [k for k, v in self._seen.items() if not v or now - v[-1] > self.window]:
                del self._seen[key]
