//! The names that become parts of store keys and resource paths, as typed newtypes
//! ([`ServiceName`], [`CredentialKey`], [`StrategyId`], [`ConstructId`], [`FileName`],
//! [`AccountId`], [`JobId`], [`InstanceId`]) validated
//! once, where input enters (a
//! server handler, a binding, a Rust caller): a closed character set, so no name can contain
//! the key separator `/` or play path tricks such as `..`. Code below the entry point takes the
//! typed name and never checks again.

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

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        name_type!($(#[$doc])* $name, $field, []);
    };
    ($(#[$doc:meta])* $name:ident, $field:literal, [$($reserved:literal),*]) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The input field this name is checked as (`invalid <field>: ...`).
            pub const FIELD: &'static str = $field;

            /// Checks `value` with [`check_name`] (and refuses the reserved names, if any);
            /// `invalid` naming the field otherwise.
            pub fn new(value: impl Into<String>) -> Result<Self> {
                let value = value.into();
                check_name($field, &value)?;
                $(
                    if value == $reserved {
                        return Err(Error::invalid(
                            $field,
                            concat!("`", $reserved, "` is reserved (it names an endpoint)"),
                        ));
                    }
                )*
                Ok($name(value))
            }

            /// The name as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The name as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                $name::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self> {
                $name::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Error;
            fn try_from(s: &str) -> Result<Self> {
                $name::new(s)
            }
        }

        impl From<$name> for String {
            fn from(n: $name) -> String {
                n.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

name_type!(
    /// A service (an application such as a trading engine) that owns credentials and configs.
    ServiceName,
    "service"
);
name_type!(
    /// A credential's name within its service, e.g. `OANDA_API_KEY`.
    CredentialKey,
    "key"
);
name_type!(
    /// A strategy config's id within its service. `watch` is reserved: over HTTP,
    /// `/api/vault/configs/{service}/watch` is the watch of the service's configs.
    StrategyId,
    "strategy_id",
    ["watch"]
);

name_type!(
    /// A construct's id (an AI persona of a chat app).
    ConstructId,
    "construct_id"
);
name_type!(
    /// The name of one of a construct's identity files, e.g. `persona.md`: the same closed
    /// character set as every name, so no `/`, no leading `.` (hence no `..`), no control
    /// characters.
    FileName,
    "file_name"
);
name_type!(
    /// A trading account whose guards (policy, proposals, scheduler jobs) live under
    /// `guards/<account>/...`.
    AccountId,
    "account"
);
name_type!(
    /// A scheduler job's id within its account. `claim` and `sweep` are reserved: over HTTP,
    /// `/api/vault/guards/{account}/jobs/claim` and `.../sweep` are the account's endpoints.
    JobId,
    "job_id",
    ["claim", "sweep"]
);
name_type!(
    /// A scheduler instance (one process of a scheduler that runs on several) that claims
    /// jobs and holds their leases.
    InstanceId,
    "instance"
);

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
            let typed = CredentialKey::new(n).expect_err(n);
            assert_eq!(typed.field(), Some("key"));
        }
    }

    #[test]
    fn fail_construct_ids_and_file_names_with_path_tricks() {
        for n in ["..", "../x", "a/b", ".env", "a\0b", "a\u{7f}b", "", "x y"] {
            assert_eq!(
                ConstructId::new(n).expect_err(n).field(),
                Some("construct_id"),
                "{n:?}"
            );
            assert_eq!(
                FileName::new(n).expect_err(n).field(),
                Some("file_name"),
                "{n:?}"
            );
        }
        assert!(FileName::new("persona.v2.md").is_ok());
        assert!(ConstructId::new("nova-7").is_ok());
    }

    #[test]
    fn typed_names_check_once_and_name_their_field() {
        let s: ServiceName = "fxshinobi".parse().expect("valid");
        assert_eq!(s, "fxshinobi");
        assert_eq!(
            StrategyId::new("../x").expect_err("bad").field(),
            Some("strategy_id")
        );
        assert_eq!(
            ServiceName::new("").expect_err("bad").field(),
            Some("service")
        );
        let json = serde_json::to_string(&s).expect("json");
        assert_eq!(json, "\"fxshinobi\"");
        assert!(serde_json::from_str::<ServiceName>("\"a/b\"").is_err());
    }
}
