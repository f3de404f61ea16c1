//! Typed results handed to Python: frozen classes with read-only attributes.

use crate::convert::{map_to_dict, py_repr};
use forcelink as sf;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use pyo3::IntoPyObjectExt;

/// Salesforce error entries as dicts. `code_key` is `errorCode` in error bodies and
/// `statusCode` in per-record results, as Salesforce names it in each.
pub fn error_dicts<'py>(
    py: Python<'py>,
    errors: &[sf::ApiErrorItem],
    code_key: &str,
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for e in errors {
        let d = PyDict::new(py);
        d.set_item(code_key, &e.error_code)?;
        d.set_item("message", &e.message)?;
        d.set_item("fields", &e.fields)?;
        list.append(d)?;
    }
    Ok(list)
}

fn errors_list(py: Python<'_>, errors: &[sf::ApiErrorItem]) -> PyResult<Py<PyList>> {
    error_dicts(py, errors, "errorCode").map(Bound::unbind)
}

/// The answer to a create: the new record's id.
#[pyclass(module = "forcelink", frozen, get_all)]
pub struct SaveResult {
    /// The new record's id.
    pub id: String,
    /// Whether the record was saved.
    pub success: bool,
    /// Error entries (`statusCode`, `message`, `fields`); empty on success.
    pub errors: Py<PyList>,
}

#[pymethods]
impl SaveResult {
    #[new]
    #[pyo3(signature = (id, success, errors))]
    fn new(id: String, success: bool, errors: Py<PyList>) -> Self {
        Self {
            id,
            success,
            errors,
        }
    }

    /// Pickling: the constructor's arguments.
    fn __getnewargs__(&self, py: Python<'_>) -> (String, bool, Py<PyList>) {
        (self.id.clone(), self.success, self.errors.clone_ref(py))
    }

    /// `result["id"]`, `["success"]`, `["errors"]`: the keys of Salesforce's JSON answer (and of
    /// simple-salesforce's dict), beside the attributes.
    fn __getitem__<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        match key {
            "id" => self.id.clone().into_bound_py_any(py),
            "success" => self.success.into_bound_py_any(py),
            "errors" => Ok(self.errors.bind(py).clone().into_any()),
            _ => Err(pyo3::exceptions::PyKeyError::new_err(format!(
                "{key:?}: a SaveResult has id, success and errors"
            ))),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        py_repr(
            py,
            "SaveResult",
            vec![
                ("id", self.id.clone().into_bound_py_any(py)),
                ("success", self.success.into_bound_py_any(py)),
            ],
        )
    }
}

/// Builds Python results from Rust ones; used where a call's output is a typed result.
pub struct SaveOut(pub sf::SaveResult);

impl<'py> IntoPyObject<'py> for SaveOut {
    type Target = SaveResult;
    type Output = Bound<'py, SaveResult>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let r = self.0;
        Bound::new(
            py,
            SaveResult {
                id: r.id,
                success: r.success,
                errors: errors_list(py, &r.errors)?,
            },
        )
    }
}

/// The answer to an upsert: the record's id and whether it was created.
#[pyclass(module = "forcelink", frozen, get_all)]
pub struct UpsertResult {
    /// The record's id (None when the upsert failed).
    pub id: Option<String>,
    /// True when a new record was created, False when an existing one was updated.
    pub created: bool,
    /// Whether the record was saved.
    pub success: bool,
    /// Error entries (`statusCode`, `message`, `fields`); empty on success.
    pub errors: Py<PyList>,
}

#[pymethods]
impl UpsertResult {
    #[new]
    #[pyo3(signature = (id, created, success, errors))]
    fn new(id: Option<String>, created: bool, success: bool, errors: Py<PyList>) -> Self {
        Self {
            id,
            created,
            success,
            errors,
        }
    }

    /// Pickling: the constructor's arguments.
    fn __getnewargs__(&self, py: Python<'_>) -> (Option<String>, bool, bool, Py<PyList>) {
        (
            self.id.clone(),
            self.created,
            self.success,
            self.errors.clone_ref(py),
        )
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        py_repr(
            py,
            "UpsertResult",
            vec![
                ("id", self.id.clone().into_bound_py_any(py)),
                ("created", self.created.into_bound_py_any(py)),
            ],
        )
    }
}

pub struct UpsertOut(pub sf::UpsertResult);

