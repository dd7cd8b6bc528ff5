"""An object-centric event log of one replication, written as OCEL 2.0 JSON.

The model's components each carry an event log. By default it is :data:`NO_EVENT_LOG`, whose
methods do nothing, so a run without a log pays one empty call per event and draws nothing
differently. A run asked for a log (``run_replication(..., ocel_days=N)``) carries an
:class:`EventLog` instead, which keeps what happens in the first ``N`` days of the simulated
clock (warm-up included) and at most :data:`MAX_EVENTS` events; after either bound it records
nothing more. Recording reads the model's state and changes nothing the model reads (it only
tags each task it records with its object id): every number of a run is the same with the log
on or off.

What is recorded (docs/model.md, section 8, "Event logs"):

* **objects**: ``patient``, ``nurse``, ``task``, ``defect``, ``shift``, with their attributes,
  and object-to-object relations (a task is *for* its patient; a shift is *staffed by* its
  nurses);
* **events**: a patient on the unit at the start, boarded, admitted, diverted, discharged; a
  task created, started, completed, missed, cancelled (with the task's kind and priority); a
  nurse's shift start and end; a defect encountered, worked around, reported, fixed; harm to a
  patient. Each event is related to its objects with a qualifier (``patient``, ``task``,
  ``nurse``, ``shift``, ``defect``).

The writer produces the JSON form of OCEL 2.0 (``objectTypes``, ``eventTypes``, ``objects``,
``events`` with ``relationships``), as ``pm4py.read_ocel2_json`` reads it. Timestamps are ISO
8601 datetimes in UTC: minute 0 of the simulation clock (midnight of day 0) is
:data:`START`, 2025-01-06T00:00:00Z, a fixed date (the model has no calendar). Attributes
that hold a time (a task's due time, a shift's start) are written the same way.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

from careos_sim.spec.scenario import CATEGORIES, TASK_TYPES
from careos_sim.clock import DAY

__all__ = ["NoEventLog", "EventLog", "NO_EVENT_LOG", "START", "DEFAULT_DAYS", "MAX_DAYS", "MAX_EVENTS",
           "EVENT_TYPES", "OBJECT_TYPES", "minutes_of", "unit_slug", "check_event_log_options"]

#: minute 0 of the simulation clock, as written in the log
START = datetime(2025, 1, 6, tzinfo=timezone.utc)
#: days logged unless asked otherwise, and the most that can be asked for
DEFAULT_DAYS = 7.0
MAX_DAYS = 28.0
#: events one log keeps at most (about 100 MB of JSON); a log that reaches it ends there
MAX_EVENTS = 200_000
#: replications one command logs at most with "every replication"
MAX_LOGGED_REPLICATIONS = 20
#: the time OCEL 2.0 gives attribute values that hold from the start (not changed by an event)
_INITIAL = "1970-01-01T00:00:00Z"
ACUITY = ("low", "medium", "high")

#: object types and their attributes (name, OCEL type)
OBJECT_TYPES: dict[str, tuple[tuple[str, str], ...]] = {
    "patient": (("acuity", "string"), ("lep", "boolean"), ("stay_days", "float"), ("initial", "boolean")),
    "nurse": (("role", "string"),),
    "task": (("kind", "string"), ("priority", "integer"), ("due", "time"), ("deadline", "time"),
             ("minutes", "float")),
    "defect": (("category", "string"), ("owner", "string"), ("encounter_rate", "float")),
    "shift": (("kind", "string"), ("start", "time"), ("end", "time"), ("rostered", "integer"),
              ("short", "integer")),
    "unit": (("name", "string"), ("specialty", "string")),
}

#: event types and their attributes (name, OCEL type), in the order the recorder stores them
EVENT_TYPES: dict[str, tuple[tuple[str, str], ...]] = {
    "patient on unit at start": (),
    "board patient": (),
    "admit patient": (("boarded_minutes", "float"),),
    "divert patient": (("boarded_minutes", "float"),),
    "discharge patient": (("stay_days", "float"),),
    "create task": (("kind", "string"), ("priority", "integer")),
    "start task": (("kind", "string"), ("priority", "integer"), ("minutes", "float"), ("late_minutes", "float")),
    "complete task": (("kind", "string"), ("priority", "integer")),
    "miss task": (("kind", "string"), ("priority", "integer"), ("reason", "string")),
    "cancel task": (("kind", "string"), ("priority", "integer")),
    "start shift": (("role", "string"),),
    "end shift": (("overtime_minutes", "float"), ("exhaustion", "float")),
    "encounter defect": (("category", "string"), ("near_miss", "boolean")),
    "work around defect": (("category", "string"), ("minutes", "float")),
    "report defect": (("category", "string"), ("minutes", "float")),
    "fix defect": (("category", "string"), ("by", "string"), ("sustained", "boolean")),
    "harm patient": (("source", "string"),),
}
_TYPE_INDEX = {name: i for i, name in enumerate(EVENT_TYPES)}
_TYPE_NAMES = tuple(EVENT_TYPES)
(_CENSUS, _BOARD, _ADMIT, _DIVERT, _DISCHARGE, _CREATE, _START, _COMPLETE, _MISS, _CANCEL, _ON, _OFF,
 _ENCOUNTER, _WORKAROUND, _REPORT, _FIX, _HARM) = range(len(EVENT_TYPES))


def _iso(minutes: float) -> str:
    """An ISO 8601 UTC datetime (milliseconds) for a minute of the simulation clock."""
    text = (START + timedelta(minutes=minutes)).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def minutes_of(iso: str) -> float:
    """The simulation minute of a timestamp written by :class:`EventLog` (the inverse of its clock)."""
    when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (when - START).total_seconds() / 60.0


class NoEventLog:
    """The event log every component carries by default: each method does nothing.

    :class:`EventLog` has the same methods and records; the model calls them unconditionally
    where things happen, with the model's own objects (patients, tasks, nurses, defects).
    """

    __slots__ = ()

    recording = False

    # ------------------------------------------------------------------ patients
    def patient_at_start(self, now: float, patient: Any) -> None:
        """A patient of the initial census, on the unit at time 0 (not an admission)."""

    def patient_boarded(self, now: float, patient: Any) -> None:
        """An admission found no free bed (or others waiting) and boards."""

    def patient_admitted(self, now: float, patient: Any, boarded: float) -> None:
        """A patient takes a bed, after ``boarded`` minutes boarding."""

    def patient_diverted(self, now: float, patient: Any, boarded: float) -> None:
        """A boarding patient is diverted after ``boarded`` minutes."""

    def patient_discharged(self, now: float, patient: Any) -> None:
        """A patient leaves the unit (discharge work done)."""

    # ------------------------------------------------------------------ tasks
    def task_created(self, now: float, task: Any) -> None:
        """A task enters the unit's work (queued, or handed to an idle nurse)."""

    def task_started(self, now: float, task: Any, nurse: Any, minutes: float) -> None:
        """A nurse starts a task that will take ``minutes`` in all."""

    def task_finished(self, now: float, task: Any, nurse: Any) -> None:
        """A nurse finishes working on a task: completed, or missed if a defect made it impossible."""

    def task_missed(self, now: float, task: Any) -> None:
        """A task not started within its window is dropped (missed care)."""

    def task_cancelled(self, now: float, task: Any) -> None:
        """A queued task of a patient who has left is dropped."""

    # ------------------------------------------------------------------ nurses and shifts
    def shift_rostered(self, now: float, start: float, end: float, day: bool, size: int, nurses: list) -> None:
        """A roster shift from ``start`` to ``end`` with ``size`` slots, staffed with ``nurses``."""

    def nurse_on(self, now: float, nurse: Any, end: float, floating: bool) -> None:
        """A nurse comes on duty until ``end`` (a roster shift, a float block, or always)."""

    def nurse_off(self, now: float, nurse: Any, overtime: float) -> None:
        """A nurse goes off duty after ``overtime`` minutes past the end of her shift."""

    # ------------------------------------------------------------------ defects and harm
    def defect_encountered(self, now: float, defect: Any, task: Any, nurse: Any, workaround: float,
                           near_miss: bool) -> None:
        """A nurse meets a defect on a task and works around it for ``workaround`` minutes."""

    def defect_reported(self, now: float, defect: Any, nurse: Any, minutes: float) -> None:
        """A nurse reports a defect she met (``minutes`` of her time)."""

    def defect_fixed(self, now: float, defect: Any, sustained: bool) -> None:
        """A working fix of a defect (by the unit or its owning department)."""

    def harmed(self, now: float, patient: Any, source: str, task: Any = None, defect: Any = None) -> None:
        """A harm event to ``patient`` from ``source`` (defect, missed_care, slip, communication)."""


