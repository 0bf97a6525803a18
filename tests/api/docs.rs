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

#[test]
fn every_audit_action_the_code_emits_is_in_the_catalogue() {
    let root = env!("CARGO_MANIFEST_DIR");
    let catalogue = std::fs::read_to_string(format!("{root}/docs/audit.md")).unwrap();
    let mut emitted = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(format!("{root}/src"))];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for piece in text.split("AuditEvent::new(\"").skip(1) {
                    emitted.push(piece.split('"').next().unwrap().to_owned());
                }
            }
        }
    }
    assert!(emitted.len() >= 10, "found only {emitted:?}");
    for action in emitted {
        assert!(
            catalogue.contains(&format!("| `{action}` |")),
            "{action} is not in docs/audit.md"
        );
    }
}