impl<'py> IntoPyObject<'py> for UpsertOut {
    type Target = UpsertResult;
    type Output = Bound<'py, UpsertResult>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let r = self.0;
        Bound::new(
            py,
            UpsertResult {
                id: r.id,
                created: r.created,
                success: r.success,
                errors: errors_list(py, &r.errors)?,
            },
        )
    }
}

/// Daily API usage from the latest `Sforce-Limit-Info` header.
#[pyclass(module = "forcelink", frozen, get_all)]
pub struct ApiUsage {
    /// API requests used today (org-wide, rolling 24 hours).
    pub used: u64,
    /// The org's daily API request limit.
    pub max: u64,
    /// Per connected app: app name to (used, max).
    pub per_app: Py<PyDict>,
}

#[pymethods]
impl ApiUsage {
    #[new]
    #[pyo3(signature = (used, max, per_app))]
    fn new(used: u64, max: u64, per_app: Py<PyDict>) -> Self {
        Self { used, max, per_app }
    }

    /// Pickling: the constructor's arguments.
    fn __getnewargs__(&self, py: Python<'_>) -> (u64, u64, Py<PyDict>) {
        (self.used, self.max, self.per_app.clone_ref(py))
    }

    /// Used as a percentage of the maximum.
    #[getter]
    fn percent(&self) -> f64 {
        if self.max == 0 {
            0.0
        } else {
            self.used as f64 * 100.0 / self.max as f64
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "ApiUsage(used={}, max={}, percent={:.2})",
            self.used,
            self.max,
            self.percent()
        )
    }
}

impl ApiUsage {
    pub fn from_usage(py: Python<'_>, u: &sf::ApiUsage) -> PyResult<Self> {
        let per_app = PyDict::new(py);
        for app in &u.per_app {
            per_app.set_item(&app.app, (app.used, app.max))?;
        }
        Ok(Self {
            used: u.used,
            max: u.max,
            per_app: per_app.unbind(),
        })
    }
}

/// One field of an object's describe.
#[pyclass(module = "forcelink", frozen, get_all)]
pub struct FieldDescribe {
    /// The field's API name.
    pub name: String,
    /// The field's label.
    pub label: String,
    /// The field type: `string`, `double`, `reference`, `picklist`, ...
    #[pyo3(name = "type")]
    pub field_type: String,
    /// The maximum length of text fields (0 for others).
    pub length: u64,
    /// Whether the field may be empty.
    pub nillable: bool,
    /// Whether the field can be set on create.
    pub createable: bool,
    /// Whether the field can be set on update.
    pub updateable: bool,
    /// Whether values must be unique.
    pub unique: bool,
    /// Whether the field is an external id (usable for upserts).
    pub external_id: bool,
    /// Whether the field is custom (`__c`).
    pub custom: bool,
    /// Whether Salesforce fills the field on create when it is not given.
    pub defaulted_on_create: bool,
    /// The objects a reference field points to.
    pub reference_to: Vec<String>,
    /// The relationship name of a reference field, used in SOQL (`Account.Name`).
    pub relationship_name: Option<String>,
    /// The active values of a picklist.
    pub picklist_values: Vec<String>,
    /// The compound field this one is a part of (`BillingAddress` for `BillingCity`).
    pub compound_field_name: Option<String>,
}

#[pymethods]
impl FieldDescribe {
    /// Pickles as its describe entry, read back by `_restore_describe`.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        let d = PyDict::new(py);
        d.set_item("name", &self.name)?;
        d.set_item("label", &self.label)?;
        d.set_item("type", &self.field_type)?;
        d.set_item("length", self.length)?;
        d.set_item("nillable", self.nillable)?;
        d.set_item("createable", self.createable)?;
        d.set_item("updateable", self.updateable)?;
        d.set_item("unique", self.unique)?;
        d.set_item("externalId", self.external_id)?;
        d.set_item("custom", self.custom)?;
        d.set_item("defaultedOnCreate", self.defaulted_on_create)?;
        d.set_item("referenceTo", &self.reference_to)?;
        d.set_item("relationshipName", &self.relationship_name)?;
        d.set_item("compoundFieldName", &self.compound_field_name)?;
        let values = PyList::empty(py);
        for value in &self.picklist_values {
            let entry = PyDict::new(py);
            entry.set_item("value", value)?;
            entry.set_item("active", true)?;
            values.append(entry)?;
        }
        d.set_item("picklistValues", values)?;
        Ok((restorer(py)?, ("field", d)))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        py_repr(
            py,
            "FieldDescribe",
            vec![
                ("name", self.name.clone().into_bound_py_any(py)),
                ("type", self.field_type.clone().into_bound_py_any(py)),
            ],
        )
    }
}

