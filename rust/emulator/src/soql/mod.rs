//! The SOQL engine: parse, run over the store, and keep query cursors for `nextRecordsUrl`.

mod aggregate;
mod children;
pub(crate) mod eval;
mod page;
pub(crate) mod parse;
mod run;

pub use eval::{render, Resolved};
pub use parse::{parse, Query};
pub use run::{run, Outcome};

use crate::http_kit::failure::ApiFailure;
use crate::model::store::Store;
use crate::org::lock;
use page::page;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// How many open cursors are kept; the oldest is dropped beyond it, as Salesforce expires them.
const MAX_CURSORS: usize = 2_000;

struct Cursor {
    object: String,
    ids: Vec<String>,
    columns: Vec<Resolved>,
    children: Vec<children::ChildPlan>,
    batch: usize,
}

/// Open query cursors.
#[derive(Default)]
pub struct Cursors {
    open: Mutex<(HashMap<String, Cursor>, VecDeque<String>, u64)>,
}

impl Cursors {
    /// Runs a query and answers its first page.
    pub fn start(
        &self,
        store: &Store,
        soql: &str,
        all_rows: bool,
        batch: usize,
        version: &str,
    ) -> Result<Vec<u8>, ApiFailure> {
        let query = parse(soql)?;
        match run(store, soql, &query, all_rows)? {
            Outcome::Count(n) => Ok(json!({"totalSize": n, "done": true, "records": []})
                .to_string()
                .into_bytes()),
            Outcome::Aggregate(rows) => Ok(
                json!({"totalSize": rows.len(), "done": true, "records": rows})
                    .to_string()
                    .into_bytes(),
            ),
            Outcome::Rows {
                object,
                ids,
                columns,
                children,
            } => {
                let cursor = Cursor {
                    object,
                    ids,
                    columns,
                    children,
                    batch,
                };
                if cursor.ids.len() > batch {
                    let id = self.next_id();
                    let body = page(
                        store,
                        &cursor,
                        0,
                        version,
                        Some(next_url(&id, batch, version)),
                    );
                    self.keep(id, cursor);
                    body
                } else {
                    page(store, &cursor, 0, version, None)
                }
            }
        }
    }

    /// The page at a locator (`{cursor}-{offset}`).
    pub fn next(&self, store: &Store, locator: &str, version: &str) -> Result<Vec<u8>, ApiFailure> {
        let invalid = || ApiFailure::bad_request("INVALID_QUERY_LOCATOR", "invalid query locator");
        let (id, offset) = locator.rsplit_once('-').ok_or_else(invalid)?;
        let offset: usize = offset.parse().map_err(|_| invalid())?;
        let open = lock(&self.open);
        let cursor = open.0.get(id).ok_or_else(invalid)?;
        if offset >= cursor.ids.len() {
            return Err(invalid());
        }
        let next = (offset + cursor.batch < cursor.ids.len())
            .then(|| next_url(id, offset + cursor.batch, version));
        page(store, cursor, offset, version, next)
    }

    fn next_id(&self) -> String {
        let mut open = lock(&self.open);
        open.2 += 1;
        format!("01g5e{:010}", open.2)
    }

    fn keep(&self, id: String, cursor: Cursor) {
        let mut open = lock(&self.open);
        open.0.insert(id.clone(), cursor);
        open.1.push_back(id.clone());
        while open.1.len() > MAX_CURSORS {
            if let Some(old) = open.1.pop_front() {
                open.0.remove(&old);
            }
        }
    }
}

fn next_url(cursor: &str, offset: usize, version: &str) -> String {
    format!("/services/data/v{version}/query/{cursor}-{offset}")
}

/// `?explain=`: the plans Salesforce would consider, best first, without running the query.
pub fn explain(store: &Store, soql: &str) -> Result<Value, ApiFailure> {
    let query = parse(soql)?;
    let outcome = run(store, soql, &query, false)?;
    let object = store.object(&query.object)?;
    let cardinality = object.records.values().filter(|r| !r.deleted).count();
    let matched = match &outcome {
        Outcome::Count(n) => *n,
        Outcome::Aggregate(_) => cardinality,
        Outcome::Rows { ids, .. } => ids.len(),
    };
    let indexed: Vec<String> = indexed_filter_fields(&query, object);
    let scan = json!({
        "cardinality": matched, "fields": [], "leadingOperationType": "TableScan", "notes": [],
        "relativeCost": if cardinality == 0 { 0.0 } else { 0.65 + (cardinality as f64 / 100_000.0) },
        "sobjectCardinality": cardinality, "sobjectType": object.meta.name,
    });
    let plans = if indexed.is_empty() {
        vec![scan]
    } else {
        vec![
            json!({"cardinality": matched, "fields": indexed, "leadingOperationType": "Index", "notes": [],
                   "relativeCost": 0.0, "sobjectCardinality": cardinality, "sobjectType": object.meta.name}),
            scan,
        ]
    };
    Ok(json!({"plans": plans}))
}

fn indexed_filter_fields(query: &Query, object: &crate::model::store::ObjectStore) -> Vec<String> {
    use parse::Cond;
    fn walk(cond: &Cond, out: &mut Vec<String>, object: &crate::model::store::ObjectStore) {
        match cond {
            Cond::And(parts) => parts.iter().for_each(|c| walk(c, out, object)),
            Cond::Cmp { field, op: "=", .. }
            | Cond::In {
                field,
                negated: false,
                ..
            } if field.len() == 1 => {
                if let Some(f) = field.first().and_then(|name| object.meta.field(name)) {
                    if &*f.name == "Id"
                        || f.external_id
                        || f.unique
                        || f.field_type == crate::model::schema::FieldType::Reference
                    {
                        out.push(f.name.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(filter) = &query.filter {
        walk(filter, &mut out, object);
    }
    out
}
