"""Known answers for careos_sim.experiment.uncertainty.analysis on synthetic PSA frames.

Each frame has K parameter sets with theta1 ~ U(0, 1) (the parameter that matters) and
theta2 ~ U(0, 1) (irrelevant), R replications per set, a = 10 + noise and b = 10 + effect(theta)
+ noise (independent noises, so a paired difference has variance 2 s^2).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from careos_sim.experiment.uncertainty.analysis import (
    Box, Driver, Economics, OutcomeUncertainty, _merge, discover, economics, prcc, set_effects, summarise,
)

PARAMETERS = ["theta1", "theta2"]


def psa_frame(effect, *, k: int = 400, r: int = 5, noise: float = 0.05, seed: int = 1,
              metric: str = "m") -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A PSA frame whose B - A effect is ``effect(theta1, theta2)`` plus noise of sd ``noise`` on each side."""
    rng = np.random.default_rng(seed)
    t1, t2 = rng.uniform(size=k), rng.uniform(size=k)
    sets = np.repeat(np.arange(k), r)
    a = 10 + noise * rng.standard_normal(k * r)
    b = 10 + np.repeat(effect(t1, t2), r) + noise * rng.standard_normal(k * r)
    frame = pd.DataFrame({"set": sets, "replication": np.tile(np.arange(r), k),
                          "theta1": t1[sets], "theta2": t2[sets], f"a:{metric}": a, f"b:{metric}": b})
    return frame, t1, t2


def threshold_effect(t1, t2):
    return 2 * (t1 - 0.3)


@pytest.fixture(scope="module")
def threshold():
    return psa_frame(threshold_effect)


@pytest.fixture(scope="module")
def lower(threshold):
    frame, _, _ = threshold
    return summarise(frame, PARAMETERS, "m", "lower", seed=3)


# -------------------------------------------------------------------------------- summarise


def test_lower_metric_effect_and_p_better(threshold, lower):
    frame, t1, _ = threshold
    assert isinstance(lower, OutcomeUncertainty)
    assert lower.sets == 400 and lower.replications == 5
    assert lower.metric == "m" and lower.direction == "lower"
    # B is better (lower) exactly where theta1 < 0.3, up to the noise of a set mean near the threshold
    assert abs(lower.p_better - 0.3) < 0.07
    assert abs(lower.p_better - float((t1 < 0.3).mean())) < 0.02
    # quantiles of 2 (U - 0.3): median 0.4, p05 -0.5, p95 1.3
    assert abs(lower.effect_median - 0.4) < 0.1
    assert abs(lower.effect_p05 - (-0.5)) < 0.08
    assert abs(lower.effect_p95 - 1.3) < 0.08
    true = 2 * (t1 - 0.3)
    assert lower.effect_median == pytest.approx(np.median(true), abs=0.02)
    assert lower.effect_p05 == pytest.approx(np.quantile(true, 0.05), abs=0.02)
    assert lower.effect_p95 == pytest.approx(np.quantile(true, 0.95), abs=0.02)


def test_drivers_theta1_first_and_theta2_irrelevant(lower):
    assert all(isinstance(d, Driver) for d in lower.drivers)
    assert [d.parameter for d in lower.drivers] == ["theta1", "theta2"]
    first, second = lower.drivers
    assert first.index > 0.95
    assert 0 < first.ci_low <= first.index <= first.ci_high <= 1
    assert second.ci_low < 0 < second.ci_high
    assert abs(first.index) >= abs(second.index)
    assert first.record() == {"parameter": "theta1", "index": first.index, "ci_low": first.ci_low,
                              "ci_high": first.ci_high, "method": "prcc"}


def test_direction_higher_flips_and_none_has_no_better_side(threshold, lower):
    frame, _, _ = threshold
    higher = summarise(frame, PARAMETERS, "m", "higher", seed=3)
    assert higher.p_better == pytest.approx(1 - lower.p_better)
    assert higher.effect_median == lower.effect_median
    neutral = summarise(frame, PARAMETERS, "m", None, seed=3)
    assert neutral.p_better is None
    assert neutral.record()["p_better"] is None
    with pytest.raises(ValueError):
        summarise(frame, PARAMETERS, "m", "smaller")


