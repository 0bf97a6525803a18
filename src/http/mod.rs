//! HTTP plumbing shared by every route: the per-request context (request id, client IP, root span), the
//! security headers of every answer,
//! the strict JSON body and query-string extractors, cursor pagination and the OpenAPI document.

pub mod context;
pub mod headers;
pub mod json;
pub mod openapi;
pub mod pagination;
pub mod query;

pub use context::RequestContext;
pub use json::{ValidJson, present};
pub use pagination::{Page, PageQuery};
pub use query::ValidQuery;