impl From<&sf::FieldDescribe> for FieldDescribe {
    fn from(f: &sf::FieldDescribe) -> Self {
        Self {
            name: f.name.clone(),
            label: f.label.clone(),
            field_type: f.field_type.clone(),
            length: f.length,
            nillable: f.nillable,
            createable: f.createable,
            updateable: f.updateable,
            unique: f.unique,
            external_id: f.external_id,
            custom: f.custom,
            defaulted_on_create: f.defaulted_on_create,
            reference_to: f.reference_to.clone(),
            relationship_name: f.relationship_name.clone(),
            picklist_values: f
                .picklist_values
                .iter()
                .filter(|p| p.active)
                .map(|p| p.value.clone())
                .collect(),
            compound_field_name: f.compound_field_name.clone(),
        }
    }
}

/// An object's describe: its properties and fields; `raw` holds the whole answer.
#[pyclass(module = "forcelink", frozen, get_all)]
pub struct SObjectDescribe {
    /// The object's API name.
    pub name: String,
    /// The object's label.
    pub label: String,
    /// The object's plural label.
    pub label_plural: String,
    /// The three-character prefix of the object's record ids.
    pub key_prefix: Option<String>,
    /// Whether the object is custom (`__c`).
    pub custom: bool,
    /// Whether records can be created.
    pub createable: bool,
    /// Whether records can be updated.
    pub updateable: bool,
    /// Whether records can be deleted.
    pub deletable: bool,
    /// Whether the object can be queried.
    pub queryable: bool,
    /// The fields, as `FieldDescribe`s.
    pub fields: Vec<Py<FieldDescribe>>,
    /// The whole describe answer, as Salesforce sent it.
    pub raw: Py<PyDict>,
}

#[pymethods]
impl SObjectDescribe {
    /// The field called `name` (case-insensitive), or None.
    fn field(&self, py: Python<'_>, name: &str) -> Option<Py<FieldDescribe>> {
        self.fields
            .iter()
            .find(|f| f.get().name.eq_ignore_ascii_case(name))
            .map(|f| f.clone_ref(py))
    }

    /// Pickles as the describe answer it was read from.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        Ok((restorer(py)?, ("object", self.raw.bind(py).clone())))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        py_repr(
            py,
            "SObjectDescribe",
            vec![
                ("name", self.name.clone().into_bound_py_any(py)),
                ("fields", self.fields.len().into_bound_py_any(py)),
            ],
        )
    }
}

pub struct DescribeOut(pub sf::SObjectDescribe);

impl<'py> IntoPyObject<'py> for DescribeOut {
    type Target = SObjectDescribe;
    type Output = Bound<'py, SObjectDescribe>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let d = self.0;
        let fields = d
            .fields
            .iter()
            .map(|f| Py::new(py, FieldDescribe::from(f)))
            .collect::<PyResult<Vec<_>>>()?;
        Bound::new(
            py,
            SObjectDescribe {
                name: d.name,
                label: d.label,
                label_plural: d.label_plural,
                key_prefix: d.key_prefix,
                custom: d.custom,
                createable: d.createable,
                updateable: d.updateable,
                deletable: d.deletable,
                queryable: d.queryable,
                fields,
                raw: map_to_dict(py, &d.raw)?.unbind(),
            },
        )
    }
}

/// One object in describe global.
#[pyclass(module = "forcelink", frozen, get_all)]
pub struct SObjectSummary {
    /// The object's API name.
    pub name: String,
    /// The object's label.
    pub label: String,
    /// The object's plural label.
    pub label_plural: String,
    /// The three-character prefix of the object's record ids.
    pub key_prefix: Option<String>,
    /// Whether the object is custom (`__c`).
    pub custom: bool,
    /// Whether records can be created.
    pub createable: bool,
    /// Whether records can be updated.
    pub updateable: bool,
    /// Whether records can be deleted.
    pub deletable: bool,
    /// Whether the object can be queried.
    pub queryable: bool,
}

impl From<sf::SObjectSummary> for SObjectSummary {
    fn from(s: sf::SObjectSummary) -> Self {
        Self {
            name: s.name,
            label: s.label,
            label_plural: s.label_plural,
            key_prefix: s.key_prefix,
            custom: s.custom,
            createable: s.createable,
            updateable: s.updateable,
            deletable: s.deletable,
            queryable: s.queryable,
        }
    }
}