def test_variance_noise_only():
    s, r = 1.0, 8
    frame, _, _ = psa_frame(lambda t1, t2: 0 * t1, r=r, noise=s, seed=5)
    result = summarise(frame, PARAMETERS, "m", "lower", bootstrap=50)
    assert result.variance_noise == pytest.approx(2 * s ** 2 / r, rel=0.1)
    assert result.variance_total == pytest.approx(2 * s ** 2 / r, rel=0.2)
    assert result.parameter_share < 0.15
    assert result.variance_parameter == pytest.approx(max(0.0, result.variance_total - result.variance_noise))
    assert abs(result.p_better - 0.5) < 0.1


def test_variance_parameter_dominates():
    frame, t1, _ = psa_frame(lambda t1, t2: 10 * t1, r=4, noise=0.01, seed=6)
    result = summarise(frame, PARAMETERS, "m", "higher", bootstrap=50)
    assert result.parameter_share > 0.95
    assert result.variance_total == pytest.approx(np.var(10 * t1, ddof=1), rel=0.01)
    assert result.variance_noise < 1e-3
    assert result.p_better == 1.0


def test_nan_rows_are_skipped():
    frame, _, _ = psa_frame(threshold_effect, k=30, r=6, noise=0.5, seed=7)
    broken = frame.copy()
    rng = np.random.default_rng(0)
    rows = rng.choice(len(frame), size=40, replace=False)
    # half the broken rows lose B, half lose A; the other side gets an absurd value that must not count
    broken.loc[rows[:20], "b:m"] = np.nan
    broken.loc[rows[:20], "a:m"] = 1e9
    broken.loc[rows[20:], "a:m"] = np.nan
    broken.loc[rows[20:], "b:m"] = -1e9
    # one set has no defined pair at all
    broken.loc[broken["set"] == 4, "b:m"] = np.nan
    dropped = frame.drop(index=rows).loc[lambda f: f["set"] != 4]

    got = set_effects(broken, "m")
    want = set_effects(dropped, "m")
    assert len(got) == 30 and got.loc[4, "n"] == 0 and math.isnan(got.loc[4, "effect"])
    pd.testing.assert_frame_equal(got.drop(index=4), want, check_dtype=False)
    assert got["n"].sum() == len(dropped)

    result = summarise(broken, PARAMETERS, "m", "lower", bootstrap=20)
    clean = summarise(dropped, PARAMETERS, "m", "lower", bootstrap=20)
    assert result.sets == 29
    assert result.record() == clean.record()


def test_set_effects_columns():
    frame, t1, t2 = psa_frame(threshold_effect, k=5, r=3, noise=0.1, seed=8)
    frame["varies"] = np.arange(len(frame))  # not constant within a set: not a parameter
    frame.loc[frame["set"] == 2, "b:m"] = [np.nan, np.nan, 10.0]
    table = set_effects(frame, "m")
    assert table.index.name == "set" and list(table.index) == [0, 1, 2, 3, 4]
    assert list(table.columns) == ["effect", "noise_var", "n", "theta1", "theta2"]
    assert np.allclose(table["theta1"], t1) and np.allclose(table["theta2"], t2)
    d = frame["b:m"] - frame["a:m"]
    first = d[frame["set"] == 0]
    assert table.loc[0, "effect"] == pytest.approx(first.mean())
    assert table.loc[0, "noise_var"] == pytest.approx(first.var(ddof=1) / 3)
    assert table.loc[2, "n"] == 1 and math.isnan(table.loc[2, "noise_var"])
    with pytest.raises(ValueError, match="constant"):
        summarise(frame, ["varies"], "m", "lower")
    with pytest.raises(KeyError):
        set_effects(frame, "absent")


def test_one_replication_leaves_noise_undefined_and_records_none():
    frame, _, _ = psa_frame(threshold_effect, k=40, r=1, seed=9)
    result = summarise(frame, PARAMETERS, "m", "lower", bootstrap=20)
    assert result.replications == 1
    assert math.isnan(result.variance_noise) and result.parameter_share is None
    record = result.record()
    assert record["variance"]["noise"] is None
    json.dumps(record, allow_nan=False)


# -------------------------------------------------------------------------------- prcc


def test_prcc_known_answers():
    rng = np.random.default_rng(10)
    x = rng.uniform(size=(300, 3))
    y = x[:, 0] ** 3 - x[:, 1]              # monotone up in x0, down in x1, nothing in x2
    index = prcc(x, y)
    assert index.shape == (3,)
    assert index[0] > 0.85 and index[1] < -0.85 and abs(index[2]) < 0.15
    # with one parameter PRCC is Spearman's rank correlation
    from scipy.stats import spearmanr
    z = x[:, 0] + rng.normal(0, 0.3, 300)
    assert prcc(x[:, :1], z)[0] == pytest.approx(spearmanr(x[:, 0], z).statistic)
    # a constant parameter has no defined coefficient
    constant = np.column_stack([x[:, 0], np.ones(300)])
    out = prcc(constant, x[:, 0] ** 3)
    assert out[0] == pytest.approx(1.0) and math.isnan(out[1])


