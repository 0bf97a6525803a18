//! Bulk imports of members from CSV, for HR: upload (streamed to disk, parsed into the import's rows),
//! column mapping (detected, overridable), a dry-run validation report, and the error file. See
//! docs/imports.md.

pub mod fields;
pub mod routes;
pub mod service;
pub mod upload;
pub mod validate;
