"""Harm: from defect workarounds, missed care, slips and failed communication.

A harm event is counted by source and patient group and lengthens the patient's stay.
Defect encounters decide their own harm (``defects.py``); this module adds harm from missed
care (a missed medication or assessment raises the patient's risk) and from slips, whose
chance rises with the nurse's exhaustion and with pressure to work harder.
"""

from __future__ import annotations

from typing import Any

import simpy

from careos_sim.measure.eventlog import NO_EVENT_LOG, NoEventLog
from careos_sim.measure.recorder import HARM_SOURCES, Recorder
from careos_sim.model.entities import Patient, Task
from careos_sim.model.streams import Stream
from careos_sim.model.tasks import TYPE_INDEX
from careos_sim.spec.scenario import SafetySpec
from careos_sim.clock import DAY

__all__ = ["Safety"]

SOURCE = {name: i for i, name in enumerate(HARM_SOURCES)}


class Safety:
    """Decides and records harm events."""

    def __init__(self, env: simpy.Environment, spec: SafetySpec, pressure_slip_factor: float, stream: Stream,
                 recorder: Recorder, event_log: NoEventLog = NO_EVENT_LOG):
        self.env = env
        self.cfg = spec
        self.pressure_slip = pressure_slip_factor  # leadership.pressure_slip_factor
        self.rec = recorder
        self.stream = stream  # the unit's ``safety`` stream
        self.event_log = event_log
        self._missed = {TYPE_INDEX["medication"]: self.cfg.missed_medication_harm,
                        TYPE_INDEX["assessment"]: self.cfg.missed_assessment_harm}
        # read once: a slip is decided for every task, and a spec's fields are slower to read
        self._slip_probability = spec.slip_probability
        self._slip_exhaustion = spec.slip_exhaustion_factor
        self._uniforms = stream.uniforms  # the stream's buffer (Stream: the same draw as random())

    def adopt(self, pressure_slip_factor: float) -> None:
        """Another leadership system from now on: how much its pressure raises slips."""
        self.pressure_slip = pressure_slip_factor

    def harm(self, patient: Patient, source: str, task: Task | None = None, defect: Any = None) -> None:
        """One harm event to ``patient``: counted, and the stay lengthened. ``task`` and ``defect``:
        the task it came about on and the defect met, where there is one (for the event log)."""
        self.rec.harmed(SOURCE[source], patient.lep)
        self.rec.log(self.env.now, "harm", patient=patient.index, task=source)
        self.event_log.harmed(self.env.now, patient, source, task, defect)
        patient.extra_minutes += self.cfg.harm_los_days * DAY

    def missed(self, task: Task) -> None:
        """A missed task may harm its patient."""
        p = self._missed.get(task.type_index, self.cfg.missed_other_harm) * task.patient.harm_factor
        if p > 0 and self.stream.random() < p:
            self.harm(task.patient, "missed_care", task)

    def slip(self, task: Task, exhaustion: float, pressure: float) -> None:
        """A task may end in a harmful slip: more likely when tired and pushed."""
        p = self._slip_probability * (1.0 + self._slip_exhaustion * exhaustion)
        p *= (1.0 + self.pressure_slip * pressure) * task.patient.harm_factor
        u = self._uniforms
        if (u.pop() if u else self.stream.random()) < p:
            self.harm(task.patient, "slip", task)