# -------------------------------------------------------------------------------- discover


def test_discover_finds_the_theta1_threshold(threshold):
    frame, _, _ = threshold
    boxes = discover(frame, PARAMETERS, "m", "lower")
    assert boxes and all(isinstance(b, Box) for b in boxes)
    first = boxes[0]
    assert len(first.rules) == 1
    parameter, op, value = first.rules[0]
    assert (parameter, op) == ("theta1", ">=") and abs(value - 0.3) < 0.05
    assert first.density > 0.9 and first.coverage > 0.8
    assert first.text() == f"theta1 >= {float(f'{value:.3g}'):g}"
    assert first.text({"theta1": "capacity"}).startswith("capacity >= 0.")
    # "higher is better": B fails below the threshold
    flipped = discover(frame, PARAMETERS, "m", "higher")[0]
    assert flipped.rules[0][:2] == ("theta1", "<") and abs(flipped.rules[0][2] - 0.3) < 0.05
    assert flipped.density > 0.9 and flipped.coverage > 0.8
    assert [b.density for b in boxes] == sorted((b.density for b in boxes), reverse=True)
    with pytest.raises(ValueError):
        discover(frame, PARAMETERS, "m", None)


def test_discover_two_parameter_region():
    # B fails only where theta1 < 0.5 and theta2 >= 0.6
    frame, _, _ = psa_frame(lambda t1, t2: np.where((t1 < 0.5) & (t2 >= 0.6), 1.0, -1.0), k=500, r=3,
                            noise=0.05, seed=11)
    first = discover(frame, PARAMETERS, "m", "lower")[0]
    rules = {(p, op): t for p, op, t in first.rules}
    assert set(rules) == {("theta1", "<"), ("theta2", ">=")}
    assert abs(rules[("theta1", "<")] - 0.5) < 0.05 and abs(rules[("theta2", ">=")] - 0.6) < 0.05
    assert first.density > 0.9 and first.coverage > 0.9


def test_discover_edge_cases():
    never, _, _ = psa_frame(lambda t1, t2: -1 - t1, k=50, r=2, seed=12)
    assert discover(never, PARAMETERS, "m", "lower") == []
    always = discover(never, PARAMETERS, "m", "higher")
    assert len(always) == 1
    box = always[0]
    assert box.rules == () and box.coverage == 1.0 and box.density == 1.0 and box.n == 50
    assert box.text() == "in every plausible setting"
    # no effect at all is not better for B, whichever side is better
    tie, _, _ = psa_frame(lambda t1, t2: np.where(t1 < 0.5, 0.0, -1.0), k=40, r=2, noise=0.0, seed=12)
    assert summarise(tie, PARAMETERS, "m", "higher", bootstrap=0).p_better == 0.0
    assert discover(tie, PARAMETERS, "m", "higher")[0].rules == ()
    lower_tie = summarise(tie, PARAMETERS, "m", "lower", bootstrap=0)
    tie_sets = set_effects(tie, "m")
    assert lower_tie.p_better == float((tie_sets["effect"] < 0).mean()) < 1
    (fails,) = discover(tie, PARAMETERS, "m", "lower")
    assert fails.rules[0][:2] == ("theta1", "<") and fails.density == 1.0 and fails.coverage == 1.0


def test_box_text_record_and_rule_merging():
    box = Box(rules=(("departments.capacity_factor", "<", 0.41987), ("defects.initial", ">=", 71.04)),
              coverage=0.75, density=0.9, n=12)
    assert box.text() == "departments.capacity_factor < 0.42 and defects.initial >= 71"
    assert box.text({"defects.initial": "initial defects"}) == \
        "departments.capacity_factor < 0.42 and initial defects >= 71"
    assert Box(rules=(("x", ">=", 1234.5),), coverage=1, density=1, n=1).text() == "x >= 1230"
    record = box.record()
    assert record["rules"][0] == {"parameter": "departments.capacity_factor", "op": "<", "threshold": 0.41987}
    assert record["n"] == 12 and record["text"] == box.text()
    json.dumps(record, allow_nan=False)
    merged = _merge([("a", "<", 0.8), ("b", ">=", 0.1), ("a", "<", 0.5), ("a", ">=", 0.2), ("b", ">=", 0.3)])
    assert merged == (("a", ">=", 0.2), ("a", "<", 0.5), ("b", ">=", 0.3))


