//! The chat-API tutorial's envelopes and how its requests arrive: `{success: false, message}`
//! errors (validation: `"Kindly fix the error(s)"` with `errors: {field: sentence}`), the
//! caller from `Authorization: Bearer`, and bodies as JSON or as a URL-encoded form (its
//! server parses both).

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::auth::extract::access_token;
use crate::error::{ApiError, ApiJson, FieldErrors};
use crate::startup::AppState;

pub const VALIDATION_MESSAGE: &str = "Kindly fix the error(s)";

/// The tutorial's error body.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatApiError)]
pub struct ErrorEnvelope<'a> {
    /// Always `false`.
    success: bool,
    #[schema(example = "Kindly fix the error(s)")]
    message: &'a str,
    /// Validation failures: field → what is wrong with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    errors: Option<&'a BTreeMap<String, String>>,
    /// 401 only: the same sentence, where the tutorial's token check puts it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    error_message: Option<&'a str>,
}

/// An `ApiError` rendered in the tutorial's envelope, with the native status and headers.
pub struct ChatApiError(pub ApiError);

impl<E: Into<ApiError>> From<E> for ChatApiError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for ChatApiError {
    fn into_response(self) -> Response {
        let body = {
            let (message, errors) = match &self.0 {
                ApiError::Validation(fields) => (VALIDATION_MESSAGE, Some(fields.messages())),
                other => (other.message(), None),
            };
            let error_message = matches!(self.0, ApiError::Unauthorized(_)).then_some(message);
            serde_json::to_vec(&ErrorEnvelope { success: false, message, errors, error_message })
        };
        // The native rendering keeps status, `WWW-Authenticate`, `Retry-After` and the
        // logging of internal errors; only the body is the tutorial's.
        let (mut parts, _) = self.0.into_response().into_parts();
        parts.headers.remove(axum::http::header::CONTENT_LENGTH);
        match body {
            Ok(bytes) => Response::from_parts(parts, Body::from(bytes)),
            Err(_) => Response::from_parts(parts, Body::from(r#"{"success":false}"#)),
        }
    }
}

pub type ChatApiResult<T> = Result<T, ChatApiError>;

/// The authenticated caller; without a token: 401 `No access token provided`.
pub struct Caller(pub AuthUser);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ChatApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = access_token(parts).ok_or_else(|| ApiError::Unauthorized("No access token provided".into()))?;
        Ok(Self(crate::services::auth::authenticate(state, &token).await?))
    }
}

/// A request body as a JSON object, from JSON or from a URL-encoded form (a repeated key, or
/// one ending in `[]`, is an array). Anything else is a clear 4xx in the tutorial's envelope.
pub struct Fields(pub Map<String, Value>);

impl Fields {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }
}

impl FromRequest<AppState> for Fields {
    type Rejection = ChatApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let form =
            req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
                ct.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded")
            });
        if form {
            let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge("Request body is too large".into())
                } else {
                    ApiError::BadRequest(crate::error::ErrorCode::MalformedJson, e.body_text().into())
                }
            })?;
            return Ok(Self(form_fields(&bytes)?));
        }
        let ApiJson(value) = ApiJson::<Value>::from_request(req, state).await?;
        match value {
            Value::Object(map) => Ok(Self(map)),
            _ => Err(FieldErrors::single("body", "invalid", "The body must be a JSON object").into()),
        }
    }
}

fn form_fields(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
        .map_err(|_| ApiError::BadRequest(crate::error::ErrorCode::ValidationFailed, "Malformed form body".into()))?;
    let mut map = Map::new();
    for (key, value) in pairs {
        let (key, is_array) = match key.strip_suffix("[]") {
            Some(k) => (k.to_string(), true),
            None => (key, false),
        };
        match map.get_mut(&key) {
            Some(Value::Array(items)) => items.push(Value::String(value)),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, Value::String(value)]);
            }
            None if is_array => {
                map.insert(key, Value::Array(vec![Value::String(value)]));
            }
            None => {
                map.insert(key, Value::String(value));
            }
        }
    }
    Ok(map)
}

/// The tutorial's checks (`@withvoid/make-validation`), with its sentences.
pub struct Checks<'a> {
    fields: &'a Fields,
    pub errors: FieldErrors,
}

impl<'a> Checks<'a> {
    pub fn new(fields: &'a Fields) -> Self {
        Self { fields, errors: FieldErrors::new() }
    }

    /// A non-empty string.
    pub fn string(&mut self, key: &str) -> Option<&'a str> {
        match self.fields.get(key).and_then(Value::as_str).filter(|s| !s.trim().is_empty()) {
            Some(s) => Some(s),
            None => {
                self.errors.add(key, "invalid", format!("Please provide {key} as a string & not empty"));
                None
            }
        }
    }

    /// A string when present.
    pub fn optional_string(&mut self, key: &str) -> Option<&'a str> {
        self.fields.get(key)?;
        self.string(key)
    }

    /// One of `allowed`.
    pub fn one_of(&mut self, key: &str, allowed: &[&str]) -> Option<&'a str> {
        match self.fields.get(key) {
            None => {
                self.errors.add(key, "required", format!("Missing value for {key}"));
                None
            }
            Some(v) => match v.as_str().filter(|s| allowed.contains(s)) {
                Some(s) => Some(s),
                None => {
                    self.errors.add(key, "invalid", format!("Possible value for {key} are {}", allowed.join(",")));
                    None
                }
            },
        }
    }

    /// A non-empty array of unique, non-empty strings.
    pub fn unique_strings(&mut self, key: &str) -> Option<Vec<&'a str>> {
        let Some(items) = self.fields.get(key).and_then(Value::as_array).filter(|a| !a.is_empty()) else {
            self.errors.add(key, "required", format!("Please provide {key} as a array"));
            return None;
        };
        let strings: Vec<&str> = items.iter().filter_map(Value::as_str).filter(|s| !s.trim().is_empty()).collect();
        if strings.len() != items.len() {
            self.errors.add(key, "invalid", format!("Please provide {key} as an array of only string"));
            return None;
        }
        let mut seen = std::collections::HashSet::new();
        if !strings.iter().all(|s| seen.insert(*s)) {
            self.errors.add(key, "duplicate", format!("Please provide {key} as a unique array"));
            return None;
        }
        Some(strings)
    }

    pub fn finish(self) -> Result<(), ApiError> {
        self.errors.into_result()
    }
}
