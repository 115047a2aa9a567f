//! Request bodies are checked against the very schemas the OpenAPI document publishes, before
//! they are read into their types: every bound, pattern, enum, item count and unknown field the
//! spec states is enforced the same way everywhere, so a client that follows the spec is never
//! surprised, and one that does not is told which field is wrong (422 `validation_failed`).
//!
//! Numbers are then read as JSON Schema reads them: `1.0` is an integer.

use std::collections::HashMap;

use jsonschema::Validator;
use serde_json::{Map, Number, Value};
use tessera_domain::shared::{DomainError, FieldError};

use crate::http::problem::ApiError;

/// The most field errors one answer lists.
const MAX_ERRORS: usize = 10;

/// A validator for each schema a request body of the document uses, by name.
pub struct BodySchemas {
    validators: HashMap<String, Validator>,
}

impl BodySchemas {
    /// Compiles the components that the request bodies of `spec` (the document the server
    /// serves) refer to, directly or through other components: only a body is ever checked,
    /// and a validator for every response schema too cost megabytes for nothing.
    pub fn from_spec(spec: &utoipa::openapi::OpenApi) -> anyhow::Result<Self> {
        let document = serde_json::to_value(spec)?;
        let schemas = document
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let bodies = reachable(body_schema_names(&document), &schemas);
        let mut validators = HashMap::with_capacity(bodies.len());
        for name in bodies.keys() {
            // The component itself, beside the components its `$ref`s reach and no others: a
            // validator keeps its whole document, and every component beside every other cost
            // some 60 MiB of resident memory for nothing.
            let schema = serde_json::json!({
                "$ref": format!("#/components/schemas/{name}"),
                "components": { "schemas": reachable(vec![name.clone()], &schemas) },
            });
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .should_validate_formats(true)
                .build(&schema)
                .map_err(|e| anyhow::anyhow!("the schema {name} does not compile: {e}"))?;
            validators.insert(name.clone(), validator);
        }
        Ok(Self { validators })
    }

    /// Checks a body against the schema named `name`; answers it with whole numbers as integers.
    /// A schema no request body uses checks nothing (every body type is one: a test says so).
    pub fn check(&self, name: &str, mut body: Value) -> Result<Value, ApiError> {
        if let Some(validator) = self.validators.get(name) {
            let mut errors: Vec<FieldError> = Vec::new();
            for e in validator.iter_errors(&body) {
                push_errors(&e, &mut errors);
                if errors.len() >= MAX_ERRORS {
                    errors.truncate(MAX_ERRORS);
                    break;
                }
            }
            if !errors.is_empty() {
                return Err(DomainError::Validation(errors).into());
            }
        }
        integers(&mut body);
        Ok(body)
    }

    /// Whether a body of this schema is checked (a request body of the document uses it).
    pub fn knows(&self, name: &str) -> bool {
        self.validators.contains_key(name)
    }
}

/// The components the request bodies of `document` name in their `$ref`s.
fn body_schema_names(document: &Value) -> Vec<String> {
    let mut names = Vec::new();
    let paths = document.get("paths").and_then(Value::as_object);
    for item in paths.into_iter().flat_map(Map::values) {
        let operations = item.as_object().into_iter().flat_map(Map::values);
        for body in operations.filter_map(|operation| operation.get("requestBody")) {
            refs_in(body, &mut names);
        }
    }
    names
}

/// The components `names` and every component their `$ref`s reach, directly or through others.
fn reachable(names: Vec<String>, schemas: &Map<String, Value>) -> Map<String, Value> {
    let mut found = Map::new();
    let mut pending = names;
    while let Some(next) = pending.pop() {
        if found.contains_key(&next) {
            continue;
        }
        if let Some(schema) = schemas.get(&next) {
            refs_in(schema, &mut pending);
            found.insert(next, schema.clone());
        }
    }
    found
}

/// Pushes the component names `value`'s `$ref`s point to.
fn refs_in(value: &Value, names: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match value.as_str() {
                    Some(target) if key == "$ref" => {
                        if let Some(name) = target.strip_prefix("#/components/schemas/") {
                            names.push(name.to_owned());
                        }
                    }
                    _ => refs_in(value, names),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs_in(item, names)),
        _ => {}
    }
}

/// Adds what `error` says to `errors`, one message per field (the first; masked: it never
/// repeats the value, which may be a password). A body that matches none of a `oneOf`'s shapes
/// is told what is wrong with the shape it came closest to (the fewest errors), so the answer
/// still names fields rather than the whole body.
fn push_errors(error: &jsonschema::ValidationError<'_>, errors: &mut Vec<FieldError>) {
    use jsonschema::error::ValidationErrorKind;

    if let ValidationErrorKind::OneOfNotValid { context } = error.kind() {
        if let Some(closest) = context
            .iter()
            .filter(|c| !c.is_empty())
            .min_by_key(|c| c.len())
        {
            for e in closest {
                push_errors(e, errors);
            }
            return;
        }
    }
    let parent = error.instance_path().as_str();
    // A missing or unknown property is the problem of that property, not of the object around
    // it: a form shows "is required" beside the field (and a post's own `body` field is never
    // confused with the whole request). The wording is that of the typed reading (extract.rs).
    let named: Vec<(String, String)> = match error.kind() {
        ValidationErrorKind::Required { property } => match property.as_str() {
            Some(name) => vec![(child(parent, name), "is required".to_owned())],
            None => vec![(field_name(parent), error.masked().to_string())],
        },
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => unexpected
            .iter()
            .map(|name| {
                let message = "is not a field of this request".to_owned();
                (child(parent, name), message)
            })
            .collect(),
        _ => vec![(field_name(parent), error.masked().to_string())],
    };
    for (field, message) in named {
        if !errors.iter().any(|known| known.field == field) {
            errors.push(FieldError::new(field, message));
        }
    }
}

