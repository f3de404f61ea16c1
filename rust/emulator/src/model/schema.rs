//! sObject metadata: field types and properties, the standard objects, custom objects defined at
//! run time, and the describe answers built from them.

use serde_json::{json, Map, Value};

/// A field's data type, named as describe names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Id,
    String,
    TextArea,
    Picklist,
    MultiPicklist,
    Email,
    Phone,
    Url,
    Boolean,
    Int,
    Double,
    Currency,
    Percent,
    Date,
    DateTime,
    Reference,
    /// A compound address read from its parts (`BillingAddress` from `BillingStreet`, ...).
    Address,
    /// A compound geolocation read from its `__Latitude__s` and `__Longitude__s` parts.
    Location,
    /// File contents, read through the record's URL for the field.
    Base64,
}

impl FieldType {
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Id => "id",
            FieldType::String => "string",
            FieldType::TextArea => "textarea",
            FieldType::Picklist => "picklist",
            FieldType::MultiPicklist => "multipicklist",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Url => "url",
            FieldType::Boolean => "boolean",
            FieldType::Int => "int",
            FieldType::Double => "double",
            FieldType::Currency => "currency",
            FieldType::Percent => "percent",
            FieldType::Date => "date",
            FieldType::DateTime => "datetime",
            FieldType::Reference => "reference",
            FieldType::Address => "address",
            FieldType::Location => "location",
            FieldType::Base64 => "base64",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "id" => FieldType::Id,
            "string" | "text" => FieldType::String,
            "textarea" | "longtextarea" => FieldType::TextArea,
            "picklist" => FieldType::Picklist,
            "multipicklist" => FieldType::MultiPicklist,
            "email" => FieldType::Email,
            "phone" => FieldType::Phone,
            "url" => FieldType::Url,
            "boolean" | "checkbox" => FieldType::Boolean,
            "int" | "integer" => FieldType::Int,
            "double" | "number" => FieldType::Double,
            "currency" => FieldType::Currency,
            "percent" => FieldType::Percent,
            "date" => FieldType::Date,
            "datetime" => FieldType::DateTime,
            "reference" | "lookup" => FieldType::Reference,
            "location" | "geolocation" => FieldType::Location,
            _ => return None,
        })
    }

    fn soap_type(self) -> &'static str {
        match self {
            FieldType::Id | FieldType::Reference => "tns:ID",
            FieldType::Boolean => "xsd:boolean",
            FieldType::Int => "xsd:int",
            FieldType::Double | FieldType::Currency | FieldType::Percent => "xsd:double",
            FieldType::Date => "xsd:date",
            FieldType::DateTime => "xsd:dateTime",
            FieldType::Address => "urn:address",
            FieldType::Location => "urn:location",
            FieldType::Base64 => "xsd:base64Binary",
            _ => "xsd:string",
        }
    }

    /// The default length of text-like types, 0 for others.
    fn default_length(self) -> u32 {
        match self {
            FieldType::Id | FieldType::Reference => 18,
            FieldType::String | FieldType::Picklist | FieldType::Url => 255,
            FieldType::MultiPicklist => 4099,
            FieldType::TextArea => 32000,
            FieldType::Email => 80,
            FieldType::Phone => 40,
            _ => 0,
        }
    }

    /// A field no query may filter, sort or group by, and Bulk may not select: compound
    /// fields and file contents. Reads make its value (see `compound`), the store keeps none.
    pub fn is_derived(self) -> bool {
        matches!(
            self,
            FieldType::Address | FieldType::Location | FieldType::Base64
        )
    }

    pub fn is_text(self) -> bool {
        matches!(
            self,
            FieldType::String
                | FieldType::TextArea
                | FieldType::Picklist
                | FieldType::MultiPicklist
                | FieldType::Email
                | FieldType::Phone
                | FieldType::Url
        )
    }
}

