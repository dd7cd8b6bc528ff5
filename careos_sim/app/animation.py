"""A day on the unit, animated from an OCEL 2.0 event log (``careos_sim.measure.eventlog``).

The event log of a comparison's side (``events-a.ocel.json``, ``events-b.ocel.json`` in its
results folder) is turned into the entity log that vidigi animates (Plotly frames, one every
ten minutes of one day):

* **patients**: waiting for a bed (boarding), in a bed, gone (discharged or diverted);
* **nurses** (one icon per nurse on duty, per shift): free, or at a task; off duty, gone;
* **tasks**: waiting in the unit queue until a nurse starts one; a task missed (not started in
  its window, or made impossible by a defect) is shown under *missed care* for the hour after.

The layout and icons are this module's; vidigi places the icons and builds the frames. Every
position comes from the log: nothing here re-runs or changes the model.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from careos_sim.measure.eventlog import START, minutes_of
from careos_sim.text import for_markdown
from careos_sim.clock import DAY

__all__ = ["DayLog", "read_log", "day_entities", "animate_day", "day_on_the_unit", "has_log", "log_path", "show",
           "MISSED_SHOWN_MINUTES"]

#: how long a missed task stays on the screen under "missed care"
MISSED_SHOWN_MINUTES = 60.0
#: minutes of the clock between two frames
FRAME_MINUTES = 10
#: icons
PATIENT = "🛌"
NURSE = "🧑‍⚕️"
TASK_ICONS = {"call_light": "🔔", "assessment": "🩺", "medication": "💊", "hygiene_mobility": "🧼",
              "documentation": "📝", "coordination": "📞", "communication": "💬", "admission": "📥",
              "discharge": "🏠"}
MISSED = "❌"
_PLACEHOLDER = "·"

#: where each stage is drawn (x, y on vidigi's canvas), its label and the resource it uses
STAGES = (
    ("arrival", 20, 20, "", None),
    ("depart", 1180, 20, "", None),
    ("in_bed", 350, 560, "In a bed", "beds"),
    ("boarding", 800, 600, "Waiting for a bed", None),
    ("task_waiting", 350, 330, "Tasks waiting for a nurse", None),
    ("nurse_busy", 800, 330, "Nurses at a task", "nurses"),
    ("missed", 350, 120, "Missed care (the last hour)", None),
    ("nurse_free", 800, 120, "Nurses free", None),
)


@dataclass
class DayLog:
    """The events of one log as a table: minute, type, related object ids, attributes."""

    events: pd.DataFrame  # columns: minute, type, objects (tuple of ids), attrs (dict)
    objects: dict[str, dict[str, Any]]  # object id -> {"type", attribute: value}


def has_log(folder: str | Path) -> bool:
    """Whether a comparison's results folder keeps an event log of either side."""
    return any(log_path(folder, side).is_file() for side in ("a", "b"))


def log_path(folder: str | Path, side: str = "b") -> Path:
    """Where a comparison's results folder keeps one side's event log."""
    return Path(folder) / f"events-{side}.ocel.json"


def read_log(source: str | Path | dict[str, Any]) -> DayLog:
    """An OCEL 2.0 JSON event log (a path or the parsed document) as a :class:`DayLog`."""
    doc = source if isinstance(source, dict) else json.loads(Path(source).read_text(encoding="utf-8"))
    rows = [(minutes_of(e["time"]), e["type"], tuple(r["objectId"] for r in e.get("relationships", [])),
             {a["name"]: a["value"] for a in e.get("attributes", [])}) for e in doc["events"]]
    events = pd.DataFrame(rows, columns=["minute", "type", "objects", "attrs"])
    objects = {o["id"]: {"type": o["type"], **{a["name"]: a["value"] for a in o.get("attributes", [])}}
               for o in doc["objects"]}
    return DayLog(events, objects)


class _Slots:
    """Numbered places (beds, nurses at work): the lowest free one is taken."""

    def __init__(self):
        self.held: dict[str, int] = {}
        self.used = 0

    def take(self, key: str) -> int:
        taken = set(self.held.values())
        slot = next(i for i in range(1, len(taken) + 2) if i not in taken)
        self.held[key] = slot
        self.used = max(self.used, slot)
        return slot

    def give(self, key: str) -> int | None:
        return self.held.pop(key, None)


