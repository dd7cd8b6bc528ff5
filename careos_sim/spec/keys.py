"""Every key of a scenario, with its type, unit, default, allowed range and meaning, read from
the pydantic fields of :mod:`careos_sim.spec.scenario` (what ``docs/scenarios.md``, the app's
settings and a design's factor names are checked against)."""

from __future__ import annotations

from typing import Any, Iterator

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from careos_sim.spec.scenario import ScenarioSpec

__all__ = ["scenario_keys"]


def _model_of(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _range(info: FieldInfo) -> str:
    parts = []
    for meta in info.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"),
                          ("min_length", "items >="), ("max_length", "items <=")):
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{sym} {value:g}" if isinstance(value, (int, float)) else f"{sym} {value}")
    if len(parts) == 2 and parts[0].startswith("items >=") and parts[0][9:] == parts[1][9:]:
        return f"exactly {parts[0][9:]} items"
    return ", ".join(parts)


def _type(info: FieldInfo) -> str:
    text = str(info.annotation).replace("typing.", "").replace("<class '", "").replace("'>", "")
    return text.replace("NoneType", "null").replace("Literal", "one of ")


def _default(value: Any) -> str:
    if isinstance(value, BaseModel):
        return ""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "[" + ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value) + "]"
    return f"{value:g}" if isinstance(value, float) else str(value)


def scenario_keys(model: BaseModel | None = None, prefix: str = "") -> Iterator[dict[str, str]]:
    """Every leaf key of the scenario: path, type, unit, default, range, description."""
    model = model if model is not None else ScenarioSpec()
    for name, info in type(model).model_fields.items():
        path = f"{prefix}{name}"
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            yield from scenario_keys(value, f"{path}.")
            continue
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        yield {
            "path": path,
            "type": _type(info),
            "unit": str(extra.get("unit", "")),
            "default": _default(value),
            "range": _range(info),
            "description": info.description or "",
        }
