//! The one registry of routes: every route of `http::router()` is mounted through
//! [`ApiRoutes`], which takes the path and methods from the handler's `#[utoipa::path]`
//! annotation (via `utoipa_axum::routes!`), so the router, the OpenAPI document served at
//! `/api/openapi.json` and [`ApiRoutes::table`] come from the same registration and cannot
//! drift apart. Also: the `ErrorBody` schema and the security schemes.
//!
//! Adding a route: annotate the handler with `#[utoipa::path(...)]` (method, path, tag,
//! params, body, responses including errors) and add one `.routes(routes!(handler))` line to
//! its module's `routes()`; an alias is `.alias("/other/path", routes!(handler))`.

use axum::Router;
use axum::http::Method;
use utoipa::openapi::path::{Operation, PathItem, Paths};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, RefOr, Schema};
use utoipa::{Modify, ToSchema};
use utoipa_axum::router::UtoipaMethodRouter;

use crate::error::ErrorCode;
use crate::startup::AppState;

/// The error body every route renders (`crate::error::ApiError`), as a schema. A test
/// (`tests/api/openapi.rs`) checks real error responses against it, so it cannot drift from
/// what `error.rs` renders.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)] // only read by the schema derive
pub struct ErrorBody {
    /// Always `false`.
    success: bool,
    /// The HTTP status, repeated.
    #[schema(example = 400)]
    status_code: u16,
    code: ErrorCode,
    /// A sentence for people; clients branch on `code`.
    #[schema(example = "A valid email is required")]
    message: String,
    /// Validation failures only: field name → reason code (`too_short`, `invalid`, …).
    #[schema(value_type = BTreeMap<String, String>, required = false)]
    errors: (),
    /// The request's id, as in the `x-request-id` header and the logs.
    #[schema(value_type = String, required = false)]
    request_id: (),
}

/// Raw bytes (a file), for non-JSON bodies.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Binary(());

/// Security schemes: the `jwt` cookie, `Authorization: Bearer`, and `x-access-token` (first
/// match wins, API.md); the document requires any one of them unless an operation says
/// `security(())`.
struct SecuritySchemes;

pub const JWT_COOKIE: &str = "jwtCookie";
pub const BEARER: &str = "bearerAuth";
pub const ACCESS_TOKEN_HEADER: &str = "accessTokenHeader";
pub const METRICS_TOKEN: &str = "metricsToken";

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            JWT_COOKIE,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "jwt",
                "The access token cookie set by signup, login and refresh",
            ))),
        );
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("The `accessToken` of login or refresh"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            METRICS_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("`METRICS_TOKEN`, for `/metrics` (required in production)"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            ACCESS_TOKEN_HEADER,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-access-token",
                "The `accessToken`, as the JWT-auth tutorial's clients send it",
            ))),
        );
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "natter",
        description = "Chat and authentication backend. Every error of natter's own routes is the \
                       `ErrorBody` JSON; the tutorials' routes answer in their envelopes \
                       (`JwtAuthError` under /api/test, `ChatApiError` for the chat-API tutorial). \
                       See the repository's API.md for the full contract, including Socket.IO."
    ),
    modifiers(&SecuritySchemes),
    security(("jwtCookie" = []), ("bearerAuth" = []), ("accessTokenHeader" = [])),
    components(schemas(ErrorBody, ErrorCode)),
    tags(
        (name = "auth", description = "Accounts, sessions and tokens"),
        (name = "users", description = "Users"),
        (name = "messages", description = "Direct messages"),
        (name = "rooms", description = "Direct and group rooms"),
        (name = "uploads", description = "Uploaded files"),
        (name = "service", description = "Health, readiness, this document and its docs page"),
    )
)]
struct ApiDoc;

/// Routes being registered: the axum router, their documentation and the table of what was
/// mounted, built together.
pub struct ApiRoutes {
    router: Router<AppState>,
    paths: Paths,
    schemas: Vec<(String, RefOr<Schema>)>,
    table: Vec<(Method, String)>,
    /// (alias, canonical) pairs, checked in `split`.
    aliases: Vec<(String, String)>,
}

