"""Tail probabilities and quantiles of Student's t and chi-square, vectorized, without scipy.

smskit's statistics need them for Welch intervals and p-values and for the sample-ratio test;
scipy is only a test dependency, and its results pin these functions in the tests.

* t: the two-sided tail ``P(|T| > t)`` is the regularized incomplete beta ``I_x(df/2, 1/2)`` with
  ``x = df / (df + t²)``, evaluated by its continued fraction (modified Lentz); quantiles from the
  Cornish–Fisher expansion, refined below ``EXPANSION_DF`` by Newton steps on the log of the tail.
  Infinite degrees of freedom give the normal distribution.
* chi-square with integer degrees of freedom: the closed-form Poisson/erfc sums.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

__all__ = ["EXPANSION_DF", "chi2_sf", "normal_quantile", "t_quantile", "t_two_sided"]

EXPANSION_DF = 1e5
_EPS = 1e-15
_TINY = 1e-300
_MAX_ITER = 20_000
_lgamma = np.vectorize(math.lgamma, otypes=[float])
_erfc = np.vectorize(math.erfc, otypes=[float])


def normal_quantile(p: float) -> float:
    """``z`` with ``P(Z < z) = p``."""
    return NormalDist().inv_cdf(p)


def _betacf(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Continued fraction of the incomplete beta function (Numerical Recipes' ``betacf``), elementwise."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = np.ones_like(x)
    d = 1.0 - qab * x / qap
    d = 1.0 / np.where(np.abs(d) < _TINY, _TINY, d)
    h = d.copy()
    active = np.ones(x.shape, dtype=bool)
    for m in range(1, _MAX_ITER + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / np.where(np.abs(d) < _TINY, _TINY, d)
        c = 1.0 + aa / c
        c = np.where(np.abs(c) < _TINY, _TINY, c)
        h = np.where(active, h * d * c, h)
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / np.where(np.abs(d) < _TINY, _TINY, d)
        c = 1.0 + aa / c
        c = np.where(np.abs(c) < _TINY, _TINY, c)
        step = d * c
        h = np.where(active, h * step, h)
        active &= np.abs(step - 1.0) > _EPS
        if not active.any():
            break
    return h


def _log_gamma_ratio(big: np.ndarray, small: np.ndarray) -> np.ndarray:
    """``lnΓ(big + small) − lnΓ(big)`` without the cancellation of two huge ``lgamma`` values.

    Stirling's series (three terms; the next is below 1e-16 for ``big ≥ 100``) is used from 100 on.
    """
    out = np.empty(np.shape(big))
    large = big >= 100
    b, s = big[~large], small[~large]
    out[~large] = _lgamma(b + s) - _lgamma(b)
    b, s = big[large], small[large]

    def series(z: np.ndarray) -> np.ndarray:
        return 1 / (12 * z) - 1 / (360 * z**3) + 1 / (1260 * z**5)

    out[large] = (b - 0.5) * np.log1p(s / b) + s * np.log(b + s) - s + series(b + s) - series(b)
    return out


def _log_beta(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    big, small = np.maximum(a, b), np.minimum(a, b)
    return _lgamma(small) - _log_gamma_ratio(big, small)


def _betainc(a: np.ndarray, b: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Regularized incomplete beta ``I_x(a, b)`` for ``a, b > 0``; ``y = 1 − x`` is given by the caller,
    computed without cancellation (x near 1 is the common case here)."""
    out = np.where(x <= 0, 0.0, 1.0)
    inside = (x > 0) & (y > 0)
    if not inside.any():
        return out
    a, b, x, y = a[inside], b[inside], x[inside], y[inside]
    swap = x > (a + 1.0) / (a + b + 2.0)  # the fraction converges fast below this point
    aa, bb = np.where(swap, b, a), np.where(swap, a, b)
    xx, yy = np.where(swap, y, x), np.where(swap, x, y)
    with np.errstate(divide="ignore", invalid="ignore"):  # np.where computes both branches
        log_xx = np.where(yy < 0.5, np.log1p(-yy), np.log(xx))
        log_yy = np.where(xx < 0.5, np.log1p(-xx), np.log(yy))
    log_front = aa * log_xx + bb * log_yy - _log_beta(aa, bb)
    value = np.exp(log_front) * _betacf(aa, bb, xx) / aa
    out[inside] = np.where(swap, 1.0 - value, value)
    return out


