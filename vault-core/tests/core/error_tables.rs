//! The error-code tables outside Rust (docs, Python exceptions and stubs, Node's table and
//! types) are checked against [`ErrorCode::ALL`], the one list: a code missing from any table,
//! or a code a table has that the list does not, fails here.

use std::collections::BTreeSet;
use std::path::PathBuf;

use vault_core::ErrorCode;

fn repo_file(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn all_codes() -> BTreeSet<String> {
    ErrorCode::ALL
        .iter()
        .map(|c| c.as_str().to_string())
        .collect()
}

/// The rows of the docs table: code, HTTP column, Python class.
fn docs_rows() -> Vec<(String, String, String)> {
    repo_file("docs/error-codes.md")
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let unquote = |s: &str| s.split('`').nth(1).unwrap_or("").to_string();
            (unquote(cells[1]), cells[3].to_string(), unquote(cells[4]))
        })
        .collect()
}

/// Every `'snake_case'` string literal between `start` and the next `end`.
fn quoted_between(text: &str, start: &str, end: &str) -> BTreeSet<String> {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not found"));
    let rest = &text[from + start.len()..];
    let block = &rest[..rest.find(end).unwrap_or(rest.len())];
    block
        .split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn docs_table_lists_every_code_with_its_status() {
    let rows = docs_rows();
    let codes: BTreeSet<String> = rows.iter().map(|(c, ..)| c.clone()).collect();
    assert_eq!(codes, all_codes(), "docs/error-codes.md codes");
    assert_eq!(rows.len(), ErrorCode::ALL.len(), "one row per code");
    for (code, http, _) in &rows {
        let want = ErrorCode::parse(code).expect("known").http_status();
        assert_eq!(http, &want.to_string(), "HTTP status of {code} in the docs");
    }
}

#[test]
fn python_classes_exist_in_binding_stubs_and_package() {
    // Whitespace removed: rustfmt may split the binding's table rows over several lines.
    let binding: String = repo_file("vault-py/src/error.rs")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let stubs = repo_file("vault-py/python/vault/_native.pyi");
    let package = repo_file("vault-py/python/vault/__init__.py");
    for (code, _, class) in docs_rows() {
        assert!(!class.is_empty(), "no Python class for {code} in the docs");
        let variant = format!("{:?}", ErrorCode::parse(&code).expect("known"));
        assert!(
            binding.contains(&format!("(ErrorCode::{variant},\"{class}\",")),
            "vault-py/src/error.rs does not map {code} to {class}"
        );
        assert!(
            stubs.contains(&format!("class {class}(")),
            "_native.pyi does not declare {class}"
        );
        assert!(
            package.contains(&format!("\"{class}\"")),
            "vault/__init__.py does not export {class}"
        );
    }
}

#[test]
fn node_table_and_types_list_exactly_the_codes() {
    let js = quoted_between(&repo_file("vault-node/index.js"), "ERROR_CODES", "])");
    assert_eq!(js, all_codes(), "vault-node/index.js ERROR_CODES");
    let dts = quoted_between(
        &repo_file("vault-node/index.d.ts"),
        "export type ErrorCode =",
        "\n\n",
    );
    assert_eq!(dts, all_codes(), "vault-node/index.d.ts ErrorCode");
}
