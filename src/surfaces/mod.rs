//! Other tutorials' contracts, kept for their clients: one folder per tutorial, each a thin
//! adapter (parse its shape, call the service the native route calls, render its envelope).
//! No rules here: they live in `services/`.

pub mod chat_api;
pub mod jwt_auth;
pub mod videotube;

use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::http::openapi::ApiRoutes;

/// Every surface's routes, registered (and documented) like the native ones.
pub fn routes() -> ApiRoutes {
    ApiRoutes::new().merge(jwt_auth::routes()).merge(chat_api::routes()).merge(videotube::routes())
}

/// An error raised before any handler ran (a layer's refusal), in the envelope of the
/// surface whose path it is.
pub fn error_response(path: &str, error: ApiError) -> Response {
    if videotube::owns(path) {
        videotube::VideotubeError(error).into_response()
    } else if chat_api::owns(path) {
        chat_api::ChatApiError(error).into_response()
    } else {
        error.into_response()
    }
}
