"""careos-sim: discrete-event simulation of hospital care systems.

    >>> import careos_sim
    >>> scenario = careos_sim.load_scenario("scenarios/default.yaml", overrides={"run.horizon_days": 28})
    >>> result = careos_sim.run(scenario, replications=2, seed=1)
    >>> result.summary  # a pandas DataFrame: metric, mean, ci_low, ci_high, unit, direction
"""

from careos_sim import native  # first: it chooses the compiled or the pure build of the hot modules

from careos_sim.experiment.compare import compare
from careos_sim.experiment.replications import RunResult, run
from careos_sim.spec.loader import InputError, InputIssue, load_scenario
from careos_sim.spec.scenario import ScenarioSpec
from careos_sim.model.replication import run_replication

__version__ = "0.1.0"

__all__ = ["InputError", "InputIssue", "RunResult", "ScenarioSpec", "compare", "load_scenario", "run", "run_replication",
           "__version__"]
