//! The bitmaps of change events' `changedFields`, `nulledFields` and `diffFields` in Pub/Sub:
//! the first element `0x..` sets bit i for top-level schema field i; a compound field adds an
//! element `P-0x..` whose bitmap indexes the fields of the record at top-level position P.
//! Hex is upper case, big-endian, whole bytes.

use std::collections::BTreeMap;

/// Field names by position, as a change event's Avro schema orders them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldLayout {
    /// Top-level field names; position 0 is `ChangeEventHeader`.
    pub fields: Vec<String>,
    /// For compound fields (records): top-level position to the nested field names.
    pub nested: BTreeMap<usize, Vec<String>>,
}

/// A bitmap element that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed change-event bitmap element {0:?}")]
pub struct BitmapError(pub String);

/// `0x` + upper-case big-endian hex of the set positions, in whole bytes.
pub fn encode_positions(positions: impl IntoIterator<Item = usize>) -> String {
    let mut bytes: Vec<u8> = Vec::new();
    for p in positions {
        let byte = p / 8;
        if bytes.len() <= byte {
            bytes.resize(byte + 1, 0);
        }
        bytes[byte] |= 1 << (p % 8);
    }
    if bytes.is_empty() {
        bytes.push(0);
    }
    let mut out = String::with_capacity(2 + bytes.len() * 2);
    out.push_str("0x");
    for b in bytes.iter().rev() {
        out.push_str(&format!("{b:02X}"));
    }
    out
}

/// The positions set in a `0x..` bitmap, ascending.
pub fn decode_positions(hex: &str) -> Result<Vec<usize>, BitmapError> {
    let digits = hex
        .strip_prefix("0x")
        .or_else(|| hex.strip_prefix("0X"))
        .ok_or_else(|| BitmapError(hex.to_owned()))?;
    let mut positions = Vec::new();
    for (k, c) in digits.bytes().rev().enumerate() {
        let nibble = (c as char)
            .to_digit(16)
            .ok_or_else(|| BitmapError(hex.to_owned()))?;
        for bit in 0..4 {
            if nibble & (1 << bit) != 0 {
                positions.push(k * 4 + bit);
            }
        }
    }
    Ok(positions)
}

impl FieldLayout {
    /// Encodes field names (`Name`, `BillingAddress.City`) as bitmap elements; names not in
    /// the layout are left out. An empty list stays empty.
    pub fn encode(&self, names: &[String]) -> Vec<String> {
        if names.is_empty() {
            return Vec::new();
        }
        let mut top = Vec::new();
        let mut nested: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for name in names {
            match name.split_once('.') {
                None => {
                    if let Some(p) = self.fields.iter().position(|f| f == name) {
                        top.push(p);
                    }
                }
                Some((parent, child)) => {
                    let Some(p) = self.fields.iter().position(|f| f == parent) else {
                        continue;
                    };
                    let Some(c) = self
                        .nested
                        .get(&p)
                        .and_then(|children| children.iter().position(|f| f == child))
                    else {
                        continue;
                    };
                    nested.entry(p).or_default().push(c);
                }
            }
        }
        let mut out = vec![encode_positions(top)];
        for (p, children) in nested {
            out.push(format!("{p}-{}", encode_positions(children)));
        }
        out
    }

    /// Expands bitmap elements to field names, nested ones as `Parent.Child`.
    pub fn decode(&self, elements: &[String]) -> Result<Vec<String>, BitmapError> {
        let mut names = Vec::new();
        for element in elements {
            if let Some((parent, bitmap)) = element.split_once('-') {
                let p: usize = parent.parse().map_err(|_| BitmapError(element.clone()))?;
                let parent_name = self
                    .fields
                    .get(p)
                    .ok_or_else(|| BitmapError(element.clone()))?;
                let children = self
                    .nested
                    .get(&p)
                    .ok_or_else(|| BitmapError(element.clone()))?;
                for c in decode_positions(bitmap)? {
                    let child = children
                        .get(c)
                        .ok_or_else(|| BitmapError(element.clone()))?;
                    names.push(format!("{parent_name}.{child}"));
                }
            } else {
                for p in decode_positions(element)? {
                    let name = self
                        .fields
                        .get(p)
                        .ok_or_else(|| BitmapError(element.clone()))?;
                    names.push(name.clone());
                }
            }
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> FieldLayout {
        let mut fields: Vec<String> = (0..36).map(|i| format!("F{i}")).collect();
        fields[4] = "BillingAddress".into();
        fields[22] = "LastModifiedDate".into();
        let address = ["Street", "City", "State", "PostalCode"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        FieldLayout {
            fields,
            nested: BTreeMap::from([(4, address)]),
        }
    }

    #[test]
    fn documented_examples() {
        assert_eq!(
            decode_positions("0x650004E0").unwrap(),
            vec![5, 6, 7, 10, 24, 26, 29, 30]
        );
        assert_eq!(
            encode_positions([5, 6, 7, 10, 24, 26, 29, 30]),
            "0x650004E0"
        );
        let names: Vec<String> = [
            "LastModifiedDate",
            "BillingAddress.City",
            "BillingAddress.State",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let encoded = layout().encode(&names);
        assert_eq!(encoded, vec!["0x400000".to_string(), "4-0x06".to_string()]);
        assert_eq!(layout().decode(&encoded).unwrap(), names);
        assert!(layout().encode(&[]).is_empty());
        assert!(layout().decode(&["0xZZ".to_string()]).is_err());
        assert!(layout().decode(&["9-0x01".to_string()]).is_err());
    }
}