impl Default for ApiRoutes {
    fn default() -> Self {
        Self::new()
    }
}

impl ApiRoutes {
    pub fn new() -> Self {
        Self { router: Router::new(), paths: Paths::new(), schemas: Vec::new(), table: Vec::new(), aliases: Vec::new() }
    }

    /// Mounts the handlers of one path, collected by `routes!(a, b, …)`, at the path and for
    /// the methods their `#[utoipa::path]` annotations name, and documents them.
    pub fn routes(mut self, (schemas, paths, method_router): UtoipaMethodRouter<AppState>) -> Self {
        let (path, item) = single_path(paths);
        self.router = self.router.route(&path, method_router);
        self.schemas.extend(schemas);
        self.record(path, item);
        self
    }

    /// Mounts the handlers of `routes!(…)` a second time, at `alias`, documented as a copy of
    /// their operations (own `operationId`, "Alias of …" in the description).
    pub fn alias(mut self, alias: &str, (schemas, paths, method_router): UtoipaMethodRouter<AppState>) -> Self {
        let (canonical, mut item) = single_path(paths);
        assert_eq!(
            path_params(alias),
            path_params(&canonical),
            "alias {alias} must have the path parameters of {canonical}"
        );
        let suffix = alias.rsplit('/').find(|s| !s.is_empty()).unwrap_or(alias).replace(['-', '{', '}', '*'], "_");
        for (method, operation) in operations_mut(&mut item) {
            let id = operation.operation_id.take().unwrap_or_default();
            operation.operation_id = Some(format!("{id}_alias_{suffix}"));
            let note = format!("Alias of `{method} {}`.", spec_path(&canonical));
            operation.summary = Some(match operation.summary.take() {
                Some(summary) => format!("{summary} (alias of `{}`)", spec_path(&canonical)),
                None => note.clone(),
            });
            operation.description = Some(match operation.description.take() {
                Some(d) if !d.is_empty() => format!("{note}\n\n{d}"),
                _ => note,
            });
        }
        self.router = self.router.route(alias, method_router);
        self.schemas.extend(schemas);
        self.aliases.push((alias.to_string(), canonical));
        self.record(alias.to_string(), item);
        self
    }

    pub fn merge(mut self, other: ApiRoutes) -> Self {
        self.router = self.router.merge(other.router);
        self.schemas.extend(other.schemas);
        self.aliases.extend(other.aliases);
        for (path, item) in other.paths.paths {
            self.add_path_item(path, item);
        }
        self.table.extend(other.table);
        self
    }

    fn record(&mut self, path: String, mut item: PathItem) {
        for (method, _) in operations_mut(&mut item) {
            self.table.push((method, path.clone()));
        }
        self.add_path_item(spec_path(&path), item);
    }

    fn add_path_item(&mut self, path: String, item: PathItem) {
        match self.paths.paths.get_mut(&path) {
            Some(existing) => existing.merge_operations(item),
            None => {
                self.paths.paths.insert(path, item);
            }
        }
    }

    /// Changes the documentation of every operation registered so far (a surface wrapping
    /// its success bodies in its envelope, say).
    pub fn map_operations(mut self, f: impl Fn(&mut Operation)) -> Self {
        for item in self.paths.paths.values_mut() {
            for (_, operation) in operations_mut(item) {
                f(operation);
            }
        }
        self
    }

    /// Every (method, path) mounted, in axum's path syntax (`{*key}` for a wildcard).
    pub fn table(&self) -> Vec<(Method, String)> {
        self.table.clone()
    }

