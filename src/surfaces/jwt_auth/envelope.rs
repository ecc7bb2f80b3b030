//! The JWT-auth tutorial's error body, `{"message": "…"}`: a rendering of the one
//! `ApiError`, with the same status and message as the native body.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;

/// The tutorial's error body (its clients show `message`).
#[derive(Serialize, ToSchema)]
#[schema(as = JwtAuthError)]
pub struct Message {
    #[schema(example = "No token provided!")]
    pub message: String,
}

pub struct JwtAuthError(ApiError);

impl From<ApiError> for JwtAuthError {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl IntoResponse for JwtAuthError {
    fn into_response(self) -> Response {
        let (status, _) = self.0.status_and_code();
        if let ApiError::Internal(e) = &self.0 {
            tracing::error!(error = ?e, "internal error");
        }
        (status, Json(Message { message: self.0.message().to_string() })).into_response()
    }
}