impl SObjectSummary {
    fn as_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("name", &self.name)?;
        d.set_item("label", &self.label)?;
        d.set_item("labelPlural", &self.label_plural)?;
        d.set_item("keyPrefix", &self.key_prefix)?;
        d.set_item("custom", self.custom)?;
        d.set_item("createable", self.createable)?;
        d.set_item("updateable", self.updateable)?;
        d.set_item("deletable", self.deletable)?;
        d.set_item("queryable", self.queryable)?;
        Ok(d)
    }
}

#[pymethods]
impl SObjectSummary {
    /// Pickles as its describe-global entry.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        Ok((restorer(py)?, ("summary", self.as_dict(py)?)))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        py_repr(
            py,
            "SObjectSummary",
            vec![("name", self.name.clone().into_bound_py_any(py))],
        )
    }
}

/// Every object of the org.
#[pyclass(module = "forcelink", frozen, get_all)]
pub struct DescribeGlobal {
    /// The org's character encoding.
    pub encoding: String,
    /// The most records one call may carry.
    pub max_batch_size: u32,
    /// Every object, as `SObjectSummary`s.
    pub sobjects: Vec<Py<SObjectSummary>>,
}

#[pymethods]
impl DescribeGlobal {
    /// Pickles as the describe-global answer.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        let d = PyDict::new(py);
        d.set_item("encoding", &self.encoding)?;
        d.set_item("maxBatchSize", self.max_batch_size)?;
        let list = PyList::empty(py);
        for s in &self.sobjects {
            list.append(s.get().as_dict(py)?)?;
        }
        d.set_item("sobjects", list)?;
        Ok((restorer(py)?, ("global", d)))
    }

    fn __repr__(&self) -> String {
        format!("DescribeGlobal(sobjects={})", self.sobjects.len())
    }
}

pub struct DescribeGlobalOut(pub sf::DescribeGlobal);

impl<'py> IntoPyObject<'py> for DescribeGlobalOut {
    type Target = DescribeGlobal;
    type Output = Bound<'py, DescribeGlobal>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let g = self.0;
        let sobjects = g
            .sobjects
            .into_iter()
            .map(|s| Py::new(py, SObjectSummary::from(s)))
            .collect::<PyResult<Vec<_>>>()?;
        Bound::new(
            py,
            DescribeGlobal {
                encoding: g.encoding,
                max_batch_size: g.max_batch_size,
                sobjects,
            },
        )
    }
}

/// What `__reduce__` answers: `_restore_describe` and its arguments (a kind and a dict).
type Reduced<'py> = (Bound<'py, PyAny>, (&'static str, Bound<'py, PyDict>));

fn restorer(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    py.import("forcelink._core")?.getattr("_restore_describe")
}

/// One record's outcome in a collection call.
#[pyclass(module = "forcelink", frozen, get_all)]
pub struct RecordResult {
    /// The record's id (None when it failed before one was given).
    pub id: Option<String>,
    /// Whether the record was written.
    pub success: bool,
    /// Error entries (`statusCode`, `message`, `fields`); empty on success.
    pub errors: Py<PyList>,
    /// For upserts, whether the record was created; None for other operations.
    pub created: Option<bool>,
}

#[pymethods]
impl RecordResult {
    #[new]
    #[pyo3(signature = (id, success, errors, created = None))]
    fn new(id: Option<String>, success: bool, errors: Py<PyList>, created: Option<bool>) -> Self {
        Self {
            id,
            success,
            errors,
            created,
        }
    }

    /// Pickling: the constructor's arguments.
    fn __getnewargs__(&self, py: Python<'_>) -> (Option<String>, bool, Py<PyList>, Option<bool>) {
        (
            self.id.clone(),
            self.success,
            self.errors.clone_ref(py),
            self.created,
        )
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        crate::convert::py_repr(
            py,
            "RecordResult",
            vec![
                ("id", self.id.clone().into_bound_py_any(py)),
                ("success", self.success.into_bound_py_any(py)),
                ("created", self.created.into_bound_py_any(py)),
            ],
        )
    }
}

pub struct ResultsOut(pub Vec<sf::RecordResult>);

impl<'py> IntoPyObject<'py> for ResultsOut {
    type Target = PyList;
    type Output = Bound<'py, PyList>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let list = PyList::empty(py);
        for r in self.0 {
            let errors = error_dicts(py, &r.errors, "statusCode")?;
            list.append(Bound::new(
                py,
                RecordResult {
                    id: r.id,
                    success: r.success,
                    errors: errors.unbind(),
                    created: r.created,
                },
            )?)?;
        }
        Ok(list)
    }
}