/// One field of an object.
#[derive(Debug, Clone)]
pub struct FieldMeta {
    pub name: crate::model::record::FieldName,
    pub label: String,
    pub field_type: FieldType,
    pub length: u32,
    pub nillable: bool,
    pub createable: bool,
    pub updateable: bool,
    pub unique: bool,
    pub external_id: bool,
    pub custom: bool,
    pub defaulted_on_create: bool,
    pub default_value: Option<Value>,
    pub reference_to: Vec<String>,
    pub relationship_name: Option<String>,
    pub picklist_values: Vec<String>,
    /// The compound field this one is a part of (`BillingAddress` for `BillingCity`).
    pub compound_field_name: Option<String>,
}

impl FieldMeta {
    pub fn new(name: &str, field_type: FieldType) -> Self {
        Self {
            name: name.into(),
            label: label_of(name),
            field_type,
            length: field_type.default_length(),
            nillable: true,
            createable: true,
            updateable: true,
            unique: false,
            external_id: false,
            custom: name.ends_with("__c"),
            defaulted_on_create: field_type == FieldType::Boolean,
            default_value: (field_type == FieldType::Boolean).then_some(Value::Bool(false)),
            reference_to: Vec::new(),
            relationship_name: None,
            picklist_values: Vec::new(),
            compound_field_name: None,
        }
    }

    /// A part of the compound field `compound`.
    fn part_of(mut self, compound: &str) -> Self {
        self.compound_field_name = Some(compound.to_owned());
        self
    }

    /// A compound or file field: read-only, its value made at read time.
    fn derived(mut self) -> Self {
        self.createable = false;
        self.updateable = false;
        self
    }

    fn required(mut self) -> Self {
        self.nillable = false;
        self
    }

    fn length(mut self, length: u32) -> Self {
        self.length = length;
        self
    }

    fn system(mut self) -> Self {
        self.createable = false;
        self.updateable = false;
        self.nillable = self.field_type != FieldType::Id && &*self.name != "IsDeleted";
        self.defaulted_on_create = true;
        self
    }

    fn lookup(mut self, to: &str, relationship: &str) -> Self {
        self.reference_to = vec![to.to_owned()];
        self.relationship_name = Some(relationship.to_owned());
        self
    }

    fn picklist(mut self, values: &[&str], default: Option<&str>) -> Self {
        self.picklist_values = values.iter().map(|v| (*v).to_owned()).collect();
        if let Some(d) = default {
            self.default_value = Some(Value::String(d.to_owned()));
            self.defaulted_on_create = true;
        }
        self
    }

    /// Required on create: not nillable, writable, and without a default.
    pub fn required_on_create(&self) -> bool {
        !self.nillable && self.createable && !self.defaulted_on_create
    }

    fn describe(&self) -> Value {
        let picklist: Vec<Value> = self
            .picklist_values
            .iter()
            .map(|v| {
                let is_default = self.default_value.as_ref().and_then(Value::as_str) == Some(v);
                json!({"active": true, "defaultValue": is_default, "label": v, "validFor": null, "value": v})
            })
            .collect();
        json!({
            "name": &*self.name,
            "label": self.label,
            "type": self.field_type.name(),
            "soapType": self.field_type.soap_type(),
            "length": self.length,
            "precision": if matches!(self.field_type, FieldType::Currency | FieldType::Double | FieldType::Percent) { 18 } else { 0 },
            "scale": if matches!(self.field_type, FieldType::Currency | FieldType::Percent) { 2 } else { 0 },
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "unique": self.unique,
            "externalId": self.external_id,
            "idLookup": self.external_id || self.field_type == FieldType::Id,
            "custom": self.custom,
            "calculated": false,
            "defaultedOnCreate": self.defaulted_on_create,
            "defaultValue": self.default_value.clone().unwrap_or(Value::Null),
            "referenceTo": self.reference_to,
            "relationshipName": self.relationship_name,
            "picklistValues": picklist,
            "filterable": !self.field_type.is_derived(),
            "sortable": self.field_type != FieldType::TextArea && !self.field_type.is_derived(),
            "groupable": self.field_type != FieldType::TextArea && !self.field_type.is_derived(),
            "compoundFieldName": self.compound_field_name,
        })
    }
}

