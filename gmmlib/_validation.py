"""Checks shared by the modules that validate user input."""

from __future__ import annotations

import numbers


def is_integer(value: object) -> bool:
    """True for Python and numpy integers; False for bools, which Python counts as ints."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_dask_array(value: object) -> bool:
    """True for a Dask array, decided without importing Dask (gmmlib works without it)."""
    return type(value).__module__.startswith("dask.") and hasattr(value, "chunks")
