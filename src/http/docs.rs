//! `GET /api/openapi.json` (the OpenAPI 3.1 document of every route, built in
//! `http::openapi`) and the Swagger UI page at `/docs/`, whose files are compiled into the
//! binary (utoipa-swagger-ui's `vendored` feature): the page needs no network.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use utoipa_axum::routes;
use utoipa_swagger_ui::Config;

use super::openapi::{ApiRoutes, Binary};
use crate::error::{ApiError, ApiPath, ApiResult};

/// Where the document is served; the docs page loads it from here.
pub const SPEC_PATH: &str = "/api/openapi.json";

pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .routes(routes!(openapi_json))
        .routes(routes!(docs_redirect))
        .routes(routes!(docs_index))
        .routes(routes!(docs_file))
}

/// What the handlers serve, built once with the router (see `http::router`).
#[derive(Clone)]
pub struct Docs {
    spec: Bytes,
    swagger: Arc<Config<'static>>,
}

impl Docs {
    pub fn new(spec: &utoipa::openapi::OpenApi) -> Self {
        let spec = serde_json::to_vec(spec).expect("the OpenAPI document serializes").into();
        let swagger = Config::new([SPEC_PATH])
            // The default validator badge loads from swagger.io: no network here.
            .validator_url("none")
            .try_it_out_enabled(true)
            .persist_authorization(true)
            .display_operation_id(true);
        Self { spec, swagger: Arc::new(swagger) }
    }
}

/// This document: the OpenAPI 3.1 description of every route natter serves.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "service",
    operation_id = "openapi_json",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object))
)]
async fn openapi_json(Extension(docs): Extension<Docs>) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], docs.spec).into_response()
}

/// The docs page lives at `/docs/` (its files are referenced relative to it).
#[utoipa::path(
    get,
    path = "/docs",
    tag = "service",
    operation_id = "docs_redirect",
    security(()),
    responses((status = 303, description = "Redirect to `/docs/`", headers(("location" = String))))
)]
async fn docs_redirect() -> Redirect {
    Redirect::to("/docs/")
}

/// The interactive docs page (Swagger UI), served with all its assets by natter.
#[utoipa::path(
    get,
    path = "/docs/",
    tag = "service",
    operation_id = "docs_index",
    security(()),
    responses((status = 200, description = "The docs page", content_type = "text/html", body = String))
)]
async fn docs_index(Extension(docs): Extension<Docs>) -> ApiResult<Response> {
    serve_file(&docs, "index.html")
}

/// A file of the docs page (scripts, styles, icons).
#[utoipa::path(
    get,
    path = "/docs/{*file}",
    tag = "service",
    operation_id = "docs_file",
    security(()),
    params(("file" = String, Path, description = "File name, e.g. `swagger-ui-bundle.js`")),
    responses(
        (status = 200, description = "The file, with its own content type (CSS, JavaScript, PNG, …)", content_type = "*/*", body = Binary),
        (status = 404, description = "No such file", body = super::openapi::ErrorBody),
    )
)]
async fn docs_file(Extension(docs): Extension<Docs>, ApiPath(file): ApiPath<String>) -> ApiResult<Response> {
    serve_file(&docs, &file)
}

fn serve_file(docs: &Docs, file: &str) -> ApiResult<Response> {
    let found = utoipa_swagger_ui::serve(file, docs.swagger.clone())
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("docs page file {file}: {e}")))?
        .ok_or_else(|| ApiError::NotFound("No such file of the docs page".into()))?;
    let content_type = HeaderValue::from_str(&found.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let response = ([(header::CONTENT_TYPE, content_type)], found.bytes.into_owned()).into_response();
    Ok(super::security::page(response, super::security::DOCS_CSP))
}
