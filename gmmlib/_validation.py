"""Every check of user input, written once: numbers, integers, weights, arrays, float types.

The modules that take arguments from users (the estimator, the EM functions, the prior,
model selection, merging, the Dask data source) call these; each raises a ``ValueError``
that says what was wrong and what to do.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np


def is_integer(value: object) -> bool:
    """True for Python and numpy integers; False for bools, which Python counts as ints."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_dask_array(value: object) -> bool:
    """True for a Dask array, decided without importing Dask (gmmlib works without it)."""
    return type(value).__module__.startswith("dask.") and hasattr(value, "chunks")


def check_number(
    name: str, value: object, kind: type, low: float, low_inclusive: bool = True
) -> None:
    """Raise a ValueError unless ``value`` is a finite ``kind`` (int or float) at least ``low``
    (above ``low`` when ``low_inclusive`` is False). Booleans are refused."""
    is_kind = is_integer(value) if kind is int else isinstance(value, numbers.Real)
    if isinstance(value, bool) or not is_kind or not np.isfinite(value):  # type: ignore[call-overload]
        raise ValueError(f"{name} must be a finite {kind.__name__}; got {value!r}.")
    if value < low or (value == low and not low_inclusive):  # type: ignore[operator]
        bound = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {bound} {low}; got {value!r}.")


def compute_dtype(X: Any) -> np.dtype:
    """The float type EM runs in for ``X``: float32 for float32 data, float64 otherwise."""
    return np.dtype(
        np.float32 if np.dtype(getattr(X, "dtype", np.float64)) == np.float32 else np.float64
    )


def as_rows(X: Any) -> np.ndarray:
    """``X`` as an array of float32 or float64 rows (other types become float64)."""
    X = np.asarray(X)
    return X if X.dtype in (np.float32, np.float64) else X.astype(np.float64)


def n_rows(X: Any) -> int:
    """The number of rows of an array-like (0 for a scalar)."""
    return int(np.shape(X)[0]) if np.ndim(X) else 0


def check_sample_weight_shape(sample_weight: Any, n_samples: int) -> np.ndarray | None:
    """``sample_weight`` as float64 of shape ``(n_samples,)``, or None; its values unchecked
    (the statistics pass, which trusts its caller)."""
    if sample_weight is None:
        return None
    weight = np.asarray(sample_weight, dtype=np.float64)
    if weight.shape != (n_samples,):
        raise ValueError(
            f"sample_weight has shape {weight.shape}, but X has {n_samples} rows: pass one "
            "weight per row."
        )
    return weight


def sample_weight_problem(*, finite: bool, minimum: float, total: float) -> str | None:
    """What is wrong with sample weights of these properties, or None if nothing is.

    The one statement of the rules, whatever holds the weights (an array in memory or a
    Dask array, whose properties take one pass): finite, non-negative, not all zero.
    """
    if not finite:
        return "sample_weight contains NaN or infinity; pass finite weights."
    if minimum < 0:
        return (
            f"sample_weight must not be negative; its smallest value is {minimum:g}. "
            "A weight counts how often a row is repeated: use 0 to leave a row out."
        )
    if not total > 0:
        return "sample_weight is zero everywhere: at least one row must count."
    if total == np.inf:
        return (
            "sample_weight sums to more than floating point holds; divide the weights by "
            "their largest (without a prior, scaling all weights changes nothing)."
        )
    return None


def check_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray | None:
    """``sample_weight`` as a float64 array of ``n_samples`` non-negative, finite weights
    that do not all vanish, or None; a clear ValueError otherwise. A scalar is one weight
    for every row."""
    if sample_weight is None:
        return None
    if np.ma.isMaskedArray(sample_weight):
        raise ValueError(
            "sample_weight is a masked array; fill its masked entries first (e.g. "
            "sample_weight.filled(0) to leave those rows out)."
        )
    kind = np.asarray(sample_weight).dtype.kind
    if kind not in "biuf":
        raise ValueError(
            f"sample_weight must be real numbers; got an array of dtype "
            f"{np.asarray(sample_weight).dtype}."
        )
    weight = np.asarray(sample_weight, dtype=np.float64)
    if weight.ndim == 0:
        weight = np.full(n_samples, float(weight))
    if weight.shape != (n_samples,):
        check_sample_weight_shape(weight, n_samples)  # raises, saying so
    finite = bool(np.all(np.isfinite(weight)))
    with np.errstate(over="ignore"):
        problem = sample_weight_problem(
            finite=finite,
            minimum=float(weight.min(initial=0.0)) if finite else 0.0,
            total=float(weight.sum()) if finite else 0.0,
        )
    if problem:
        raise ValueError(problem)
    return weight


#: What is said of data with NaN or infinity in them.
NOT_FINITE = (
    "Input X contains NaN or infinity. Remove or impute those values first (np.isfinite(X) "
    "finds them; for a Dask array, dask.array.isfinite(X))."
)


def check_magnitude(X: np.ndarray) -> None:
    """Raise a ValueError when squared distances between the points overflow float64.

    EM needs :math:`\\lVert x_i - \\mu_k \\rVert^2`; beyond about :math:`10^{154}` from the
    data's centre it is infinite, and every covariance with it. NaN or infinity in ``X`` is
    said as such (as numpy's and scikit-learn's checks say it).
    """
    if not np.all(np.isfinite(X)):
        raise ValueError(NOT_FINITE)
    spread = float(np.max(np.abs(X - X.mean(axis=0)), initial=0.0))
    with np.errstate(over="ignore"):
        if not np.isfinite(spread * spread * X.shape[1]):
            raise ValueError(
                f"The data are too large for floating point: points lie up to {spread:.3g} "
                "from their centre, and squared distances overflow. Rescale the data "
                "(e.g. StandardScaler)."
            )


def as_finite_array(name: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` as a float64 array of ``shape`` with finite entries, or a ValueError."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers; got {value!r}.") from None
    if array.shape != shape:
        raise ValueError(
            f"{name} has shape {array.shape}, but n_components and the data's number of "
            f"features require shape {shape}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinity; pass finite values.")
    return array
