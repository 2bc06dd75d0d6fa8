//! Validation of the names that become parts of store keys (services, credential keys,
//! strategy ids): a closed character set, so no name can contain the key separator `/` or play
//! path tricks such as `..`.

use crate::error::{Error, Result};

/// Longest accepted name, in bytes.
pub const MAX_NAME_LEN: usize = 128;

/// Checks that `value` is a valid name for `field`: 1 to 128 characters of ASCII letters,
/// digits, `_`, `-`, `.` and `:`, not starting with `.`. The error never echoes the value.
pub fn check_name(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value.len() > MAX_NAME_LEN {
        return Err(Error::invalid(
            field,
            format!("must be at most {MAX_NAME_LEN} characters"),
        ));
    }
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':');
    if !value.chars().all(ok_char) || value.starts_with('.') {
        return Err(Error::invalid(
            field,
            "may contain only letters, digits, '_', '-', '.' and ':', and must not start with '.'",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_usual_names() {
        for n in [
            "OANDA_API_KEY",
            "fxshinobi",
            "default",
            "eur-usd.v2",
            "ns:key",
            "a",
        ] {
            assert!(check_name("key", n).is_ok(), "{n}");
        }
    }

    #[test]
    fn fail_path_tricks_and_junk() {
        let long = "x".repeat(129);
        for n in [
            "",
            "..",
            "../etc",
            "a/b",
            ".hidden",
            "a b",
            "é",
            "a\0b",
            "a\nb",
            long.as_str(),
        ] {
            let e = check_name("key", n).expect_err(n);
            assert_eq!(e.code(), "invalid");
            assert!(e.to_string().starts_with("invalid key: "), "{e}");
        }
    }
}