#: the do-nothing event log, shared by every component that has not been given one
NO_EVENT_LOG = NoEventLog()


class EventLog(NoEventLog):
    """Records the events of the first ``days`` of a replication (and at most ``max_events``).

    In memory the log holds plain tuples and strings, never the model's objects, so it can be
    sent back from a worker process; :meth:`to_ocel` and :meth:`write` give the OCEL 2.0 JSON.
    """

    __slots__ = ("days", "max_events", "events", "objects", "links", "truncated", "_stop", "_tasks", "_shift",
                 "_shifts", "_on_shift", "_floats", "_known", "_root", "_prefix", "_unit", "_pool_ids")

    recording = True

    def __init__(self, days: float = DEFAULT_DAYS, max_events: int = MAX_EVENTS):
        if not (days > 0) or math.isinf(days):
            raise ValueError(f"days must be a positive number, not {days!r}")
        self.days = float(days)
        self.max_events = int(max_events)
        #: (minute, event type index, the related objects' ids separated by spaces, *attribute values
        #: in the order of EVENT_TYPES); each object is related with its type as the qualifier
        self.events: list[tuple] = []
        #: object id -> (type, *attribute values in the order of OBJECT_TYPES, None where absent); a
        #: time is kept in minutes of the simulation clock and written as a datetime
        self.objects: dict[str, tuple] = {}
        #: object-to-object relations: (object id, related object id, qualifier)
        self.links: list[tuple[str, str, str]] = []
        self.truncated = False  # the event cap ended the log before its last day
        self._stop = self.days * DAY  # nothing at or after this minute is recorded
        self._tasks = 0
        self._shift: str | None = None  # the roster shift being staffed
        self._shifts = 0
        self._floats = 0
        self._on_shift: dict[str, str] = {}  # nurse object id -> the shift she is on
        self._known: set[int] = set()  # ids of defects with an object already
        # A unit's view of a hospital's log (:meth:`for_unit`) shares the events, objects, links, task
        # numbers and the cap with the hospital's log, its root; the log of a unit alone is its own root.
        self._root: EventLog = self
        self._prefix = ""  # put before the ids of the unit's own objects (nurses, shifts, defects)
        self._unit: str | None = None  # the unit's object id, related to every event of the view
        self._pool_ids: int | None = None  # nurses with ids from this one up are a float pool's

    def for_unit(self, name: str, specialty: str, pool_ids_from: int | None = None) -> "EventLog":
        """The view of this (a hospital's) log that one unit records into.

        Its events go into this log, each related to a ``unit`` object for the unit, and the ids
        of the unit's own nurses, shifts and defects are qualified by the unit's name (the
        numbers restart on every unit). Patients and tasks keep hospital-wide ids: a patient is
        one object wherever she is cared for (patients' numbers are the hospital's, and a patient
        moved to another unit is the same patient), and tasks are numbered across the log.
        Nurses with ids from ``pool_ids_from`` up belong to the hospital's float pool and are
        one object (``float-pool/nurse-K``) on whichever unit they work."""
        view = EventLog(self.days, self.max_events)
        view.events, view.objects, view.links, view._root = self.events, self.objects, self.links, self
        slug = base = unit_slug(name)
        k = 1
        while f"unit-{slug}" in self.objects:  # names that differ only in case or punctuation
            k += 1
            slug = f"{base}-{k}"
        view._prefix = f"{slug}/"
        view._unit = f"unit-{slug}"
        view._pool_ids = pool_ids_from
        self.objects[view._unit] = ("unit", name, specialty)
        return view

    # ------------------------------------------------------------------ recording
    # An event is one flat tuple, (minute, type, "object ids", *attribute values), and an object one
    # tuple, (type, *attribute values): few containers, so that a long log adds little to the
    # garbage collector's work, and none that refer to the model.

    def _add(self, event: tuple) -> None:
        root = self._root
        if root.truncated:  # another unit's view reached the cap
            self._stop = -math.inf
            return
        if self._unit is not None:
            event = (event[0], event[1], f"{event[2]} {self._unit}", *event[3:])
        self.events.append(event)
        if len(self.events) >= self.max_events:
            root.truncated = True
            self._stop = -math.inf

    def _patient(self, patient: Any, initial: bool = False) -> str:
        oid = f"patient-{patient.index}"
        if oid not in self.objects:
            self.objects[oid] = ("patient", ACUITY[patient.acuity], bool(patient.lep), patient.los / DAY, initial)
        return oid

    def _nurse(self, nurse: Any, floating: bool = False) -> str:
        if not nurse.agency:
            if self._pool_ids is not None and nurse.id >= self._pool_ids:
                oid, role = f"float-pool/nurse-{nurse.id - self._pool_ids}", "float pool"
            else:
                oid, role = f"{self._prefix}nurse-{nurse.id}", "staff"
        else:
            role = "float" if floating else "agency"
            oid = f"{self._prefix}{role}-{-nurse.id}"
        if oid not in self.objects:
            self.objects[oid] = ("nurse", role)
        return oid

    def _nurse_id(self, nurse: Any) -> str:
        """The object id of a nurse already on duty (she has one: she came on while logged, or earlier)."""
        if not nurse.agency:
            return self._nurse(nurse)
        for role in ("agency", "float"):
            oid = f"{self._prefix}{role}-{-nurse.id}"
            if oid in self.objects:
                return oid
        return self._nurse(nurse)

    def _defect(self, defect: Any) -> str:
        oid = f"{self._prefix}defect-{defect.id}"
        if defect.id not in self._known:
            self._known.add(defect.id)
            self.objects[oid] = ("defect", CATEGORIES[defect.category], defect.owner, defect.base_rate)
        return oid

    # ------------------------------------------------------------------ patients
    def patient_at_start(self, now, patient):
        if now < self._stop:
            self._add((now, _CENSUS, self._patient(patient, initial=True)))

    def patient_boarded(self, now, patient):
        if now < self._stop:
            self._add((now, _BOARD, self._patient(patient)))

    def patient_admitted(self, now, patient, boarded):
        if now < self._stop:
            self._add((now, _ADMIT, self._patient(patient), boarded))

    def patient_diverted(self, now, patient, boarded):
        if now < self._stop:
            self._add((now, _DIVERT, self._patient(patient), boarded))

    def patient_discharged(self, now, patient):
        if now < self._stop:
            self._add((now, _DISCHARGE, self._patient(patient), (now - patient.admitted_at) / DAY))

    # ------------------------------------------------------------------ tasks
    def task_created(self, now, task):
        if now >= self._stop:
            return
        root = self._root
        root._tasks += 1
        oid = task.oid = f"task-{root._tasks}"
        kind = TASK_TYPES[task.type_index]
        patient = self._patient(task.patient)
        self.objects[oid] = ("task", kind, task.priority, task.due, task.deadline, task.minutes)
        self.links.append((oid, patient, "for"))
        self._add((now, _CREATE, f"{oid} {patient}", kind, task.priority))

    def task_started(self, now, task, nurse, minutes):
        if now >= self._stop or task.oid is None:
            return
        nid = self._nurse_id(nurse)
        shift = self._on_shift.get(nid)
        oids = f"{task.oid} {self._patient(task.patient)} {nid}" + ("" if shift is None else f" {shift}")
        self._add((now, _START, oids, TASK_TYPES[task.type_index], task.priority, minutes,
                   max(0.0, now - task.due)))

    def task_finished(self, now, task, nurse):
        if now >= self._stop or task.oid is None:
            return
        oids = f"{task.oid} {self._patient(task.patient)} {self._nurse_id(nurse)}"
        if task.failed:
            self._add((now, _MISS, oids, TASK_TYPES[task.type_index], task.priority, "made impossible by a defect"))
        else:
            self._add((now, _COMPLETE, oids, TASK_TYPES[task.type_index], task.priority))

    def task_missed(self, now, task):
        if now < self._stop and task.oid is not None:
            self._add((now, _MISS, f"{task.oid} {self._patient(task.patient)}", TASK_TYPES[task.type_index],
                       task.priority, "not started in its window"))

    def task_cancelled(self, now, task):
        if now < self._stop and task.oid is not None:
            self._add((now, _CANCEL, f"{task.oid} {self._patient(task.patient)}", TASK_TYPES[task.type_index],
                       task.priority))

    # ------------------------------------------------------------------ nurses and shifts
    def shift_rostered(self, now, start, end, day, size, nurses):
        if now >= self._stop:
            return
        oid = f"{self._prefix}shift-{self._shifts}"
        self._shifts += 1
        self.objects[oid] = ("shift", "day" if day else "night", start, end, int(size), int(size - len(nurses)))
        self._shift = oid

    def nurse_on(self, now, nurse, end, floating):
        if now >= self._stop:
            return
        nid = self._nurse(nurse, floating)
        if floating:
            shift = f"{self._prefix}float-block-{self._floats}"
            self._floats += 1
            self.objects[shift] = ("shift", "float", now, end, 1, 0)
        elif math.isinf(end):  # the continuous roster: one shift, always on
            shift = f"{self._prefix}shift-continuous"
            rostered = self.objects[shift][4] if shift in self.objects else 0
            self.objects[shift] = ("shift", "continuous", 0.0, None, rostered + 1, 0)
        else:
            shift = self._shift or f"{self._prefix}shift-0"
            if shift not in self.objects:
                self.objects[shift] = ("shift", None, None, end, None, None)
        self.links.append((shift, nid, "staffed by"))
        self._on_shift[nid] = shift
        self._add((now, _ON, f"{nid} {shift}", self.objects[nid][1]))

    def nurse_off(self, now, nurse, overtime):
        if now >= self._stop:
            return
        nid = self._nurse_id(nurse)
        shift = self._on_shift.pop(nid, None)
        self._add((now, _OFF, nid if shift is None else f"{nid} {shift}", overtime, nurse.exhaustion))

    # ------------------------------------------------------------------ defects and harm
    def defect_encountered(self, now, defect, task, nurse, workaround, near_miss):
        if now >= self._stop:
            return
        did = self._defect(defect)
        on = "" if task.oid is None else f" {task.oid}"
        oids = f"{did}{on} {self._nurse_id(nurse)} {self._patient(task.patient)}"
        category = CATEGORIES[defect.category]
        self._add((now, _ENCOUNTER, oids, category, bool(near_miss)))
        if workaround > 0 and now < self._stop:
            self._add((now, _WORKAROUND, oids, category, workaround))

    def defect_reported(self, now, defect, nurse, minutes):
        if now < self._stop:
            self._add((now, _REPORT, f"{self._defect(defect)} {self._nurse_id(nurse)}", CATEGORIES[defect.category],
                       minutes))

    def defect_fixed(self, now, defect, sustained):
        if now < self._stop:
            self._add((now, _FIX, self._defect(defect), CATEGORIES[defect.category], defect.owner, bool(sustained)))

    def harmed(self, now, patient, source, task=None, defect=None):
        if now >= self._stop:
            return
        oids = self._patient(patient)
        if task is not None and task.oid is not None:
            oids += f" {task.oid}"
        if defect is not None:
            oids += f" {self._defect(defect)}"
        self._add((now, _HARM, oids, source))

    # ------------------------------------------------------------------ reading and writing
    def counts(self) -> dict[str, int]:
        """Events of each type recorded."""
        out = dict.fromkeys(EVENT_TYPES, 0)
        for e in self.events:
            out[_TYPE_NAMES[e[1]]] += 1
        return out

    def summary(self) -> dict[str, Any]:
        """What the log covers, for a manifest: start, days, events, objects, whether the cap cut it short."""
        return {"format": "OCEL 2.0 JSON", "start": _iso(0.0), "days": self.days, "events": len(self.events),
                "objects": len(self.objects), "max_events": self.max_events, "truncated": self.truncated}

    def to_ocel(self) -> dict[str, Any]:
        """The log as an OCEL 2.0 JSON document (a dict of plain JSON types)."""
        return json.loads(self.to_json_bytes())

    def iter_json(self) -> Iterator[str]:
        """The OCEL 2.0 JSON document, compact, in pieces (an object or event at a time), so that
        writing a large log never holds a second copy of it in memory."""
        encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode

        def typed(types: dict[str, tuple[tuple[str, str], ...]]) -> str:
            return encode([{"name": name, "attributes": [{"name": a, "type": t} for a, t in attrs]}
                           for name, attrs in types.items()])

        yield f'{{"objectTypes":{typed(OBJECT_TYPES)},"eventTypes":{typed(EVENT_TYPES)},"objects":['
        links: dict[str, list[dict[str, str]]] = {}
        for oid, other, qualifier in self.links:
            links.setdefault(oid, []).append({"objectId": other, "qualifier": qualifier})
        objects = self.objects
        for i, (oid, (otype, *values)) in enumerate(objects.items()):
            doc: dict[str, Any] = {"id": oid, "type": otype,
                                   "attributes": [{"name": k, "time": _INITIAL,
                                                   "value": _iso(v) if t == "time" else _plain(v)}
                                                  for (k, t), v in zip(OBJECT_TYPES[otype], values) if v is not None]}
            if oid in links:
                doc["relationships"] = links[oid]
            yield ("," if i else "") + encode(doc)
        yield '],"events":['
        names = [tuple(a for a, _ in attrs) for attrs in EVENT_TYPES.values()]
        for i, (now, kind, oids, *values) in enumerate(self.events):
            doc = {"id": f"e{i + 1}", "type": _TYPE_NAMES[kind], "time": _iso(now),
                   "attributes": [{"name": n, "value": _plain(v)} for n, v in zip(names[kind], values)],
                   "relationships": [{"objectId": o, "qualifier": objects[o][0]} for o in oids.split(" ")]}
            yield ("," if i else "") + encode(doc)
        yield "]}"

    def to_json_bytes(self) -> bytes:
        """The OCEL 2.0 JSON document, compact, as UTF-8."""
        return "".join(self.iter_json()).encode()

    def write(self, path: str | Path) -> Path:
        """Write the OCEL 2.0 JSON document to ``path`` (for an atomic write, see ``output.write_atomic``)."""
        path = Path(path)
        with open(path, "w", encoding="utf-8") as f:
            for piece in self.iter_json():
                f.write(piece)
        return path


