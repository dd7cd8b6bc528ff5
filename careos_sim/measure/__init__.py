"""Measuring a run: the recorder (facts: counters and time-weighted levels), the metrics
(pure functions of facts) and the object-centric event log."""
