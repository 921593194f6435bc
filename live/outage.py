"""What a process does while a server it shares with the others (Redis) is down: skip it for a few seconds after
a failure instead of making every request wait for it, and say so once, not on every call."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Breaker:
    """Open for `cooldown` seconds after a failure: `allows()` is then False and callers take their fallback."""

    open_until: float = 0.0
    failures: int = 0
    cooldown: float = 5.0
    clock: Callable[[], float] = field(default=time.monotonic)

    def allows(self) -> bool:
        return self.clock() >= self.open_until

    def failed(self) -> None:
        self.failures += 1
        self.open_until = self.clock() + self.cooldown

    def succeeded(self) -> None:
        self.failures = 0
        self.open_until = 0.0
