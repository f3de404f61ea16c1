//! sObject trees (`/composite/tree`): records whose children nest under their relationship
//! names as `{"records": [...]}`. The client checks a tree's size before sending it and the
//! emulator before saving it, against the same limit of 200 records.

use serde_json::Value;

/// The records of a tree, children and their children included. The walk keeps its own stack,
/// so a tree nested however deep cannot overflow the thread's.
pub fn tree_size(records: &[Value]) -> usize {
    let mut count = 0;
    let mut pending: Vec<&[Value]> = vec![records];
    while let Some(level) = pending.pop() {
        for record in level {
            count += 1;
            if let Some(fields) = record.as_object() {
                pending.extend(
                    fields
                        .values()
                        .filter_map(|v| v.get("records").and_then(Value::as_array))
                        .map(Vec::as_slice),
                );
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::tree_size;
    use serde_json::{json, Map, Value};

    #[test]
    fn children_at_every_level_are_counted() {
        let tree = json!([
            {"Name": "A", "Contacts": {"records": [{"LastName": "x"}, {"LastName": "y", "Cases": {"records": [{}]}}]}},
            {"Name": "B", "Description": "records", "Other": {"size": 3}}
        ]);
        assert_eq!(
            tree_size(tree.as_array().map(Vec::as_slice).unwrap_or_default()),
            5
        );
        assert_eq!(tree_size(&[]), 0);
    }

    #[test]
    fn a_deep_tree_does_not_overflow_the_stack() {
        // Built by moving each level in (json! would serialize, recursively, what it embeds).
        let mut record = json!({"Name": "leaf"});
        for _ in 0..100_000 {
            let mut children = Map::new();
            children.insert("records".into(), Value::Array(vec![record]));
            let mut parent = Map::new();
            parent.insert("Children".into(), Value::Object(children));
            record = Value::Object(parent);
        }
        assert_eq!(tree_size(std::slice::from_ref(&record)), 100_001);
        // serde_json drops deep values recursively; take it apart by hand.
        let mut next = Some(record);
        while let Some(mut value) = next.take() {
            next = value
                .get_mut("Children")
                .and_then(|c| c.get_mut("records"))
                .and_then(Value::as_array_mut)
                .and_then(Vec::pop);
        }
    }
}