/// One object type.
#[derive(Debug, Clone)]
pub struct ObjectMeta {
    pub name: String,
    pub label: String,
    pub label_plural: String,
    pub key_prefix: String,
    pub custom: bool,
    pub fields: Vec<FieldMeta>,
}

impl ObjectMeta {
    fn new(name: &str, label_plural: &str, key_prefix: &str, own: Vec<FieldMeta>) -> Self {
        let mut fields = vec![FieldMeta::new("Id", FieldType::Id).system()];
        fields.extend(own);
        fields.push(FieldMeta::new("OwnerId", FieldType::Reference).lookup("User", "Owner"));
        for (name, ty) in [
            ("IsDeleted", FieldType::Boolean),
            ("CreatedDate", FieldType::DateTime),
            ("CreatedById", FieldType::Reference),
            ("LastModifiedDate", FieldType::DateTime),
            ("LastModifiedById", FieldType::Reference),
            ("SystemModstamp", FieldType::DateTime),
        ] {
            let mut f = FieldMeta::new(name, ty).system();
            if ty == FieldType::Reference {
                f = f.lookup("User", &name.replace("Id", ""));
            }
            fields.push(f);
        }
        // OwnerId is defaulted to the running user.
        if let Some(owner) = fields.iter_mut().find(|f| &*f.name == "OwnerId") {
            owner.defaulted_on_create = true;
            owner.nillable = false;
        }
        Self {
            name: name.to_owned(),
            label: label_of(name),
            label_plural: label_plural.to_owned(),
            key_prefix: key_prefix.to_owned(),
            custom: name.ends_with("__c"),
            fields,
        }
    }

    /// The field called `name`, matched case-insensitively as Salesforce does.
    pub fn field(&self, name: &str) -> Option<&FieldMeta> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    pub fn describe(&self, version: &str) -> Value {
        let mut body = self.summary(version);
        if let Value::Object(map) = &mut body {
            map.insert(
                "fields".into(),
                Value::Array(self.fields.iter().map(FieldMeta::describe).collect()),
            );
            map.insert("childRelationships".into(), json!([]));
            map.insert("recordTypeInfos".into(), json!([]));
        }
        body
    }

    pub fn summary(&self, version: &str) -> Value {
        let base = format!("/services/data/v{version}/sobjects/{}", self.name);
        json!({
            "activateable": false,
            "createable": true,
            "custom": self.custom,
            "customSetting": false,
            "deletable": true,
            "deprecatedAndHidden": false,
            "feedEnabled": false,
            "keyPrefix": self.key_prefix,
            "label": self.label,
            "labelPlural": self.label_plural,
            "layoutable": true,
            "mergeable": false,
            "mruEnabled": true,
            "name": self.name,
            "queryable": true,
            "replicateable": true,
            "retrieveable": true,
            "searchable": true,
            "triggerable": true,
            "undeletable": true,
            "updateable": true,
            "urls": {
                "sobject": base,
                "describe": format!("{base}/describe"),
                "rowTemplate": format!("{base}/{{ID}}"),
            },
        })
    }
}

/// "BillingPostalCode" -> "Billing Postal Code"; "Amount__c" -> "Amount".
fn label_of(name: &str) -> String {
    let bare = name.trim_end_matches("__c").replace('_', " ");
    let mut label = String::with_capacity(bare.len() + 4);
    let mut prev_lower = false;
    for c in bare.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            label.push(' ');
        }
        prev_lower = c.is_ascii_lowercase();
        label.push(c);
    }
    label
}

fn text(name: &str, length: u32) -> FieldMeta {
    FieldMeta::new(name, FieldType::String).length(length)
}

