"""Query results as data frames: pyarrow Tables and pandas DataFrames, built in Rust.

The engine reads the records into Arrow columns typed from the object's describe (integers,
floats, booleans, dates, UTC datetimes, text) and hands them over through the Arrow C stream
interface, without a copy. pyarrow and pandas are the optional extra ``forcelink[frames]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._core import ArrowFrame

if TYPE_CHECKING:
    import pandas
    import pyarrow

__all__ = ["arrow_table", "pandas_frame"]

_HINT = "data frames need pyarrow and pandas: pip install 'forcelink[frames]'"


def _pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError as e:
        raise ImportError(_HINT) from e
    return pyarrow


def arrow_table(frame: ArrowFrame) -> pyarrow.Table:
    """A ``pyarrow.Table`` over the frame's batches (shared, not copied)."""
    table: pyarrow.Table = _pyarrow().RecordBatchReader.from_stream(frame).read_all()
    return table


def pandas_frame(frame: ArrowFrame) -> pandas.DataFrame:
    """A pandas DataFrame: integers and booleans as pandas' nullable ``Int64`` and ``boolean``
    (a null stays a null, not a float NaN), floats as ``float64``, datetimes as
    ``datetime64[ms, UTC]``, dates as ``datetime64[ms]``, text as pandas' string type."""
    pa = _pyarrow()
    try:
        import pandas as pd
    except ImportError as e:
        raise ImportError(_HINT) from e
    nullable = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
    table = arrow_table(frame)
    result: pandas.DataFrame = table.to_pandas(types_mapper=nullable.get, date_as_object=False)
    return result