def t_two_sided(t: np.ndarray | float, df: np.ndarray | float) -> np.ndarray:
    """``P(|T| ≥ |t|)`` for Student's t with ``df`` (> 0, may be fractional) degrees of freedom; NaN in → NaN."""
    t_arr, df_arr = np.broadcast_arrays(np.asarray(t, dtype=float), np.asarray(df, dtype=float))
    t_arr, df_arr = np.atleast_1d(t_arr), np.atleast_1d(df_arr)
    out = np.full(t_arr.shape, np.nan)
    ok = (df_arr > 0) & ~np.isnan(t_arr)
    normal = ok & np.isinf(df_arr)
    out[normal] = _erfc(np.abs(t_arr[normal]) / math.sqrt(2.0))
    exact = ok & ~normal
    if exact.any():
        tt, nu = t_arr[exact], df_arr[exact]
        with np.errstate(over="ignore", invalid="ignore"):
            x = np.where(np.isinf(tt), 0.0, nu / (nu + tt * tt))
            y = np.where(np.isinf(tt), 1.0, tt * tt / (nu + tt * tt))
        out[exact] = _betainc(nu / 2.0, np.full_like(nu, 0.5), x, y)
    return out


def _t_log_density(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    half = np.full_like(df, 0.5)
    return _log_gamma_ratio(df / 2, half) - 0.5 * np.log(df * math.pi) - (df + 1) / 2 * np.log1p(t * t / df)


def t_quantile(p: np.ndarray | float, df: np.ndarray | float) -> np.ndarray:
    """``t`` with ``P(T < t) = p`` (``0.5 < p < 1``; the upper quantiles that intervals use), elementwise."""
    p_arr, df_arr = np.broadcast_arrays(np.asarray(p, dtype=float), np.asarray(df, dtype=float))
    p_arr, df_arr = np.atleast_1d(p_arr).copy(), np.atleast_1d(df_arr).copy()
    if np.any((p_arr <= 0.5) | (p_arr >= 1)):
        raise ValueError("t_quantile takes upper-tail probabilities 0.5 < p < 1")
    out = np.full(p_arr.shape, np.nan)
    ok = df_arr > 0
    z = np.array([normal_quantile(v) for v in p_arr.ravel()]).reshape(p_arr.shape)
    normal = ok & np.isinf(df_arr)
    out[normal] = z[normal]
    todo = ok & ~normal
    if not todo.any():
        return out
    q, nu, zz = 2.0 * (1.0 - p_arr[todo]), df_arr[todo], z[todo]
    # Cornish–Fisher expansion (Abramowitz & Stegun 26.7.5); below EXPANSION_DF, Newton steps on
    # log P(|T| > t) from it converge in a few steps
    g1 = (zz**3 + zz) / 4
    g2 = (5 * zz**5 + 16 * zz**3 + 3 * zz) / 96
    g3 = (3 * zz**7 + 19 * zz**5 + 17 * zz**3 - 15 * zz) / 384
    g4 = (79 * zz**9 + 776 * zz**7 + 1482 * zz**5 - 1920 * zz**3 - 945 * zz) / 92160
    t = zz + g1 / nu + g2 / nu**2 + g3 / nu**3 + g4 / nu**4
    t = np.where(np.isfinite(t) & (t >= zz), t, zz)
    log_q = np.log(q)
    active = nu < EXPANSION_DF  # above it the expansion's error (order z¹¹/df⁵) is below the tail's rounding
    for _ in range(60):
        tail = t_two_sided(t[active], nu[active])
        # d/dt log P(|T| > t) = -2 f(t) / P(|T| > t)
        slope = -2.0 * np.exp(_t_log_density(t[active], nu[active])) / tail
        new = t[active] - (np.log(tail) - log_q[active]) / slope
        new = np.where(new <= 0, t[active] / 2, new)  # stay on the positive half-line
        moved = np.abs(new - t[active]) > 1e-11 * np.maximum(1.0, np.abs(new))
        t[active] = new
        active[active] = moved
        if not active.any():
            break
    out[todo] = t
    return out


def chi2_sf(x: np.ndarray | float, df: int) -> np.ndarray:
    """``P(X ≥ x)`` for chi-square with integer ``df ≥ 1``: the closed-form sums, elementwise."""
    if int(df) != df or df < 1:
        raise ValueError(f"df must be a positive integer, got {df!r}")
    df = int(df)
    xs = np.atleast_1d(np.asarray(x, dtype=float))
    half = np.maximum(xs, 0.0) / 2.0
    positive = half > 0
    log_half = np.log(np.where(positive, half, 1.0))

    def term(power: float) -> np.ndarray:  # e^-h h^power / Γ(power + 1), in logs so neither factor overflows
        return np.where(positive, np.exp(-half + power * log_half - math.lgamma(power + 1)), float(power == 0))

    if df % 2 == 0:
        out = sum((term(i) for i in range(df // 2)), np.zeros_like(half))
    else:
        out = _erfc(np.sqrt(half)) + sum((term(i + 0.5) for i in range(df // 2)), np.zeros_like(half))
    return np.where(np.isnan(xs), np.nan, np.clip(out, 0.0, 1.0))