fn of(name: &str, ty: FieldType) -> FieldMeta {
    FieldMeta::new(name, ty)
}

/// How precisely an address was placed on the map, as Salesforce lists it.
const GEOCODE_ACCURACY: &[&str] = &[
    "Address",
    "NearAddress",
    "Block",
    "Street",
    "ExtendedZip",
    "Zip",
    "Neighborhood",
    "City",
    "County",
    "State",
    "Unknown",
];

/// Account, Contact, Lead, Opportunity and Case, with their common fields.
pub fn standard_objects() -> Vec<ObjectMeta> {
    use FieldType as T;
    // The parts of an address, then the compound field (`BillingAddress`; a Lead's is `Address`).
    let address = |prefix: &str| {
        let compound = format!("{prefix}Address");
        vec![
            FieldMeta::new(&format!("{prefix}Street"), T::TextArea)
                .length(255)
                .part_of(&compound),
            text(&format!("{prefix}City"), 40).part_of(&compound),
            text(&format!("{prefix}State"), 80).part_of(&compound),
            text(&format!("{prefix}PostalCode"), 20).part_of(&compound),
            text(&format!("{prefix}Country"), 80).part_of(&compound),
            of(&format!("{prefix}Latitude"), T::Double).part_of(&compound),
            of(&format!("{prefix}Longitude"), T::Double).part_of(&compound),
            of(&format!("{prefix}GeocodeAccuracy"), T::Picklist)
                .picklist(GEOCODE_ACCURACY, None)
                .part_of(&compound),
            of(&compound, T::Address).derived(),
        ]
    };
    let industries = [
        "Agriculture",
        "Banking",
        "Education",
        "Energy",
        "Finance",
        "Healthcare",
        "Manufacturing",
        "Retail",
        "Technology",
    ];
    let mut account = vec![
        text("Name", 255).required(),
        text("AccountNumber", 40),
        of("Type", T::Picklist).picklist(
            &[
                "Prospect",
                "Customer - Direct",
                "Customer - Channel",
                "Partner",
                "Other",
            ],
            None,
        ),
        of("Industry", T::Picklist).picklist(&industries, None),
        of("AnnualRevenue", T::Currency),
        of("NumberOfEmployees", T::Int),
        of("Phone", T::Phone),
        of("Website", T::Url),
        of("Description", T::TextArea),
        of("ParentId", T::Reference).lookup("Account", "Parent"),
    ];
    account.extend(address("Billing"));
    account.extend(address("Shipping"));
    let mut contact = vec![
        text("Salutation", 40),
        text("FirstName", 40),
        // Compound: Salutation, FirstName and LastName, kept by the store.
        text("Name", 121).system(),
        text("LastName", 80).required(),
        of("AccountId", T::Reference).lookup("Account", "Account"),
        text("Title", 128),
        of("Email", T::Email),
        of("Phone", T::Phone),
        of("MobilePhone", T::Phone),
        of("Birthdate", T::Date),
        of("HasOptedOutOfEmail", T::Boolean),
        of("Description", T::TextArea),
    ];
    contact.extend(address("Mailing"));
    contact.extend(address("Other"));
    let mut lead = vec![
        text("Salutation", 40),
        text("FirstName", 40),
        text("Name", 121).system(),
        text("LastName", 80).required(),
        text("Company", 255).required(),
        of("Status", T::Picklist)
            .picklist(
                &[
                    "Open - Not Contacted",
                    "Working - Contacted",
                    "Closed - Converted",
                    "Closed - Not Converted",
                ],
                Some("Open - Not Contacted"),
            )
            .required(),
        of("Email", T::Email),
        of("Phone", T::Phone),
        of("Industry", T::Picklist).picklist(&industries, None),
        of("AnnualRevenue", T::Currency),
        of("IsConverted", T::Boolean),
    ];
    lead.extend(address(""));
    let opportunity = vec![
        text("Name", 120).required(),
        of("AccountId", T::Reference).lookup("Account", "Account"),
        of("StageName", T::Picklist)
            .picklist(
                &[
                    "Prospecting",
                    "Qualification",
                    "Proposal/Price Quote",
                    "Negotiation/Review",
                    "Closed Won",
                    "Closed Lost",
                ],
                None,
            )
            .required(),
        of("CloseDate", T::Date).required(),
        of("Amount", T::Currency),
        of("Probability", T::Percent),
        of("Type", T::Picklist).picklist(&["Existing Business", "New Business"], None),
        of("IsClosed", T::Boolean),
        of("IsWon", T::Boolean),
        of("Description", T::TextArea),
    ];
    let case = vec![
        text("CaseNumber", 30),
        text("Subject", 255),
        of("Status", T::Picklist)
            .picklist(&["New", "Working", "Escalated", "Closed"], Some("New"))
            .required(),
        of("Priority", T::Picklist).picklist(&["High", "Medium", "Low"], Some("Medium")),
        of("Origin", T::Picklist).picklist(&["Phone", "Email", "Web"], None),
        of("AccountId", T::Reference).lookup("Account", "Account"),
        of("ContactId", T::Reference).lookup("Contact", "Contact"),
        of("SuppliedEmail", T::Email),
        of("Description", T::TextArea),
        of("IsClosed", T::Boolean),
    ];
    let apex_class = vec![
        text("Name", 255).required(),
        FieldMeta::new("Body", T::TextArea).length(1_000_000),
        of("ApiVersion", T::Double),
        of("Status", T::Picklist)
            .picklist(&["Active", "Inactive", "Deleted"], Some("Active"))
            .required(),
        of("IsValid", T::Boolean),
        of("LengthWithoutComments", T::Int),
        text("NamespacePrefix", 15),
    ];
    let content_version = vec![
        text("Title", 255).required(),
        text("PathOnClient", 500).required(),
        of("Description", T::TextArea),
        of("ContentSize", T::Int),
        text("FirstPublishLocationId", 18),
        text("ContentDocumentId", 18),
        of("VersionData", T::Base64).derived(),
    ];
    let user = vec![
        text("Username", 80).required(),
        text("FirstName", 40),
        text("LastName", 80).required(),
        // Compound: FirstName and LastName, kept by the store.
        text("Name", 121).system(),
        of("Email", T::Email).required(),
        text("Alias", 8),
        of("IsActive", T::Boolean),
    ];
    let mut user = ObjectMeta::new("User", "Users", "005", user);
    // Users are not owned.
    user.fields.retain(|f| &*f.name != "OwnerId");
    vec![
        ObjectMeta::new("Account", "Accounts", "001", account),
        ObjectMeta::new("Contact", "Contacts", "003", contact),
        ObjectMeta::new("Lead", "Leads", "00Q", lead),
        ObjectMeta::new("Opportunity", "Opportunities", "006", opportunity),
        ObjectMeta::new("Case", "Cases", "500", case),
        // A Tooling API object (also queryable through the REST API, as in Salesforce).
        ObjectMeta::new("ApexClass", "Apex Classes", "01p", apex_class),
        ObjectMeta::new("ContentVersion", "Content Versions", "068", content_version),
        user,
    ]
}

