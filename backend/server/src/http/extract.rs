//! JSON bodies and query strings, parsed field by field. A body is first checked against the
//! schema the OpenAPI document publishes for it (`crate::http::schema`), then read into its type;
//! a value of the wrong type, out of bounds, outside its enum, or a field the request may not
//! carry is a 422 `validation_failed` whose `errors[]` names the field (`scopes[0]`, `status`),
//! as the domain's own checks do. A body that is not JSON at all is a 400 `invalid_json`; one
//! sent as another media type a 415.

use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tessera_domain::shared::{DomainError, ErrorCode, FieldError};
use utoipa::ToSchema;

use crate::http::problem::ApiError;
use crate::http::schema::BodySchemas;

/// A JSON request body.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The parsed body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + ToSchema + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = is_json(req);
        let schemas = req.app_data::<web::Data<BodySchemas>>().cloned();
        // The body's size limit is the app's `PayloadConfig` (64 KiB): over it is a 413.
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::problem(
                    ErrorCode::UnsupportedMediaType,
                    "the body must be JSON (Content-Type: application/json)",
                )
                .into());
            }
            let bytes = bytes.await?;
            let value = parse_document(&bytes)?;
            Ok(Json(read::<T>(
                schemas.as_ref().map(|s| s.get_ref()),
                value,
            )?))
        })
    }
}

/// A JSON body that may be left out: `POST /api/auth/logout` and the admin cache calls are
/// often sent with none (the seed's curl lines). An empty body or `null` reads as `T::default()`;
/// anything else must be the JSON object the schema describes.
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + ToSchema + Default + 'static> FromRequest for OptionalJson<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let schemas = req.app_data::<web::Data<BodySchemas>>().cloned();
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = bytes.await?;
            // JSON's own whitespace only: a form feed is not "no body".
            if bytes
                .iter()
                .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            {
                return Ok(OptionalJson(T::default()));
            }
            match parse_document(&bytes)? {
                Value::Null => Ok(OptionalJson(T::default())),
                value => Ok(OptionalJson(read::<T>(
                    schemas.as_ref().map(|s| s.get_ref()),
                    value,
                )?)),
            }
        })
    }
}

fn is_json(req: &HttpRequest) -> bool {
    matches!(
        req.mime_type(),
        Ok(Some(m)) if m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON)
    )
}

/// Parses a JSON document; anything that is not one is a 400.
fn parse_document(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| invalid_json(&e))
}

/// Checks a document against `T`'s published schema, then reads it into `T`, naming the field
/// that does not fit.
fn read<T: DeserializeOwned + ToSchema>(
    schemas: Option<&BodySchemas>,
    value: Value,
) -> Result<T, ApiError> {
    let value = match schemas {
        Some(schemas) => schemas.check(&T::name(), value)?,
        None => value,
    };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        field_problem(&path, &e.into_inner().to_string())
    })
}

/// Parses a JSON document into `T` without a schema check, naming the field that does not fit.
#[cfg(test)]
fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value = parse_document(bytes)?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        field_problem(&path, &e.into_inner().to_string())
    })
}

fn invalid_json(e: &serde_json::Error) -> ApiError {
    ApiError::problem(
        ErrorCode::InvalidJson,
        format!("the body is not valid JSON: {e}"),
    )
}

/// A row id in a query string (`?org_unit_id=4`): an integer of at least 1, as the spec
/// publishes it (`minimum: 1`), so every filter refuses `0` and `-3` the same way (422 naming
/// the parameter). Declare it `#[param(value_type = Option<i64>, minimum = 1)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryId(pub i64);

impl<'de> serde::Deserialize<'de> for QueryId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = i64::deserialize(deserializer)?;
        if id < 1 {
            return Err(serde::de::Error::custom("must be at least 1"));
        }
        Ok(Self(id))
    }
}

/// A query string.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    /// The parsed query.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parse = || {
            let pairs = form_urlencoded::parse(req.query_string().as_bytes());
            let deserializer = serde_urlencoded::Deserializer::new(pairs);
            serde_path_to_error::deserialize(deserializer)
                .map(Query)
                .map_err(|e| field_problem(&e.path().to_string(), &e.into_inner().to_string()))
        };
        std::future::ready(parse())
    }
}

/// A 422 naming the field: the path serde reached, or at the top level the name a "missing
/// field" or "unknown field" message quotes.
fn field_problem(path: &str, message: &str) -> ApiError {
    // serde_json ends its messages with the position, which says nothing a person needs here.
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned();
    let quoted = message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("missing field") || message.starts_with("unknown field"));
    let field = match (path, quoted) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => "body".to_owned(),
        (path, _) => path.to_owned(),
    };
    let message = if message.starts_with("unknown field") {
        "is not a field of this request".to_owned()
    } else if message.starts_with("missing field") {
        "is required".to_owned()
    } else {
        message
    };
    DomainError::Validation(vec![FieldError::new(field, message)]).into()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        scopes: Vec<Scope>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Scope {
        Read,
    }

    fn field_of(json: &str) -> (u16, String) {
        let err = parse_json::<Body>(json.as_bytes()).unwrap_err();
        let ApiError::Domain(DomainError::Validation(fields)) = err else {
            return (400, String::new());
        };
        (422, fields[0].field.clone())
    }

    #[test]
    fn the_field_that_does_not_fit_is_named() {
        assert_eq!(
            field_of(r#"{"name":"x","scopes":["root"]}"#),
            (422, "scopes[0]".into())
        );
        assert_eq!(field_of(r#"{"scopes":[]}"#), (422, "name".into()));
        assert_eq!(
            field_of(r#"{"name":"x","scopes":[],"admin":true}"#),
            (422, "admin".into())
        );
        assert_eq!(field_of(r#"{"name":7,"scopes":[]}"#), (422, "name".into()));
        assert_eq!(field_of(r#"{"name":"#).0, 400);
        assert_eq!(field_of(r#"{"name":"x","scopes":[]} trailing"#).0, 400);
    }
}