def day_entities(log: DayLog, day: int = 0) -> tuple[pd.DataFrame, dict[int, str], dict[str, int]]:
    """The entity log vidigi animates for ``day`` (0: the first), with each entity's icon and the
    number of beds and nurse places used. Times are minutes from the start of the day."""
    start, end = day * DAY, (day + 1) * DAY
    ids: dict[str, int] = {}
    icons: dict[int, str] = {}
    rows: list[dict[str, Any]] = []
    beds, busy = _Slots(), _Slots()
    on_duty: dict[str, str] = {}  # nurse object id -> her entity key (nurse, shift) this shift
    working: dict[str, str] = {}  # nurse entity key -> the task she is at

    def entity(key: str, icon: str) -> int:
        if key not in ids:
            ids[key] = len(ids) + 1
            icons[ids[key]] = icon
        return ids[key]

    def add(key: str, icon: str, kind: str, event: str, t: float, resource: int | None = None) -> None:
        rows.append({"entity_id": entity(key, icon), "event_type": kind, "event": event,
                     "time": max(0.0, t - start), "resource_id": resource})

    for t, etype, objs, attrs in log.events.itertuples(index=False):
        if t >= end:
            break
        if etype in ("patient on unit at start", "admit patient"):
            p = objs[0]
            if p not in ids:
                add(p, PATIENT, "arrival_departure", "arrival", t)
            add(p, PATIENT, "resource_use", "in_bed", t, beds.take(p))
        elif etype == "board patient":
            add(objs[0], PATIENT, "arrival_departure", "arrival", t)
            add(objs[0], PATIENT, "queue", "boarding", t)
        elif etype in ("discharge patient", "divert patient"):
            p = objs[0]
            slot = beds.give(p)
            if slot is not None:
                add(p, PATIENT, "resource_use_end", "in_bed", t, slot)
            add(p, PATIENT, "arrival_departure", "depart", t)
        elif etype == "create task":
            task = objs[0]
            icon = TASK_ICONS.get(attrs.get("kind", ""), "📋")
            add(task, icon, "arrival_departure", "arrival", t)
            add(task, icon, "queue", "task_waiting", t)
        elif etype == "start task":
            task, nurse = objs[0], objs[2]
            if task in ids:
                add(task, "", "arrival_departure", "depart", t)
            key = on_duty.get(nurse)
            if key is not None:
                working[key] = task
                add(key, NURSE, "resource_use", "nurse_busy", t, busy.take(key))
        elif etype in ("complete task", "miss task"):
            task = objs[0]
            nurse = objs[2] if len(objs) > 2 else None
            key = on_duty.get(nurse) if nurse is not None else None
            if key is not None and working.pop(key, None) is not None:
                add(key, NURSE, "resource_use_end", "nurse_busy", t, busy.give(key))
                add(key, NURSE, "queue", "nurse_free", t)
            if etype == "miss task":
                missed = f"{task}-missed"
                add(missed, MISSED, "arrival_departure", "arrival", t)
                add(missed, MISSED, "queue", "missed", t)
                add(missed, MISSED, "arrival_departure", "depart", t + MISSED_SHOWN_MINUTES)
                if key is None and task in ids:  # dropped from the queue, never started
                    add(task, "", "arrival_departure", "depart", t)
        elif etype == "cancel task":
            if objs[0] in ids:
                add(objs[0], "", "arrival_departure", "depart", t)
        elif etype == "start shift":
            nurse, shift = objs[0], objs[1]
            key = f"{nurse}@{shift}"
            on_duty[nurse] = key
            add(key, NURSE, "arrival_departure", "arrival", t)
            add(key, NURSE, "queue", "nurse_free", t)
        elif etype == "end shift":
            key = on_duty.pop(objs[0], None)
            if key is not None:
                if working.pop(key, None) is not None:
                    add(key, NURSE, "resource_use_end", "nurse_busy", t, busy.give(key))
                add(key, NURSE, "arrival_departure", "depart", t)
    frame = pd.DataFrame(rows, columns=["entity_id", "event_type", "event", "time", "resource_id"])
    frame = frame[frame["time"] <= end - start]
    frame = frame.sort_values(["time", "entity_id"], kind="stable").reset_index(drop=True)
    return frame, icons, {"beds": beds.used, "nurses": busy.used}


def _seen(entities: pd.DataFrame, every: int) -> pd.DataFrame:
    """The entities present at one frame at least (from arrival to departure, both included); the
    others (a task started minutes after it was raised) would never be drawn."""
    marks = entities[entities["event_type"] == "arrival_departure"].pivot_table(
        index="entity_id", columns="event", values="time", aggfunc="first")
    arrival = marks["arrival"]
    depart = marks["depart"] if "depart" in marks else pd.Series(float("nan"), index=marks.index)
    first_frame = (arrival / every).apply(math.ceil) * every  # the first frame at or after the arrival
    keep = marks.index[depart.isna() | (first_frame <= depart)]
    return entities[entities["entity_id"].isin(keep)].reset_index(drop=True)


def _beds_of(folder: Path | None, side: str) -> int | None:
    """The unit's beds, from the side's scenario as run (``scenario-a.yaml``/``scenario-b.yaml``)."""
    if folder is None:
        return None
    try:
        doc = yaml.safe_load((folder / f"scenario-{side}.yaml").read_text(encoding="utf-8"))
        return int(doc["unit"]["beds"])
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError):
        return None