/// The field name of property `name` of the object at `parent` (a JSON pointer).
fn child(parent: &str, name: &str) -> String {
    field_name(&format!(
        "{parent}/{}",
        name.replace('~', "~0").replace('/', "~1")
    ))
}

/// `/scopes/0/name` as the API names fields elsewhere: `scopes[0].name`; the whole body is
/// `body`.
fn field_name(pointer: &str) -> String {
    let mut field = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            field.push_str(&format!("[{segment}]"));
        } else {
            if !field.is_empty() {
                field.push('.');
            }
            field.push_str(&segment);
        }
    }
    if field.is_empty() {
        "body".to_owned()
    } else {
        field
    }
}

/// Rewrites every number with no fraction as an integer, as JSON Schema counts them (`5.0` is
/// the integer 5), so the typed reading that follows agrees with the check.
fn integers(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                // Strictly inside ±2^63: a literal beyond i64 also arrives as a float, rounded to
                // the bound, and must stay out of range.
                if f.fract() == 0.0 && f > i64::MIN as f64 && f < i64::MAX as f64 {
                    *n = Number::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integers),
        Value::Object(fields) => fields.values_mut().for_each(integers),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validator_keeps_only_the_components_it_reaches() {
        let schemas = serde_json::json!({
            "A": {"properties": {"b": {"$ref": "#/components/schemas/B"}}},
            "B": {"items": {"oneOf": [{"$ref": "#/components/schemas/C"}, {"type": "null"}]}},
            "C": {"properties": {"a": {"$ref": "#/components/schemas/A"}}},
            "D": {"type": "integer"},
        });
        let found = reachable(vec!["A".to_owned()], schemas.as_object().unwrap());
        let mut names: Vec<&str> = found.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["A", "B", "C"]);
    }

    #[test]
    fn pointers_read_as_field_names() {
        assert_eq!(field_name(""), "body");
        assert_eq!(field_name("/name"), "name");
        assert_eq!(field_name("/scopes/0"), "scopes[0]");
        assert_eq!(field_name("/items/2/name"), "items[2].name");
        assert_eq!(child("", "title"), "title");
        assert_eq!(child("/stock/1", "org_unit_id"), "stock[1].org_unit_id");
        assert_eq!(child("", "a/b"), "a/b");
    }

    #[test]
    fn whole_numbers_become_integers() {
        let mut body = serde_json::json!({"a": 5.0, "b": [1.0, 2.5], "c": "7.0"});
        integers(&mut body);
        assert_eq!(body, serde_json::json!({"a": 5, "b": [1, 2.5], "c": "7.0"}));
        let mut beyond: Value = serde_json::from_str("[-9223372036854775809]").unwrap();
        integers(&mut beyond);
        assert!(
            beyond[0].is_f64(),
            "beyond i64 stays a float, so i64 refuses it"
        );
    }

    /// A document whose one request body is `Body`, which refers to `Name`; `Answer` is a
    /// response only, and `Unused` nothing at all.
    fn small_spec() -> utoipa::openapi::OpenApi {
        serde_json::from_value(serde_json::json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {"/things": {"post": {
                "requestBody": {"content": {"application/json": {"schema": {
                    "oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Body"}]
                }}}},
                "responses": {"200": {"description": "ok", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Answer"}
                }}}},
            }}},
            "components": {"schemas": {
                "Body": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": {"$ref": "#/components/schemas/Name"}},
                    "additionalProperties": false,
                },
                "Name": {"type": "string", "minLength": 1},
                "Answer": {"type": "object", "properties": {"id": {"type": "integer"}}},
                "Unused": {"type": "integer"},
            }},
        }))
        .unwrap()
    }

    #[test]
    fn only_the_components_request_bodies_use_get_a_validator() {
        let bodies = BodySchemas::from_spec(&small_spec()).unwrap();
        assert!(bodies.knows("Body"));
        assert!(bodies.knows("Name"), "reached through the body's $ref");
        assert!(
            !bodies.knows("Answer"),
            "a response schema is never checked"
        );
        assert!(!bodies.knows("Unused"));
        assert_eq!(bodies.validators.len(), 2);
    }

    #[test]
    fn a_body_is_checked_against_its_schema() {
        let bodies = BodySchemas::from_spec(&small_spec()).unwrap();
        let checked = bodies.check("Body", serde_json::json!({"name": "x"}));
        assert_eq!(checked.unwrap(), serde_json::json!({"name": "x"}));
        assert!(bodies
            .check("Body", serde_json::json!({"name": ""}))
            .is_err());
        assert!(bodies
            .check("Body", serde_json::json!({"other": 1}))
            .is_err());
        // No validator: nothing to check it against.
        assert!(bodies
            .check("Answer", serde_json::json!("not an object"))
            .is_ok());
    }

    #[test]
    fn the_served_document_checks_every_request_body_and_no_response() {
        let spec = crate::openapi::spec();
        let document = serde_json::to_value(&spec).unwrap();
        let bodies = BodySchemas::from_spec(&spec).unwrap();
        let direct = body_schema_names(&document);
        assert!(direct.iter().any(|name| name == "LoginRequest"));
        for name in &direct {
            assert!(bodies.knows(name), "{name} is a request body");
        }
        assert!(!bodies.knows("LivenessDto"), "a response only");
        assert!(!bodies.knows("Problem"), "a response only");
        let components = document["components"]["schemas"].as_object().unwrap().len();
        assert!(bodies.validators.len() < components / 2);
    }
}
