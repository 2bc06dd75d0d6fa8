//! Scoped policies: a token's rules, and the one engine that decides what they allow.
//!
//! A rule is `{ "path": <glob>, "capabilities": [...] }`; a policy is a list of rules and
//! denies whatever no rule allows. Paths are resource paths (`credentials/<service>/<key>`,
//! `configs/<service>/<strategy_id>`, `tokens/<id>`, `audit`, and what later families add).
//! In a glob, `*` matches any run of characters within one segment and a segment `**` matches
//! any number of segments (none included). Capabilities are names
//! ([`Capability`](crate::Capability)); a family adds its own by adding a variant, the engine
//! does not change.

use serde::{Deserialize, Serialize};

use crate::context::Capability;
use crate::error::{Error, Result};

/// Most rules in one policy.
pub const MAX_RULES: usize = 64;
/// Longest rule path, in bytes.
pub const MAX_RULE_PATH_LEN: usize = 512;
/// Most segments in a rule path.
pub const MAX_RULE_SEGMENTS: usize = 16;

/// One rule: the capabilities it grants on the paths its glob matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A glob over resource paths (`*` within a segment, `**` across segments).
    pub path: String,
    /// What the rule allows there (`read`, `write`, `delete`, `list`, `admin`, ...).
    pub capabilities: Vec<Capability>,
}

/// A token's rules. Deny by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Policy {
    rules: Vec<Rule>,
}

/// A path segment as a matcher sees it: a concrete name, or "some name" (any one segment).
#[derive(Clone, Copy)]
enum Seg<'a> {
    Name(&'a str),
    AnyOne,
}

impl Policy {
    /// Checks `rules` (`invalid`, field `rules[i].path` / `rules[i].capabilities`, otherwise).
    pub fn new(rules: Vec<Rule>) -> Result<Policy> {
        if rules.len() > MAX_RULES {
            return Err(Error::invalid(
                "rules",
                format!("at most {MAX_RULES} rules"),
            ));
        }
        for (i, rule) in rules.iter().enumerate() {
            check_glob(&format!("rules[{i}].path"), &rule.path)?;
            if rule.capabilities.is_empty() {
                return Err(Error::invalid(
                    format!("rules[{i}].capabilities"),
                    "must name at least one capability",
                ));
            }
        }
        Ok(Policy { rules })
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether some rule grants `capability` on `path`. A path segment `*` (names never
    /// contain `*`) stands for "some name": `credentials/fx/*` asks whether the capability is
    /// granted on at least one path directly under `credentials/fx` (what listing it needs),
    /// `credentials/*/KEY` whether it is on `KEY` under at least one service.
    pub fn allows(&self, capability: Capability, path: &str) -> bool {
        let segs: Vec<Seg<'_>> = path
            .split('/')
            .map(|s| if s == "*" { Seg::AnyOne } else { Seg::Name(s) })
            .collect();
        self.rules.iter().any(|r| {
            r.capabilities.contains(&capability) && glob_matches(&glob_segments(&r.path), &segs)
        })
    }

    /// Checks that every rule of `other` is within this policy: each of its capabilities is
    /// granted by one rule of ours whose glob matches every path the other rule's glob does.
    /// `forbidden` naming the first rule that is not.
    pub fn check_covers(&self, other: &Policy) -> Result<()> {
        for (i, rule) in other.rules.iter().enumerate() {
            let child = glob_segments(&rule.path);
            for cap in &rule.capabilities {
                let covered = self.rules.iter().any(|mine| {
                    mine.capabilities.contains(cap)
                        && glob_covers(&glob_segments(&mine.path), &child)
                });
                if !covered {
                    return Err(Error::Forbidden(format!(
                        "rules[{i}] ({} on {}) is not within the creating token's own rules",
                        cap.as_str(),
                        rule.path
                    )));
                }
            }
        }
        Ok(())
    }
}

fn check_glob(field: &str, glob: &str) -> Result<()> {
    if glob.is_empty() || glob.len() > MAX_RULE_PATH_LEN {
        return Err(Error::invalid(
            field,
            format!("must be 1 to {MAX_RULE_PATH_LEN} characters"),
        ));
    }
    let segments: Vec<&str> = glob.split('/').collect();
    if segments.len() > MAX_RULE_SEGMENTS {
        return Err(Error::invalid(
            field,
            format!("at most {MAX_RULE_SEGMENTS} segments"),
        ));
    }
    for s in segments {
        let name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':');
        if s.is_empty() {
            return Err(Error::invalid(
                field,
                "has an empty segment ('//', or '/' at an end)",
            ));
        }
        if s.starts_with('.') {
            return Err(Error::invalid(field, "segments must not start with '.'"));
        }
        if s.contains("**") && s != "**" {
            return Err(Error::invalid(field, "'**' must be a whole segment"));
        }
        if !s.chars().all(|c| c == '*' || name_char(c)) {
            return Err(Error::invalid(
                field,
                "segments may contain only letters, digits, '_', '-', '.', ':' and '*'",
            ));
        }
    }
    Ok(())
}

fn glob_segments(glob: &str) -> Vec<&str> {
    glob.split('/').collect()
}

/// Whether the glob (segments) matches the path (segments).
fn glob_matches(glob: &[&str], path: &[Seg<'_>]) -> bool {
    match glob.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| glob_matches(rest, &path[skip..])),
        Some((pattern, rest)) => match path.split_first() {
            None => false,
            Some((Seg::AnyOne, more)) => glob_matches(rest, more),
            Some((Seg::Name(name), more)) => {
                segment_matches(pattern.as_bytes(), name.as_bytes()) && glob_matches(rest, more)
            }
        },
    }
}

