//! Bulk imports of members from CSV, for HR: upload (streamed to disk, parsed into the import's rows),
//! column mapping (detected, overridable), a dry-run validation report, the error file, and the commit:
//! a job that writes the rows in chunks, each with its checkpoint ([`process`]). See docs/imports.md.

pub mod command;
pub mod fields;
pub mod normalize;
pub mod process;
pub mod progress;
pub mod routes;
pub mod rows;
pub mod service;
pub mod upload;
pub mod validate;
