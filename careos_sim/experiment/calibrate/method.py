"""History matching: Latin hypercube, Gaussian-process emulators, implausibility, next-wave points.

Everything here is a pure function of its inputs and a seed, so a calibration's waves are
re-derived exactly from the stored runs when it resumes.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["latin_hypercube", "Emulator", "fit_emulators", "single_threaded", "implausibility", "combine", "select_points",
           "ratio_of_means", "mean_of", "sub_seed"]


def sub_seed(seed: int, *words: int) -> int:
    """A seed for one use (a wave's sampling, an emulator's restarts), separate from every simulation stream."""
    return int(np.random.SeedSequence([seed, 0xCA1B, *words]).generate_state(1)[0])


def latin_hypercube(k: int, n: int, seed: int) -> np.ndarray:
    """``n`` points of a scrambled Latin hypercube in [0, 1]^k (scipy.stats.qmc)."""
    from scipy.stats import qmc

    return qmc.LatinHypercube(d=k, seed=np.random.default_rng(seed)).random(n)


# --------------------------------------------------------------------------- summaries of replications


def mean_of(values: np.ndarray) -> tuple[float, float, int]:
    """Mean over replications, the variance of that mean (s^2 / n) and n; NaN values are left out."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return math.nan, math.nan, 0
    return float(x.mean()), float(x.var(ddof=1) / n) if n > 1 else math.nan, n


def ratio_of_means(num: np.ndarray, den: np.ndarray) -> tuple[float, float, int]:
    """mean(num) / mean(den) over paired replications, and the delta-method variance of that ratio.

    With R = a / b (a, b the means of n paired values), Var(R) ~ (s_a^2 / b^2 - 2 a s_ab / b^3
    + a^2 s_b^2 / b^4) / n: the covariance term is what pairing on common random numbers buys.
    """
    a, b = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    n = a.size
    if n == 0 or b.mean() == 0:
        return math.nan, math.nan, n
    ma, mb = float(a.mean()), float(b.mean())
    r = ma / mb
    if n < 2:
        return r, math.nan, n
    c = np.cov(a, b, ddof=1)
    var = (c[0, 0] / mb**2 - 2 * ma * c[0, 1] / mb**3 + ma**2 * c[1, 1] / mb**4) / n
    return r, float(max(var, 0.0)), n


def ci(mean: float, var: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Student-t interval mean +- t(n-1) sqrt(var); NaN with fewer than two replications."""
    if n < 2 or not math.isfinite(var):
        return math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * math.sqrt(var)
    return mean - half, mean + half


# --------------------------------------------------------------------------- emulators


@dataclass
class Emulator:
    """A Gaussian process of one target output over the scaled parameter box, or nothing (too few points).

    Kernel: ConstantKernel x RBF with one length scale per parameter (ARD) + WhiteKernel; the
    white-noise level absorbs the simulation noise of the training means, and is taken out of
    the predictive variance, which is the emulator's uncertainty about the mean itself.
    """

    gp: object | None
    y_mean: float
    y_scale: float
    noise: float  # fitted WhiteKernel level, in scaled units
    n: int

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Emulator mean and variance (of the mean output, simulation noise excluded) at scaled points."""
        if self.gp is None:
            return np.full(len(x), np.nan), np.full(len(x), np.nan)
        mu, sd = self.gp.predict(x, return_std=True)  # type: ignore[attr-defined]
        var = np.maximum(sd**2 - self.noise, 0.0)
        return self.y_mean + self.y_scale * mu, self.y_scale**2 * var

    @property
    def kernel(self) -> str:
        return str(self.gp.kernel_) if self.gp is not None else "none (fewer than 3 finite outputs)"  # type: ignore


def fit_emulator(x: np.ndarray, y: np.ndarray, seed: int) -> Emulator:
    """Fit one emulator on scaled inputs ``x`` (n x k) and outputs ``y`` (NaN rows left out)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(y) < 3:
        return Emulator(None, math.nan, math.nan, math.nan, len(y))
    centre = float(y.mean())
    scale = float(y.std()) or 1.0
    k = x.shape[1]
    kernel = (ConstantKernel(1.0, (1e-3, 1e3)) * RBF(np.full(k, 0.5), (1e-2, 1e2))
              + WhiteKernel(1e-2, (1e-8, 1.0)))
    gp = GaussianProcessRegressor(kernel, normalize_y=False, n_restarts_optimizer=2, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(x, (y - centre) / scale)
    noise = float(gp.kernel_.k2.noise_level)
    return Emulator(gp, centre, scale, noise, len(y))


def single_threaded():
    """Linear algebra on one thread: the emulators' matrices are small (sets x sets), and BLAS threads
    competing with the simulation's processes for the cores make a fit ten times slower, not faster."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def fit_emulators(x: np.ndarray, outputs: np.ndarray, seed: int) -> list[Emulator]:
    """One emulator per column of ``outputs`` (sets x targets)."""
    with single_threaded():
        return [fit_emulator(x, outputs[:, j], sub_seed(seed, j)) for j in range(outputs.shape[1])]


def implausibility(z: np.ndarray, var_obs: np.ndarray, mean: np.ndarray, var_em: np.ndarray,
                   var_sim: np.ndarray) -> np.ndarray:
    """I_j = |z_j - E f_j| / sqrt(Var_em + Var_obs + Var_sim), per point and target (points x targets).

    A NaN output (the metric is undefined there) is infinitely implausible.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        i = np.abs(z - mean) / np.sqrt(var_em + var_obs + var_sim)
    return np.where(np.isfinite(i), i, np.inf)


def combine(i: np.ndarray, rule: str) -> np.ndarray:
    """The largest implausibility of each point (``max``), or the second largest (``second_max``)."""
    if rule == "second_max" and i.shape[1] >= 2:
        return np.sort(i, axis=1)[:, -2]
    return i.max(axis=1)


def select_points(candidates: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` spread-out points of ``candidates`` (greedy maximin from a seeded start), or all if fewer."""
    if len(candidates) <= n:
        return candidates
    rng = np.random.default_rng(seed)
    chosen = [int(rng.integers(len(candidates)))]
    dist = np.linalg.norm(candidates - candidates[chosen[0]], axis=1)
    for _ in range(n - 1):
        j = int(np.argmax(dist))
        chosen.append(j)
        dist = np.minimum(dist, np.linalg.norm(candidates - candidates[j], axis=1))
    return candidates[chosen]