/// Whether the parent glob matches every path the child glob matches. A child segment is
/// matched as text: names cannot contain `*`, so a parent `*` absorbing a child `*` is the
/// only way a child wildcard is covered, which makes this exact for single segments. A child
/// `**` is covered only by a parent `**`.
fn glob_covers(parent: &[&str], child: &[&str]) -> bool {
    match parent.split_first() {
        None => child.is_empty(),
        Some((&"**", rest)) => (0..=child.len()).any(|skip| glob_covers(rest, &child[skip..])),
        Some((pattern, rest)) => match child.split_first() {
            None => false,
            Some((&"**", _)) => false,
            Some((seg, more)) => {
                segment_matches(pattern.as_bytes(), seg.as_bytes()) && glob_covers(rest, more)
            }
        },
    }
}

/// `*`-wildcard match of one segment (iterative, with backtracking to the last `*`: linear in
/// practice, quadratic at worst on these short strings).
fn segment_matches(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(path: &str, caps: &[Capability]) -> Rule {
        Rule {
            path: path.into(),
            capabilities: caps.to_vec(),
        }
    }

    fn policy(rules: &[(&str, &[Capability])]) -> Policy {
        Policy::new(rules.iter().map(|(p, c)| rule(p, c)).collect()).expect("valid")
    }

    use Capability::{Admin, Delete, List, Read, Write};

    #[test]
    fn segment_wildcards() {
        for (p, t, want) in [
            ("*", "anything", true),
            ("*", "", true),
            ("BITVAVO_READONLY_*", "BITVAVO_READONLY_KEY", true),
            ("BITVAVO_READONLY_*", "BITVAVO_TRADE_KEY", false),
            ("*_KEY", "A_KEY", true),
            ("*_KEY", "A_KEYS", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbY", false),
            ("abc", "abc", true),
            ("abc", "abcd", false),
            ("a**", "abc", true),
        ] {
            assert_eq!(
                segment_matches(p.as_bytes(), t.as_bytes()),
                want,
                "{p} ~ {t}"
            );
        }
    }

    #[test]
    fn star_stays_in_its_segment_and_double_star_crosses() {
        let p = policy(&[
            ("credentials/fxshinobi/BITVAVO_READONLY_*", &[Read]),
            ("configs/**", &[Read, List]),
        ]);
        assert!(p.allows(Read, "credentials/fxshinobi/BITVAVO_READONLY_KEY"));
        assert!(!p.allows(Read, "credentials/fxshinobi/BITVAVO_TRADE_KEY"));
        assert!(!p.allows(Write, "credentials/fxshinobi/BITVAVO_READONLY_KEY"));
        assert!(!p.allows(Read, "credentials/other/BITVAVO_READONLY_KEY"));
        assert!(!p.allows(Read, "credentials/fxshinobi/BITVAVO_READONLY_KEY/x"));
        assert!(p.allows(Read, "configs/a/b"));
        assert!(p.allows(List, "configs/a"));
        assert!(p.allows(Read, "configs"), "`**` matches no segment too");
        let star = policy(&[("credentials/*", &[Read])]);
        assert!(
            !star.allows(Read, "credentials/s/k"),
            "`*` does not cross '/'"
        );
        assert!(policy(&[("**", &[Admin])]).allows(Admin, "tokens/tok_1"));
        assert!(policy(&[("**/KEY", &[Delete])]).allows(Delete, "credentials/s/KEY"));
        assert!(
            !Policy::default().allows(Read, "credentials/s/k"),
            "deny by default"
        );
    }

    #[test]
    fn a_star_segment_in_a_path_asks_about_some_name() {
        let p = policy(&[("credentials/fxshinobi/BITVAVO_*", &[List, Read])]);
        assert!(p.allows(List, "credentials/fxshinobi/*"));
        assert!(!p.allows(List, "credentials/other/*"));
        assert!(!p.allows(Read, "configs/fxshinobi/*"));
        assert!(
            p.allows(Read, "credentials/*/BITVAVO_KEY"),
            "under some service"
        );
        assert!(!p.allows(Read, "credentials/*/OTHER"));
        let deep = policy(&[("configs/**", &[List])]);
        assert!(deep.allows(List, "configs/any/*"));
        let exact = policy(&[("configs/fx", &[List])]);
        assert!(!exact.allows(List, "configs/fx/*"), "nothing under it");
    }

    #[test]
    fn coverage_is_exact_for_the_examples_and_refuses_broader_rules() {
        let parent = policy(&[
            ("credentials/fxshinobi/BITVAVO_*", &[Read, List]),
            ("tokens/*", &[Admin]),
        ]);
        for (child, ok) in [
            ("credentials/fxshinobi/BITVAVO_READONLY_*", true),
            ("credentials/fxshinobi/BITVAVO_KEY", true),
            ("credentials/fxshinobi/BITVAVO_*", true),
            ("credentials/fxshinobi/*", false),
            ("credentials/fxshinobi/**", false),
            ("credentials/*/BITVAVO_KEY", false),
            ("credentials/fxshinobi/*BITVAVO_", false),
            ("credentials/fxshinobi/BITVAVO_*/x", false),
        ] {
            let c = policy(&[(child, &[Read])]);
            assert_eq!(parent.check_covers(&c).is_ok(), ok, "{child}");
        }
        let more_caps = policy(&[("credentials/fxshinobi/BITVAVO_KEY", &[Read, Write])]);
        let err = parent
            .check_covers(&more_caps)
            .expect_err("write not granted");
        assert_eq!(err.code(), "forbidden");
        assert!(
            err.to_string()
                .contains("rules[0] (write on credentials/fxshinobi/BITVAVO_KEY)")
        );
        let all = policy(&[("**", &[Read])]);
        assert!(all.check_covers(&policy(&[("a/**/b", &[Read])])).is_ok());
        assert!(
            policy(&[("a/**", &[Read])])
                .check_covers(&policy(&[("a/*/**", &[Read])]))
                .is_ok()
        );
        assert!(
            policy(&[("a/*", &[Read])])
                .check_covers(&policy(&[("a/**", &[Read])]))
                .is_err()
        );
    }

    #[test]
    fn bad_rules_are_invalid_naming_the_field() {
        for (path, why) in [
            ("", "1 to"),
            ("a//b", "empty segment"),
            ("a/", "empty segment"),
            ("a/b**", "whole segment"),
            ("a/../b", "'.'"),
            ("a/b c", "letters"),
        ] {
            let e = Policy::new(vec![rule("ok", &[Read]), rule(path, &[Read])]).expect_err(path);
            assert_eq!(e.field(), Some("rules[1].path"), "{path}");
            assert!(e.to_string().contains(why), "{path}: {e}");
        }
        let e = Policy::new(vec![rule("a", &[])]).expect_err("no caps");
        assert_eq!(e.field(), Some("rules[0].capabilities"));
        let many = (0..=MAX_RULES)
            .map(|i| rule(&format!("a{i}"), &[Read]))
            .collect();
        assert_eq!(
            Policy::new(many).expect_err("too many").field(),
            Some("rules")
        );
    }
}
