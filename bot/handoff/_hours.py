"""When advisers work: ``Mon-Fri 09:00-17:00`` in a named time zone (``24:00`` ends at midnight)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Optional
from zoneinfo import ZoneInfo

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_SPEC = re.compile(r"^\s*(\w{3})(?:\s*-\s*(\w{3}))?\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class AdviserHours:
    def __init__(self, spec: str = "Mon-Fri 09:00-17:00", timezone: str = "Europe/London"):
        match = _SPEC.match(spec.lower())
        if not match or match.group(1) not in DAYS or (match.group(2) and match.group(2) not in DAYS):
            raise ValueError(f"adviser hours {spec!r} must look like 'Mon-Fri 09:00-17:00'")
        first = DAYS.index(match.group(1))
        last = DAYS.index(match.group(2) or match.group(1))
        self.days = {d % 7 for d in range(first, last + 1 if last >= first else last + 8)}
        self.start = dt.time(int(match.group(3)), int(match.group(4)))
        end = (int(match.group(5)), int(match.group(6)))
        self.end = None if end == (24, 0) else dt.time(*end)  # None: until midnight
        self.zone = ZoneInfo(timezone)
        self.spec = spec

    def is_open(self, at: Optional[dt.datetime] = None) -> bool:
        local = (at or dt.datetime.now(dt.timezone.utc)).astimezone(self.zone)
        return (
            local.weekday() in self.days
            and self.start <= local.time()
            and (self.end is None or local.time() < self.end)
        )

    def next_opening(self, at: Optional[dt.datetime] = None) -> dt.datetime:
        local = (at or dt.datetime.now(dt.timezone.utc)).astimezone(self.zone)
        for offset in range(0, 8):
            day = (local + dt.timedelta(days=offset)).date()
            opening = dt.datetime.combine(day, self.start, tzinfo=self.zone)
            if day.weekday() in self.days and opening > local:
                return opening
        raise ValueError("adviser hours include no working day")

    def describe(self) -> str:
        return self.spec