# -------------------------------------------------------------------------------- economics

C, H, WTP = 0.2, 4.0, 100.0          # incremental cost per patient-day, harm averted per unit theta1
PD_YEAR, NURSES = 10_000.0, 50.0


def economic_frame(*, k: int = 400, r: int = 3, seed: int = 13, offset: float = 0.0,
                   burnout_drop: float = 2.0, harm_sign: float = 1.0) -> tuple[pd.DataFrame, np.ndarray]:
    """Incremental cost C per patient-day in every set; harm averted H * (theta1 + offset) per 1,000 pd."""
    rng = np.random.default_rng(seed)
    t1, t2 = rng.uniform(size=k), rng.uniform(size=k)
    sets = np.repeat(np.arange(k), r)
    cost_a = 500 + 5 * rng.standard_normal(k * r)
    harm_a = 5 + rng.standard_normal(k * r)
    burn_a = 30 + 3 * rng.standard_normal(k * r)
    frame = pd.DataFrame({
        "set": sets, "replication": np.tile(np.arange(r), k), "theta1": t1[sets], "theta2": t2[sets],
        "a:efficiency.cost_per_patient_day": cost_a, "b:efficiency.cost_per_patient_day": cost_a + C,
        "a:safety.harm_per_1000_patient_days": harm_a,
        "b:safety.harm_per_1000_patient_days": harm_a - harm_sign * H * (t1[sets] + offset),
        "a:workforce.burnout_pct": burn_a, "b:workforce.burnout_pct": burn_a - burnout_drop,
    })
    return frame, t1


@pytest.fixture(scope="module")
def econ():
    frame, t1 = economic_frame()
    return economics(frame, PARAMETERS, wtp_per_harm=WTP, patient_days_per_year=PD_YEAR, nurses=NURSES), t1


def test_economics_known_answers(econ):
    result, t1 = econ
    assert isinstance(result, Economics)
    averted = H * t1
    nmb = WTP * averted - 1000 * C
    assert result.icer_per_harm_averted == pytest.approx(1000 * C / averted.mean(), rel=1e-9)
    assert result.incremental_cost == pytest.approx((1000 * C,) * 3, rel=1e-9)
    assert result.harm_averted == pytest.approx(tuple(np.quantile(averted, [0.5, 0.05, 0.95])), rel=1e-9)
    assert result.nmb == pytest.approx(tuple(np.quantile(nmb, [0.5, 0.05, 0.95])), rel=1e-9, abs=1e-9)
    assert result.p_cost_effective == float((WTP * averted > 1000 * C).mean())
    # burnout: 2 points of 50 nurses = 1 case a year avoided for C * PD_YEAR a year
    assert result.cost_per_burnout_case_avoided == pytest.approx(C * PD_YEAR / (0.02 * NURSES), rel=1e-9)


def test_economics_ceac(econ):
    result, t1 = econ
    ceac = result.ceac
    assert list(ceac.columns) == ["wtp", "p_cost_effective"]
    assert len(ceac) == 41 and ceac["wtp"].iloc[0] == 0 and ceac["wtp"].iloc[-1] == pytest.approx(5 * WTP)
    assert ceac["p_cost_effective"].iloc[0] == 0.0                # costs more and nothing is paid for harm
    assert np.all(np.diff(ceac["p_cost_effective"]) >= 0)
    at_wtp = ceac.loc[np.isclose(ceac["wtp"], WTP), "p_cost_effective"]
    assert at_wtp.iloc[0] == result.p_cost_effective
    for w, p in zip(ceac["wtp"], ceac["p_cost_effective"]):
        assert p == float((w * H * t1 > 1000 * C).mean())


def test_economics_value_of_information(econ):
    result, t1 = econ
    nmb = WTP * H * t1 - 1000 * C
    evpi = np.maximum(nmb, 0).mean() - max(0.0, nmb.mean())
    assert result.evpi == pytest.approx(evpi, rel=1e-9)
    assert result.evpi > 10
    assert result.evpi >= result.evppi["theta1"] >= result.evppi["theta2"] >= 0
    assert result.evppi["theta1"] > 0.9 * result.evpi      # theta1 is the only uncertainty
    assert result.evppi["theta2"] < 0.05 * result.evpi     # theta2 is irrelevant