def unit_slug(name: str) -> str:
    """A unit's name as it stands in object ids: lower case, runs of anything but letters and
    digits as one hyphen ("3 East" -> "3-east"); ids are separated by spaces in the log."""
    slug = re.sub(r"[^0-9a-z]+", "-", name.lower()).strip("-")
    return slug or "unit"


def _plain(value: Any) -> Any:
    """A JSON value: never NaN or infinity (null instead)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value


# --------------------------------------------------------------------------- command-line options


def check_event_log_options(args: Any, *, needs_out: bool = True, replications: int | None = None) -> float | None:
    """The days to log for a command's ``--event-log``, ``--event-log-days`` and ``--event-log-all``
    (None: no log), or an :class:`~careos_sim.spec.loader.InputError` naming the option at fault."""
    from careos_sim.spec.loader import InputError, InputIssue

    on = bool(getattr(args, "event_log", False))
    days = getattr(args, "event_log_days", None)
    every = bool(getattr(args, "event_log_all", False))
    issues = []
    if not on:
        if days is not None:
            issues.append(InputIssue("--event-log-days", None, "event-log-days", "needs --event-log", days))
        if every:
            issues.append(InputIssue("--event-log-all", None, "event-log-all", "needs --event-log", has_value=False))
    else:
        if needs_out and getattr(args, "out", None) is None:
            issues.append(InputIssue("--event-log", None, "event-log", "needs --out DIR: the log is written there",
                                     has_value=False))
        if days is not None and not (0 < days <= MAX_DAYS):
            issues.append(InputIssue("--event-log-days", None, "event-log-days",
                                     f"must be > 0 and <= {MAX_DAYS:g}", days))
        if every and replications is not None and replications > MAX_LOGGED_REPLICATIONS:
            issues.append(InputIssue("--event-log-all", None, "event-log-all",
                                     f"logs every replication: at most {MAX_LOGGED_REPLICATIONS}; log replication 0 "
                                     "only, or run fewer replications", replications))
    if issues:
        raise InputError(issues)
    return (DEFAULT_DAYS if days is None else float(days)) if on else None
