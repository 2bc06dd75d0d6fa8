//! The tokens routes of the `/api/vault/*` dialect: paths, the create body (with its `ttl`,
//! a humantime string or a number of seconds), the page query, and the replies. No reply type
//! but [`TokenCreatedReply`] has a place for the token, and none has one for its hash.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use serde::de::{self, Unexpected, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use vault_core::{
    Capability, Error, LlmLimits, Page, PageRequest, Result, Rule, Timestamp, TokenCreate,
    TokenInfo,
};

/// `POST` create a token, `GET` list tokens (`?limit=&after=`).
pub const TOKENS: &str = "/api/vault/tokens";
/// `GET` the calling token's own info.
pub const TOKEN_SELF: &str = "/api/vault/tokens/self";
/// `DELETE` revoke a token.
pub const TOKEN: &str = "/api/vault/tokens/{id}";

// ---- requests ----

/// A rule in a create body: capabilities as names, checked where the body is turned into a
/// core request (so an unknown one is `invalid` naming `rules[i].capabilities[j]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    /// A glob over resource paths.
    pub path: String,
    /// Capability names (`read`, `write`, `delete`, `list`, `admin`).
    pub capabilities: Vec<String>,
}

impl From<&Rule> for RuleBody {
    fn from(r: &Rule) -> Self {
        RuleBody {
            path: r.path.clone(),
            capabilities: r
                .capabilities
                .iter()
                .map(|c| c.as_str().to_string())
                .collect(),
        }
    }
}

/// A token's time to live on the wire: sent as a humantime string (`"30d"`, `"1h 30m"`);
/// accepted as that or as a non-negative integer number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ttl(pub Duration);

const TTL_EXPECTED: &str = "a duration such as \"30d\" or \"1h\", or a number of seconds";

impl Serialize for Ttl {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Ttl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct TtlVisitor;

        impl Visitor<'_> for TtlVisitor {
            type Value = Ttl;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(TTL_EXPECTED)
            }

            fn visit_u64<E: de::Error>(self, secs: u64) -> std::result::Result<Ttl, E> {
                Ok(Ttl(Duration::from_secs(secs)))
            }

            fn visit_i64<E: de::Error>(self, secs: i64) -> std::result::Result<Ttl, E> {
                u64::try_from(secs)
                    .map(|s| Ttl(Duration::from_secs(s)))
                    .map_err(|_| E::invalid_value(Unexpected::Other("a negative number"), &self))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> std::result::Result<Ttl, E> {
                // The text is never repeated in the error (it is input).
                humantime::parse_duration(text.trim())
                    .map(Ttl)
                    .map_err(|_| E::invalid_value(Unexpected::Other("text"), &self))
            }
        }

        d.deserialize_any(TtlVisitor)
    }
}

/// Body of `POST` [`TOKENS`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenCreateBody {
    /// A name for people.
    pub name: String,
    /// What the token may do.
    pub rules: Vec<RuleBody>,
    /// How long it lives; absent or `null`: until revoked (or its creator's expiry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Ttl>,
    /// Limits on model calls through the inference gateway (absent: unlimited).
    #[serde(default, skip_serializing_if = "LlmLimits::is_unlimited")]
    pub llm: LlmLimits,
}

impl TokenCreateBody {
    /// The body of `create`.
    pub fn from_create(create: &TokenCreate) -> Self {
        TokenCreateBody {
            name: create.name.clone(),
            rules: create.rules.iter().map(RuleBody::from).collect(),
            ttl: create.ttl.map(Ttl),
            llm: create.llm.clone(),
        }
    }

    /// The core request this body stands for: each capability name checked here (`invalid`,
    /// field `rules[i].capabilities[j]`); the rest is checked by vault-core.
    pub fn into_create(self) -> Result<TokenCreate> {
        let mut rules = Vec::with_capacity(self.rules.len());
        for (i, rule) in self.rules.into_iter().enumerate() {
            let mut capabilities = Vec::with_capacity(rule.capabilities.len());
            for (j, name) in rule.capabilities.iter().enumerate() {
                let cap = name.parse::<Capability>().map_err(|_| {
                    Error::invalid(
                        format!("rules[{i}].capabilities[{j}]"),
                        format!(
                            "unknown capability (known: {})",
                            Capability::ALL.map(Capability::as_str).join(", ")
                        ),
                    )
                })?;
                capabilities.push(cap);
            }
            rules.push(Rule {
                path: rule.path,
                capabilities,
            });
        }
        Ok(TokenCreate {
            name: self.name,
            rules,
            ttl: self.ttl.map(|t| t.0),
            llm: self.llm,
        })
    }
}

/// Query of `GET` [`TOKENS`]: the page.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenPageQuery {
    /// Page size (default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Continue after this token id (a previous page's `next`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl TokenPageQuery {
    /// The query of `page`.
    pub fn new(page: &PageRequest) -> Self {
        TokenPageQuery {
            limit: page.limit,
            after: page.after.clone(),
        }
    }

    /// The page this query asks for.
    pub fn page(self) -> PageRequest {
        PageRequest::new(self.limit, self.after)
    }
}

// ---- responses ----

/// A token as listed or looked up: never the token, never its hash.
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenInfoWire {
    /// When it was created (`null` for the root token).
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// When it stops working (`null`: never).
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// Public id (`tok_...`, or `root`).
    pub id: String,
    /// When it was last used, to the minute (`null`: never).
    #[serde(default)]
    pub last_used_at: Option<Timestamp>,
    /// Its name.
    pub name: String,
    /// Whether it was revoked.
    #[serde(default)]
    pub revoked: bool,
    /// Its rules.
    pub rules: Vec<Rule>,
    /// Its limits on model calls (absent: unlimited).
    #[serde(default, skip_serializing_if = "LlmLimits::is_unlimited")]
    pub llm: LlmLimits,
}

