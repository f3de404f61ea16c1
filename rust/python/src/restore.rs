//! Pickled describe results rebuilt: the describe classes reduce to `_restore_describe` with
//! their answer's JSON, read again as Salesforce's own answers are.

use crate::errors::to_pyerr;
use crate::results::{DescribeGlobalOut, DescribeOut, FieldDescribe, SObjectSummary};
use forcelink as sf;
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;

/// Rebuilds a pickled describe result: `kind` is `object`, `field`, `summary` or `global`, and
/// `data` the answer's JSON (as dicts), read as Salesforce's own answers are.
#[pyfunction]
pub fn _restore_describe(
    py: Python<'_>,
    kind: &str,
    data: &Bound<'_, PyAny>,
) -> PyResult<PyObject> {
    let value = crate::convert::from_python(data)?;
    let bad = |e: serde_json::Error| {
        pyo3::exceptions::PyValueError::new_err(format!("not a pickled {kind}: {e}"))
    };
    match kind {
        "object" => {
            let serde_json::Value::Object(raw) = value else {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "a describe is a dict",
                ));
            };
            let describe = sf::SObjectDescribe::from_raw(raw).map_err(to_pyerr)?;
            DescribeOut(describe).into_py_any(py)
        }
        "field" => {
            let field: sf::FieldDescribe = serde_json::from_value(value).map_err(bad)?;
            FieldDescribe::from(&field).into_py_any(py)
        }
        "summary" => {
            let s: sf::SObjectSummary = serde_json::from_value(value).map_err(bad)?;
            SObjectSummary::from(s).into_py_any(py)
        }
        "global" => {
            let g: sf::DescribeGlobal = serde_json::from_value(value).map_err(bad)?;
            DescribeGlobalOut(g).into_py_any(py)
        }
        other => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "unknown describe kind {other:?}"
        ))),
    }
}
