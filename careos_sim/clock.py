"""The model's one time vocabulary: simulated time is in minutes from the start of the run.

Every module that turns days, hours, weeks or years into the clock's minutes uses these
names; a run's day 0 starts at minute 0 (a Monday, for weekday profiles), and its weeks (the
periods of the weekly series) are counted from the end of the warm-up.
"""

from __future__ import annotations

__all__ = ["MINUTE", "HOUR", "SHIFT", "DAY", "WEEK", "YEAR", "MONTH", "INFINITY"]

MINUTE = 1.0
HOUR = 60.0 * MINUTE
SHIFT = 12.0 * HOUR  #: one 12-hour shift
DAY = 24.0 * HOUR
WEEK = 7.0 * DAY
YEAR = 365.25 * DAY  #: a mean calendar year (annual rates)
MONTH = YEAR / 12.0  #: a mean calendar month (30.4375 days)
INFINITY = float("inf")  #: never (a continuous roster's shift end)