impl From<TokenInfo> for TokenInfoWire {
    fn from(t: TokenInfo) -> Self {
        TokenInfoWire {
            created_at: t.created_at,
            expires_at: t.expires_at,
            id: t.id,
            last_used_at: t.last_used_at,
            name: t.name,
            revoked: t.revoked,
            rules: t.rules,
            llm: t.llm,
        }
    }
}

impl From<TokenInfoWire> for TokenInfo {
    fn from(t: TokenInfoWire) -> Self {
        TokenInfo {
            id: t.id,
            name: t.name,
            rules: t.rules,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked: t.revoked,
            llm: t.llm,
        }
    }
}

/// Body of a successful `POST` [`TOKENS`] (201): the token, shown this once, and its info.
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenCreatedReply<'a> {
    /// When it was created.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// When it stops working (`null`: never).
    pub expires_at: Option<Timestamp>,
    /// Its public id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its rules.
    pub rules: Vec<Rule>,
    /// Its limits on model calls (absent: unlimited).
    #[serde(default, skip_serializing_if = "LlmLimits::is_unlimited")]
    pub llm: LlmLimits,
    /// Always `true`.
    pub success: bool,
    /// The token. The server keeps only its hash: lose it and create another.
    pub token: Cow<'a, str>,
}

/// Body of a successful `GET` [`TOKEN_SELF`]: the caller's own info, at the top level.
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenSelfReply {
    /// The caller's info.
    #[serde(flatten)]
    pub info: TokenInfoWire,
    /// Always `true`.
    pub success: bool,
}

/// A token a listing found but could not read (it failed its integrity check).
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenUnreadableWire {
    /// The error code reading it gave (`integrity`).
    pub error: String,
    /// Its id.
    pub id: String,
}

/// Body of a successful `GET` [`TOKENS`].
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenListReply {
    /// Present when more tokens follow: the `after` of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Always `true`.
    pub success: bool,
    /// The tokens of this page, ordered by id.
    pub tokens: Vec<TokenInfoWire>,
    /// Tokens of this page that could not be read; present only when there are some.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<TokenUnreadableWire>,
}

impl TokenListReply {
    /// The body answering `page`.
    pub fn new(page: Page<TokenInfo>) -> Self {
        TokenListReply {
            next: page.next,
            success: true,
            tokens: page.items.into_iter().map(Into::into).collect(),
            unreadable: page
                .unreadable
                .into_iter()
                .map(|u| TokenUnreadableWire {
                    error: u.error.code().to_string(),
                    id: u.name,
                })
                .collect(),
        }
    }

    /// The page this body stands for.
    pub fn into_page(self) -> Page<TokenInfo> {
        Page {
            items: self.tokens.into_iter().map(Into::into).collect(),
            unreadable: self
                .unreadable
                .into_iter()
                .map(|u| super::unreadable(u.id, &u.error))
                .collect(),
            next: self.next,
            revision: None,
        }
    }
}

/// Body of a successful `DELETE` [`TOKEN`].
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenRevokedReply {
    /// Always `revoked`.
    pub action: String,
    /// The token revoked.
    pub id: String,
    /// Always `true`.
    pub success: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ttl(json: &str) -> std::result::Result<Ttl, String> {
        serde_json::from_str::<Ttl>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn ttl_is_a_humantime_string_or_seconds_and_round_trips() {
        assert_eq!(ttl(r#""30d""#), Ok(Ttl(Duration::from_secs(30 * 86_400))));
        assert_eq!(ttl(r#""1h 30m""#), Ok(Ttl(Duration::from_secs(5400))));
        assert_eq!(ttl("3600"), Ok(Ttl(Duration::from_secs(3600))));
        for bad in [r#""soon-planted""#, "-5", "1.5", "true", r#""""#] {
            let e = ttl(bad).expect_err(bad);
            assert!(e.contains("expected a duration such as"), "{bad}: {e}");
            assert!(!e.contains("planted"), "{e}");
        }
        let t = Ttl(Duration::from_millis(90_061_500));
        let text = serde_json::to_string(&t).expect("json");
        assert_eq!(text, r#""1day 1h 1m 1s 500ms""#);
        assert_eq!(ttl(&text), Ok(t));
    }

    #[test]
    fn unknown_capabilities_name_their_place() {
        let body: TokenCreateBody = serde_json::from_str(
            r#"{"name":"n","rules":[{"path":"a","capabilities":["read"]},
                {"path":"b","capabilities":["list","sudo"]}]}"#,
        )
        .expect("parse");
        let e = body.into_create().expect_err("sudo");
        assert_eq!(e.field(), Some("rules[1].capabilities[1]"));
        assert!(
            e.to_string()
                .contains("known: read, write, delete, list, admin, propose, execute, override")
        );
    }

    #[test]
    fn a_create_body_round_trips() {
        let create = TokenCreate {
            name: "scanner".into(),
            rules: vec![Rule {
                path: "credentials/fx/*".into(),
                capabilities: vec![Capability::Read, Capability::List],
            }],
            ttl: Some(Duration::from_secs(60)),
            llm: Default::default(),
        };
        let json = serde_json::to_string(&TokenCreateBody::from_create(&create)).expect("json");
        assert_eq!(
            json,
            r#"{"name":"scanner","rules":[{"path":"credentials/fx/*","capabilities":["read","list"]}],"ttl":"1m"}"#
        );
        let back: TokenCreateBody = serde_json::from_str(&json).expect("parse");
        let back = back.into_create().expect("valid");
        assert_eq!(
            (back.name, back.rules, back.ttl),
            (create.name, create.rules, create.ttl)
        );
    }
}