def animate_day(source: str | Path | dict[str, Any] | DayLog, day: int = 0, beds: int | None = None,
                height: int = 720, frame_minutes: int = FRAME_MINUTES):
    """A Plotly animation (vidigi) of ``day`` of an event log: patients, nurses and tasks every
    ``frame_minutes`` minutes. ``beds``: the unit's beds (default: the most ever occupied)."""
    from vidigi.animation import generate_animation
    from vidigi.prep import generate_animation_df, reshape_for_animations

    log = source if isinstance(source, DayLog) else read_log(source)
    entities, icons, used = day_entities(log, day)
    if entities.empty:
        raise ValueError(f"the event log has no events on day {day}")
    positions = pd.DataFrame([{"event": e, "x": x, "y": y, "label": label, "resource": resource}
                              for e, x, y, label, resource in STAGES])
    entities = _seen(entities, frame_minutes)
    places = {"beds": max(beds or 0, used["beds"], 1), "nurses": max(used["nurses"], 1)}
    common = {"step_snapshot_max": 30, "run_col_name": None}
    reshaped = reshape_for_animations(entities, every_x_time_units=frame_minutes, limit_duration=int(DAY),
                                      **common)
    placed = generate_animation_df(reshaped, positions, wrap_queues_at=10, wrap_resources_at=10,
                                   gap_between_entities=30, gap_between_resources=30, gap_between_queue_rows=40,
                                   gap_between_resource_rows=40, custom_entity_icon_list=[_PLACEHOLDER],
                                   **common)
    own = placed["icon"] == _PLACEHOLDER  # not an overflow label ("+ n more") nor an invisible lead-in
    placed.loc[own, "icon"] = placed.loc[own, "entity_id"].map(icons).fillna(_PLACEHOLDER)
    fig = generate_animation(placed, positions, scenario=places, plotly_height=height, entity_icon_size=18,
                             resource_icon_size=14, text_size=14, gap_between_resources=30,
                             gap_between_resource_rows=40, wrap_resources_at=10, time_display_units="dhm",
                             start_date=(START + pd.Timedelta(days=day)).strftime("%Y-%m-%d"),
                             start_time="00:00:00", hover_text_entity=None, frame_duration=250,
                             frame_transition_duration=150, override_x_max=1200, override_y_max=700,
                             run_col_name=None)
    return fig


def day_on_the_unit(folder: str | Path, side: str = "b", day: int = 0):
    """The animation of ``day`` of one side of a comparison's results folder, or None without a log."""
    folder = Path(folder)
    path = log_path(folder, side)
    if not path.is_file():
        return None
    return animate_day(path, day=day, beds=_beds_of(folder, side))


#: what the icons stand for, shown under the animation
LEGEND = (f"{PATIENT} a patient, {NURSE} a nurse on duty (a blue dot: a bed, or a nurse's place at a task), "
          f"{MISSED} a missed task; tasks: " + ", ".join(f"{icon} {kind.replace('_', ' ')}"
                                                     for kind, icon in TASK_ICONS.items()))
_CACHE: dict[str, Any] = {}


def _cached(path: str, stamp: tuple[float, int], beds: int | None, day: int):
    """The figure for one log file as it stands (its modification time and size), built once."""
    import streamlit as st

    if "figure" not in _CACHE:
        @st.cache_data(max_entries=8, show_spinner=False)
        def figure(path: str, stamp: tuple[float, int], beds: int | None, day: int):
            return animate_day(path, day=day, beds=beds)

        _CACHE["figure"] = figure
    return _CACHE["figure"](path, stamp, beds, day)


def show(folder: str | Path, labels: tuple[str, str], key: str) -> None:
    """The app's view: pick a side, then play its first day (built on demand: a few seconds)."""
    import streamlit as st

    folder = Path(folder)
    sides = [s for s in ("b", "a") if log_path(folder, s).is_file()]
    if not sides:
        st.caption("No event log was kept for this comparison (its results were made before the app kept one).")
        return
    st.caption("The first day of replication 0 as the model ran it, from the event log in the results folder "
               "(OCEL 2.0, `events-a.ocel.json` and `events-b.ocel.json`): who is in a bed or waiting for one, "
               "what each nurse on duty is doing, which tasks wait and which are missed.")
    side = st.radio("Side", sides, format_func=lambda s: f"{s.upper()}: {for_markdown(labels['ab'.index(s)])}",
                    horizontal=True,
                    key=f"{key}.side")
    if not st.toggle("Play the day (takes a few seconds to build)", key=f"{key}.play"):
        return
    path = log_path(folder, side)
    info = path.stat()
    with st.spinner("Building the animation…"):
        try:
            fig = _cached(str(path), (info.st_mtime, info.st_size), _beds_of(folder, side), 0)
        except (OSError, ValueError, KeyError) as exc:
            st.warning(f"The event log cannot be animated: {exc}")
            return
    st.plotly_chart(fig, width="stretch", key=f"{key}.figure.{side}")
    st.caption(LEGEND)
