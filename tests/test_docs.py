"""The generated reference documentation matches the code."""

from __future__ import annotations

from pathlib import Path

from careos_sim.spec.keys import scenario_keys
from careos_sim.report.docgen import update_docs
from careos_sim.measure.metrics import ALL

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_generated_docs_are_current():
    stale = update_docs(DOCS, check=True)
    assert not stale, f"regenerate with `python -m careos_sim.report.docgen`: {[str(p) for p in stale]}"


def test_every_key_has_a_description_and_every_metric_is_documented():
    keys = list(scenario_keys())
    assert len(keys) > 50
    assert all(k["description"] for k in keys), [k["path"] for k in keys if not k["description"]]
    text = (DOCS / "model.md").read_text()
    for metric in ALL:
        assert f"`{metric.name}`" in text
