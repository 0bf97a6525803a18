//! HTTP plumbing shared by every route: the per-request context (request id, client IP, root span),
//! the strict JSON body extractor, cursor pagination and the OpenAPI document.

pub mod context;
pub mod json;
pub mod openapi;
pub mod pagination;

pub use context::RequestContext;
pub use json::ValidJson;
pub use pagination::{Page, PageQuery};