/// Builds a custom object from a definition: field name to a type name, or to
/// `{"type", "length", "required", "unique", "external_id", "reference_to", "values", "default"}`.
pub fn custom_object(
    name: &str,
    key_prefix: &str,
    definition: &Value,
) -> Result<ObjectMeta, String> {
    if !is_api_name(name) || !name.ends_with("__c") {
        return Err(format!(
            "custom object names are API names ending in __c, got {name:?}"
        ));
    }
    let Value::Object(spec) = definition else {
        return Err("a definition maps field names to types or field specs".into());
    };
    let mut fields = vec![text("Name", 80).required()];
    for (field_name, field_spec) in spec {
        let field = custom_field(field_name, field_spec)?;
        if field.field_type == FieldType::Location {
            // `Spot__c` is read from `Spot__Latitude__s` and `Spot__Longitude__s`, as in Salesforce.
            let stem = field_name.trim_end_matches("__c");
            for part in ["Latitude", "Longitude"] {
                let mut part = FieldMeta::new(&format!("{stem}__{part}__s"), FieldType::Double)
                    .part_of(field_name);
                part.custom = true;
                fields.push(part);
            }
            fields.push(field.derived());
        } else {
            fields.push(field);
        }
    }
    let plural = format!("{}s", label_of(name));
    Ok(ObjectMeta::new(name, &plural, key_prefix, fields))
}

