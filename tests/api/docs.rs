//! Documents that must say what the code does.

use std::collections::BTreeSet;

#[test]
fn the_permissions_matrix_in_the_docs_matches_the_policy_file() {
    let root = env!("CARGO_MANIFEST_DIR");
    let policy = std::fs::read_to_string(format!("{root}/policies/policy.csv")).unwrap();
    let granted: BTreeSet<(String, String)> = policy
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split(',').map(str::trim).collect();
            (f[1].to_owned(), format!("{}:{}", f[3], f[4]))
        })
        .collect();

    let doc = std::fs::read_to_string(format!("{root}/docs/permissions.md")).unwrap();
    let mut lines = doc.lines().skip_while(|l| !l.starts_with("| permission |"));
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split('|')
        .map(|c| c.trim().to_owned())
        .collect();
    let roles = &header[2..header.len() - 1];
    let mut documented = BTreeSet::new();
    for row in lines.skip(1).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let permission = cells[1].trim_matches('`');
        for (role, cell) in roles.iter().zip(&cells[2..]) {
            if *cell == "✓" {
                documented.insert((role.clone(), permission.to_owned()));
            }
        }
    }
    assert_eq!(
        documented, granted,
        "docs/permissions.md and policies/policy.csv disagree"
    );
}

/// The text of every Rust file under `src/`.
fn rust_sources() -> Vec<(std::path::PathBuf, String)> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut sources = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(format!("{root}/src"))];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                sources.push((path, text));
            }
        }
    }
    sources
}

#[test]
fn every_audit_action_the_code_emits_is_in_the_catalogue() {
    let root = env!("CARGO_MANIFEST_DIR");
    let catalogue = std::fs::read_to_string(format!("{root}/docs/audit.md")).unwrap();
    let mut emitted = Vec::new();
    for (_, text) in rust_sources() {
        for piece in text.split("AuditEvent::new(\"").skip(1) {
            emitted.push(piece.split('"').next().unwrap().to_owned());
        }
    }
    assert!(emitted.len() >= 10, "found only {emitted:?}");
    // Actions chosen before the call (`AuditEvent::new(action)`): every `"resource.verb"` literal of a
    // resource the catalogue knows, in a file that records events.
    let resources: std::collections::BTreeSet<String> = catalogue
        .split("| `")
        .skip(1)
        .filter_map(|piece| {
            piece
                .split('`')
                .next()?
                .split_once('.')
                .map(|(r, _)| r.to_owned())
        })
        .collect();
    for (_, text) in rust_sources() {
        if !text.contains("AuditEvent::new(") {
            continue;
        }
        for literal in text.split('"').skip(1).step_by(2) {
            let Some((resource, verb)) = literal.split_once('.') else {
                continue;
            };
            let word =
                |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            if word(resource) && word(verb) && resources.contains(resource) {
                emitted.push(literal.to_owned());
            }
        }
    }
    for action in emitted {
        assert!(
            catalogue.contains(&format!("| `{action}` |")),
            "{action} is not in docs/audit.md"
        );
    }
}

/// The OpenAPI document names schemas by type name alone: two types of one name would silently share
/// one schema, and one of them would be documented wrong.
#[test]
fn no_two_documented_types_share_a_name() {
    let mut seen: std::collections::BTreeMap<String, std::path::PathBuf> = Default::default();
    for (path, text) in rust_sources() {
        let mut documented = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with("#[derive(") && line.contains("ToSchema") {
                documented = true;
            } else if documented
                && (line.starts_with("pub struct ") || line.starts_with("pub enum "))
            {
                let name: String = line
                    .split_whitespace()
                    .nth(2)
                    .unwrap()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if let Some(other) = seen.insert(name.clone(), path.clone()) {
                    panic!(
                        "{name} is documented twice: {} and {}",
                        other.display(),
                        path.display()
                    );
                }
                documented = false;
            }
        }
    }
    assert!(
        seen.len() >= 50,
        "found only {} documented types",
        seen.len()
    );
}