    /// The router and the OpenAPI document of exactly its routes.
    pub fn split(self) -> (Router<AppState>, OpenApi) {
        for (alias, canonical) in &self.aliases {
            assert!(
                self.table.iter().any(|(_, p)| p == canonical),
                "alias {alias} names {canonical}, which is not mounted"
            );
        }
        let mut openapi = <ApiDoc as utoipa::OpenApi>::openapi();
        openapi.paths = self.paths;
        // Schemas are named by type: two types of one name would silently replace each
        // other in the document (seen when a surface had its own `LoginResponse`).
        let mut seen: std::collections::BTreeMap<&str, &RefOr<Schema>> = std::collections::BTreeMap::new();
        for (name, schema) in &self.schemas {
            if let Some(earlier) = seen.insert(name, schema) {
                assert!(earlier == schema, "two different schemas are both named {name}: give one `#[schema(as = …)]`");
            }
        }
        openapi.components.get_or_insert_with(Default::default).schemas.extend(self.schemas);
        (self.router, openapi)
    }
}

fn single_path(paths: Paths) -> (String, PathItem) {
    let mut entries = paths.paths.into_iter();
    match (entries.next(), entries.next()) {
        (Some(entry), None) => entry,
        _ => panic!("routes!(…) takes the handlers of exactly one path"),
    }
}

/// The OpenAPI form of an axum path: a wildcard `{*key}` is the parameter `{key}`.
pub fn spec_path(axum_path: &str) -> String {
    axum_path.replace("{*", "{")
}

fn path_params(path: &str) -> Vec<String> {
    let mut names: Vec<String> = spec_path(path)
        .split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(name, _)| name.to_string()))
        .collect();
    names.sort();
    names
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = (Method, &mut Operation)> {
    [
        (Method::GET, &mut item.get),
        (Method::PUT, &mut item.put),
        (Method::POST, &mut item.post),
        (Method::DELETE, &mut item.delete),
        (Method::OPTIONS, &mut item.options),
        (Method::HEAD, &mut item.head),
        (Method::PATCH, &mut item.patch),
        (Method::TRACE, &mut item.trace),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.as_mut().map(|op| (method, op)))
}

#[cfg(test)]
mod tests {
    use utoipa_axum::routes;

    use super::*;

    /// A test route.
    #[utoipa::path(get, path = "/things/{id}/read", responses((status = 200, description = "ok")))]
    async fn read_thing() {}

    #[test]
    fn wildcards_are_plain_parameters_in_the_document() {
        assert_eq!(spec_path("/uploads/{*key}"), "/uploads/{key}");
        assert_eq!(spec_path("/api/rooms/{room_id}"), "/api/rooms/{room_id}");
        assert_eq!(path_params("/a/{x}/b/{*y}"), ["x", "y"]);
    }

    #[test]
    fn an_alias_is_mounted_and_documented_as_its_own_operation() {
        let routes = ApiRoutes::new().routes(routes!(read_thing)).alias("/things/{id}/mark-read", routes!(read_thing));
        assert_eq!(
            routes.table(),
            [(Method::GET, "/things/{id}/read".to_string()), (Method::GET, "/things/{id}/mark-read".to_string())]
        );
        let (_, api) = routes.split();
        let alias = api.paths.paths["/things/{id}/mark-read"].get.as_ref().expect("alias documented");
        assert_eq!(alias.operation_id.as_deref(), Some("read_thing_alias_mark_read"));
        assert!(alias.description.as_deref().unwrap().starts_with("Alias of `GET /things/{id}/read`."));
        assert_eq!(
            api.paths.paths["/things/{id}/read"].get.as_ref().unwrap().operation_id.as_deref(),
            Some("read_thing")
        );
    }

    #[test]
    #[should_panic(expected = "must have the path parameters")]
    fn an_alias_with_other_path_parameters_is_refused() {
        let _ = ApiRoutes::new().alias("/things/{other}/mark-read", routes!(read_thing));
    }

    #[test]
    #[should_panic(expected = "which is not mounted")]
    fn an_alias_of_an_unmounted_route_is_refused() {
        let _ = ApiRoutes::new().alias("/things/{id}/mark-read", routes!(read_thing)).split();
    }
}
