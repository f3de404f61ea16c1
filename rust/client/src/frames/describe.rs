//! Typing a query's columns through describe: each object described once, relationships
//! followed to the path's last field.

use super::{Column, ColumnKind};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::select_list::{SelectItem, SelectList};
use crate::sobjects::SObjectDescribe;
use std::collections::HashMap;
use std::sync::Arc;

/// Reads describes once per object, following relationships to type a path's last field.
pub(crate) struct Describer<'a> {
    client: &'a Client,
    cache: HashMap<String, Arc<SObjectDescribe>>,
    /// Refuse a path that names no field, instead of typing it as text (and leaving the
    /// refusal to the server).
    pub(super) strict: bool,
}

impl<'a> Describer<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self {
            client,
            cache: HashMap::new(),
            strict: false,
        }
    }

    async fn describe(&mut self, object: &str) -> Result<Arc<SObjectDescribe>> {
        let key = object.to_ascii_lowercase();
        if let Some(found) = self.cache.get(&key) {
            return Ok(found.clone());
        }
        let describe = Arc::new(self.client.sobjects().describe(object).await?);
        self.cache.insert(key, describe.clone());
        Ok(describe)
    }

    /// The path as the API names it (`account.name` becomes `Account.Name`) and its kind;
    /// a path describe cannot follow (a polymorphic parent's field) is text under its own
    /// name.
    pub(crate) async fn resolve(&mut self, object: &str, path: &str) -> Result<Column> {
        let segments: Vec<&str> = path.split('.').collect();
        // A path may start with the object's name (`Account.Name` in `FROM Account`).
        let segments = match segments.as_slice() {
            [first, rest @ ..] if !rest.is_empty() && first.eq_ignore_ascii_case(object) => {
                rest.to_vec()
            }
            _ => segments,
        };
        let mut describe = self.describe(object).await?;
        let mut names = Vec::with_capacity(segments.len());
        for (i, segment) in segments.iter().enumerate() {
            if i + 1 == segments.len() {
                let Some(field) = describe.field(segment) else {
                    break;
                };
                names.push(field.name.clone());
                return Ok(Column {
                    name: names.join("."),
                    kind: ColumnKind::of_field_type(&field.field_type),
                });
            }
            let parent = describe.fields.iter().find(|f| {
                f.relationship_name
                    .as_deref()
                    .is_some_and(|r| r.eq_ignore_ascii_case(segment))
            });
            let Some((relationship, target)) = parent.and_then(|f| {
                Some((
                    f.relationship_name.clone()?,
                    f.reference_to.first()?.clone(),
                ))
            }) else {
                break;
            };
            names.push(relationship);
            describe = self.describe(&target).await?;
        }
        if self.strict {
            return Err(Error::invalid_argument(
                "soql",
                format!("No such column '{path}' on entity '{object}'"),
            ));
        }
        Ok(Column {
            name: segments.join("."),
            kind: ColumnKind::Text,
        })
    }

    /// The columns of `soql`'s SELECT list; None when it holds an item whose column cannot be
    /// known before the records are read.
    pub(crate) async fn columns_of(&mut self, soql: &str) -> Result<Option<Vec<Column>>> {
        let Some(list) = SelectList::parse(soql) else {
            return Ok(None);
        };
        let mut columns = Vec::with_capacity(list.items.len());
        for item in &list.items {
            columns.push(match item {
                SelectItem::Path(path) => {
                    let mut column = self.resolve(&list.object, path).await?;
                    if list.grouped {
                        if let Some((_, field)) = column.name.rsplit_once('.') {
                            column.name = field.to_owned();
                        }
                    }
                    column
                }
                SelectItem::Aggregate {
                    function,
                    argument,
                    name,
                } => {
                    let kind = match function.as_str() {
                        "COUNT" | "COUNT_DISTINCT" => ColumnKind::Integer,
                        "SUM" | "AVG" => ColumnKind::Float,
                        _ => self.resolve(&list.object, argument).await?.kind,
                    };
                    Column {
                        name: name.clone(),
                        kind,
                    }
                }
                SelectItem::Other => return Ok(None),
            });
        }
        Ok(Some(columns))
    }

    /// Columns named by a Bulk result's header, typed through `object`'s describe.
    pub(crate) async fn columns_of_header(
        &mut self,
        object: &str,
        header: &[String],
    ) -> Result<Vec<Column>> {
        let mut columns = Vec::with_capacity(header.len());
        for name in header {
            let kind = self.resolve(object, name).await?.kind;
            columns.push(Column {
                name: name.clone(),
                kind,
            });
        }
        Ok(columns)
    }
}

/// The typed columns of a query's SELECT list, read through describe (`Account.Name` typed
/// by Account's `Name`); None when the list names items that cannot be typed ahead
/// (`FIELDS(ALL)`, a subquery).
/// A path that names no field is refused.
pub async fn query_columns(client: &Client, soql: &str) -> Result<Option<Vec<Column>>> {
    let mut describer = Describer::new(client);
    describer.strict = true;
    describer.columns_of(soql).await
}