def test_economics_evpi_zero_when_b_always_wins():
    frame, _ = economic_frame(offset=0.6)                   # harm averted >= 2.4, nmb >= 40 in every set
    result = economics(frame, PARAMETERS, wtp_per_harm=WTP, patient_days_per_year=PD_YEAR, nurses=NURSES)
    assert result.nmb[1] > 0 and result.p_cost_effective == 1.0
    assert result.evpi == 0.0 and result.evppi == {"theta1": 0.0, "theta2": 0.0}


def test_economics_undefined_ratios_and_grid():
    frame, _ = economic_frame(k=60, harm_sign=-1.0, burnout_drop=-1.0)   # B causes harm and burnout
    result = economics(frame, PARAMETERS, wtp_per_harm=0.0, patient_days_per_year=PD_YEAR, nurses=NURSES)
    assert result.icer_per_harm_averted is None and result.cost_per_burnout_case_avoided is None
    assert result.ceac["wtp"].iloc[-1] == pytest.approx(100_000)
    custom = economics(frame, PARAMETERS, wtp_per_harm=WTP, patient_days_per_year=PD_YEAR, nurses=NURSES,
                       wtp_grid=[0, 50, 1000], burnout=None)
    assert list(custom.ceac["wtp"]) == [0, 50, 1000] and custom.cost_per_burnout_case_avoided is None
    record = result.record()
    assert record["icer_per_harm_averted"] is None
    # an unknown number of nurses leaves only the per-year burnout figure out
    frame, _ = economic_frame(k=60)
    unknown = economics(frame, PARAMETERS, wtp_per_harm=WTP, patient_days_per_year=PD_YEAR, nurses=math.nan)
    assert unknown.cost_per_burnout_case_avoided is None and unknown.icer_per_harm_averted is not None
    with pytest.raises(ValueError):
        economics(frame, PARAMETERS, wtp_per_harm=WTP, patient_days_per_year=PD_YEAR, nurses=0)
    json.dumps(record, allow_nan=False)


# -------------------------------------------------------------------------------- determinism


def test_determinism_and_json(threshold, econ):
    frame, _, _ = threshold
    small = frame[frame["set"] < 120]
    one = summarise(small, PARAMETERS, "m", "lower", seed=4, bootstrap=100)
    two = summarise(small, PARAMETERS, "m", "lower", seed=4, bootstrap=100)
    other = summarise(small, PARAMETERS, "m", "lower", seed=5, bootstrap=100)
    assert one.record() == two.record()
    assert one.drivers[0].ci_low != other.drivers[0].ci_low     # the seed drives the bootstrap
    assert one.effect_median == other.effect_median
    assert [b.record() for b in discover(small, PARAMETERS, "m", "lower", seed=2)] == \
        [b.record() for b in discover(small, PARAMETERS, "m", "lower", seed=2)]
    record = one.record()
    assert set(record) == {"effect_median", "effect_p05", "effect_p95", "p_better", "drivers", "variance",
                           "sets", "replications"}
    assert set(record["variance"]) == {"total", "noise", "parameter", "parameter_share"}
    json.dumps(record, allow_nan=False)
    result, _ = econ
    frame_e, _ = economic_frame()
    again = economics(frame_e, PARAMETERS, wtp_per_harm=WTP, patient_days_per_year=PD_YEAR, nurses=NURSES)
    assert again.record() == result.record()
    econ_record = json.loads(json.dumps(result.record(), allow_nan=False))
    assert len(econ_record["ceac"]) == 41 and set(econ_record["evppi"]) == set(PARAMETERS)


def test_shared_replication_luck_is_not_counted_as_noise_between_sets():
    """Common random numbers across sets: replication r's luck beta_r is the same in every set,
    so it shifts all set means alike. The spread of set means is the parameter effect plus only
    the independent part of the noise, and the decomposition must say so."""
    rng = np.random.default_rng(5)
    k, r = 60, 3
    theta = rng.uniform(0, 1, k)
    beta = rng.normal(0, 5.0, r)  # large shared luck
    rows = []
    for s in range(k):
        for j in range(r):
            a = 10.0
            rows.append({"set": s, "replication": j, "theta1": theta[s], "a:m": a,
                         "b:m": a + 2.0 * theta[s] + beta[j] + rng.normal(0, 0.05)})
    out = summarise(pd.DataFrame(rows), ["theta1"], "m", "lower", bootstrap=0)
    assert out.variance_noise < 0.01  # 0.05^2 / 3, not 25 / 3
    assert out.parameter_share > 0.95
