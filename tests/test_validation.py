"""gmmlib._validation: every check of user input, written once, says what was wrong and what
to do. (What each entry point refuses is tested with it: test_mixture, test_selection,
test_dask, ...)"""

from __future__ import annotations

import re

import numpy as np
import pytest

from gmmlib._validation import (
    NOT_FINITE,
    as_finite_array,
    as_rows,
    check_magnitude,
    check_number,
    check_sample_weight,
    check_sample_weight_shape,
    compute_dtype,
    is_dask_array,
    is_integer,
    n_rows,
    sample_weight_problem,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, True), (np.int64(3), True), (np.uint8(0), True), (True, False), (np.True_, False)]
    + [(3.0, False), ("3", False), (None, False)],
)
def test_is_integer_takes_integers_and_refuses_bools(value, expected):
    assert is_integer(value) is expected


def test_is_dask_array_tells_dask_arrays_apart():
    import dask.array as da

    assert is_dask_array(da.zeros((4, 2), chunks=2))
    assert not is_dask_array(np.zeros((4, 2))) and not is_dask_array([[0.0, 1.0]])


@pytest.mark.parametrize(
    ("value", "kind", "low", "inclusive", "message"),
    [
        (True, int, 1, True, "n must be a finite int; got True"),
        (2.5, int, 1, True, "n must be a finite int; got 2.5"),
        (np.nan, float, 0, True, "n must be a finite float; got nan"),
        (np.inf, float, 0, True, "n must be a finite float"),
        ("1", float, 0, True, "n must be a finite float; got '1'"),
        (0, int, 1, True, "n must be >= 1; got 0"),
        (0.0, float, 0.0, False, r"n must be > 0.0; got 0.0"),
    ],
)
def test_check_number_names_the_argument_and_the_bound(value, kind, low, inclusive, message):
    with pytest.raises(ValueError, match=message):
        check_number("n", value, kind, low, inclusive)


@pytest.mark.parametrize(
    ("value", "kind", "low", "inclusive"),
    [
        (1, int, 1, True),
        (np.int32(5), int, 1, True),
        (1e-300, float, 0.0, False),
        (3, float, 0, True),
    ],
)
def test_check_number_accepts_what_it_promises(value, kind, low, inclusive):
    check_number("n", value, kind, low, inclusive)


def test_the_float_type_and_rows():
    assert compute_dtype(np.zeros(3, dtype=np.float32)) == np.float32
    assert compute_dtype(np.zeros(3, dtype=np.int64)) == np.float64
    assert compute_dtype([[1, 2]]) == np.float64
    rows = np.zeros((3, 2), dtype=np.float32)
    assert as_rows(rows) is rows  # float32 and float64 rows are used as they are
    assert as_rows([[1, 2], [3, 4]]).dtype == np.float64
    assert (n_rows(np.zeros((5, 2))), n_rows([[1], [2]]), n_rows(3.0)) == (5, 2, 0)


def test_the_shape_of_sample_weight():
    assert check_sample_weight_shape(None, 4) is None
    weight = check_sample_weight_shape([1, 2, 3, 4], 4)
    assert weight.dtype == np.float64 and weight.shape == (4,)
    with pytest.raises(ValueError, match=r"shape \(3,\), but X has 4 rows: pass one weight"):
        check_sample_weight_shape(np.ones(3), 4)


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"finite": False, "minimum": 0.0, "total": 0.0}, "NaN or infinity; pass finite"),
        ({"finite": True, "minimum": -2.0, "total": 5.0}, "smallest value is -2. .*use 0 to leave"),
        ({"finite": True, "minimum": 0.0, "total": 0.0}, "zero everywhere: at least one row"),
        ({"finite": True, "minimum": 0.0, "total": np.inf}, "divide the weights by their largest"),
        ({"finite": True, "minimum": 0.0, "total": 2.0}, None),
    ],
)
def test_the_rules_for_sample_weights_are_stated_once(properties, message):
    problem = sample_weight_problem(**properties)
    assert problem is None if message is None else re.search(message, problem)


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        (np.ma.masked_array(np.ones(4), mask=[True, False, False, False]), "masked array"),
        (np.ones(4) + 1j, "real numbers; got an array of dtype complex128"),
        (np.array(["1"] * 4), "real numbers"),
        (np.ones(3), r"shape \(3,\), but X has 4 rows"),
        (np.r_[1.0, np.nan, 1.0, 1.0], "NaN or infinity"),
        (np.r_[1.0, -1.0, 1.0, 1.0], "must not be negative"),
        (np.zeros(4), "zero everywhere"),
        (np.full(4, 1e308), "divide the weights by their largest"),
    ],
)
def test_check_sample_weight_refuses_what_cannot_be_used(weight, message):
    with pytest.raises(ValueError, match=message):
        check_sample_weight(weight, 4)


def test_check_sample_weight_returns_float64_weights():
    assert check_sample_weight(None, 4) is None
    np.testing.assert_array_equal(check_sample_weight(2, 4), np.full(4, 2.0))  # one for all
    booleans = check_sample_weight(np.array([True, False, True, True]), 4)
    assert booleans.dtype == np.float64 and list(booleans) == [1.0, 0.0, 1.0, 1.0]


def test_check_magnitude_names_overflow_and_nan():
    check_magnitude(np.random.RandomState(0).normal(size=(10, 2)) * 1e150)
    with pytest.raises(ValueError, match="squared distances overflow. Rescale the data"):
        check_magnitude(np.random.RandomState(0).normal(size=(10, 2)) * 1e160)
    with pytest.raises(ValueError, match="Input X contains NaN or infinity") as error:
        check_magnitude(np.array([[0.0, np.nan], [1.0, 1.0]]))
    assert str(error.value) == NOT_FINITE


def test_as_finite_array_checks_numbers_shape_and_values():
    np.testing.assert_array_equal(as_finite_array("means_init", [[1, 2]], (1, 2)), [[1.0, 2.0]])
    with pytest.raises(ValueError, match="means_init must be an array of numbers"):
        as_finite_array("means_init", [["a", "b"]], (1, 2))
    with pytest.raises(ValueError, match=r"means_init has shape \(2,\).*require shape \(1, 2\)"):
        as_finite_array("means_init", [1, 2], (1, 2))
    with pytest.raises(ValueError, match="means_init contains NaN or infinity"):
        as_finite_array("means_init", [[1, np.inf]], (1, 2))