fn custom_field(name: &str, spec: &Value) -> Result<FieldMeta, String> {
    if !is_api_name(name) || !name.ends_with("__c") {
        return Err(format!(
            "custom field names are API names ending in __c, got {name:?}"
        ));
    }
    let empty = Map::new();
    let (type_name, options) = match spec {
        Value::String(t) => (t.as_str(), &empty),
        Value::Object(o) => (
            o.get("type")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("field {name}: no \"type\""))?,
            o,
        ),
        _ => return Err(format!("field {name}: expected a type name or an object")),
    };
    let ty = FieldType::parse(type_name)
        .filter(|t| *t != FieldType::Id)
        .ok_or_else(|| format!("field {name}: unknown type {type_name:?}"))?;
    let mut field = FieldMeta::new(name, ty);
    let flag = |key: &str| options.get(key).and_then(Value::as_bool).unwrap_or(false);
    if let Some(length) = options.get("length").and_then(Value::as_u64) {
        field.length =
            u32::try_from(length).map_err(|_| format!("field {name}: length too large"))?;
    }
    field.nillable = !flag("required");
    field.unique = flag("unique");
    field.external_id = flag("external_id") || flag("externalId");
    if ty == FieldType::Reference {
        let to = options
            .get("reference_to")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("field {name}: a reference needs \"reference_to\""))?;
        field = field.lookup(to, &name.replace("__c", "__r"));
    }
    if let Some(Value::Array(values)) = options.get("values") {
        field.picklist_values = values
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
    }
    if let Some(default) = options.get("default") {
        field.default_value = Some(default.clone());
        field.defaulted_on_create = true;
    }
    Ok(field)
}

pub fn is_api_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_objects_have_required_fields_and_system_fields() {
        let objects = standard_objects();
        let account = objects.iter().find(|o| o.name == "Account").unwrap();
        assert!(account.field("name").unwrap().required_on_create());
        assert!(!account.field("Id").unwrap().createable);
        assert!(!account.field("OwnerId").unwrap().required_on_create());
        let lead = objects.iter().find(|o| o.name == "Lead").unwrap();
        assert!(
            !lead.field("Status").unwrap().required_on_create(),
            "Status has a default"
        );
        assert_eq!(label_of("BillingPostalCode"), "Billing Postal Code");
    }

    #[test]
    fn custom_objects_parse_their_definitions() {
        let def = json!({"Number__c": {"type": "string", "external_id": true, "unique": true},
                         "Amount__c": "currency", "Account__c": {"type": "reference", "reference_to": "Account"}});
        let obj = custom_object("Invoice__c", "a00", &def).unwrap();
        let number = obj.field("Number__c").unwrap();
        assert!(number.external_id && number.unique);
        assert_eq!(
            obj.field("Account__c")
                .unwrap()
                .relationship_name
                .as_deref(),
            Some("Account__r")
        );
        assert!(custom_object("Invoice", "a00", &def).is_err());
        assert!(custom_object("Invoice__c", "a00", &json!({"Bad": "string"})).is_err());
        assert!(custom_object("Invoice__c", "a00", &json!({"X__c": "blob"})).is_err());
    }
}
