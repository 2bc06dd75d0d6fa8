//! `vault.Tokens` (the `tokens` attribute of a vault) and its records: `TokenCreated` (with the
//! token, shown once), `TokenInfo` (never the token) and `TokenRevoked`.
//!
//! Rules cross the boundary as plain dicts, `{"path": <glob>, "capabilities": [<name>, ...]}`,
//! in and out. Their shape is checked here (a `TypeError` for a wrong type, `InvalidInput` naming
//! `rules[i]...` for a missing or unknown key); capability names and everything else are checked
//! by the same code the server uses (`TokenCreateBody::into_create`, then vault-core).

use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use vault_client::wire::service_api::{RuleBody, TokenCreateBody, Ttl};
use vault_core::crypto::SecretString;
use vault_core::{
    Error, PageRequest, Rule, TokenCreated as CoreCreated, TokenInfo as CoreInfo,
    TokenRevoked as CoreRevoked,
};

use crate::error::check;
use crate::page::new_page;
use crate::runtime::block_on;
use crate::vault::{Shared, api};

/// What `ttl` may be, for the error that refuses anything else.
const TTL_EXPECTED: &str =
    "must be a positive number of seconds, a datetime.timedelta, or a duration such as '30d'";

/// The tokens of a vault: `v.tokens`.
#[pyclass(module = "vault", frozen)]
pub struct Tokens {
    shared: Arc<Shared>,
}

impl Tokens {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Tokens { shared }
    }
}

#[pymethods]
impl Tokens {
    /// Creates a token named `name` allowed what `rules` say (a list of
    /// `{"path": <glob>, "capabilities": [...]}` dicts; deny by default). `ttl`: seconds (int or
    /// float), a `datetime.timedelta`, or a duration string such as `"30d"` or `"1h 30m"`;
    /// `None`: until revoked. The token is in the result only: it is never shown again.
    ///
    /// Needs `admin` on `tokens/*`; a token creates only tokens whose rules are within its own
    /// (`Forbidden` naming the first rule that is not), expiring no later than itself.
    #[pyo3(signature = (name, rules, ttl=None))]
    fn create(
        &self,
        py: Python<'_>,
        name: String,
        rules: &Bound<'_, PyAny>,
        ttl: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<TokenCreated> {
        let rules = rules_in(rules)?;
        let ttl = ttl_in(ttl)?;
        let body = TokenCreateBody {
            name,
            rules,
            ttl: None,
            llm: Default::default(),
        };
        let mut create = check(py, body.into_create())?;
        create.ttl = ttl;
        let api = api(py, &self.shared)?;
        let created = block_on(py, async move { api.tokens().create(create).await })?;
        Ok(TokenCreated::from(check(py, created)?))
    }

    /// One page of the tokens, ordered by id, never showing a token or its hash: at most
    /// `limit` (default 100, at most 1000) whose ids sort after `after` (a previous page's
    /// `next`). A token sees only the tokens it may manage (`admin` on `tokens/<id>`). Returns a
    /// `vault.Page` of `TokenInfo`.
    #[pyo3(signature = (*, limit=None, after=None))]
    fn list<'py>(
        &self,
        py: Python<'py>,
        limit: Option<usize>,
        after: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let api = api(py, &self.shared)?;
        let page = PageRequest::new(limit, after);
        let listed = block_on(py, async move { api.tokens().list(page).await })?;
        new_page(py, None, check(py, listed)?, TokenInfo::from)
    }

    /// Revokes token `id` (`tok_...`): it is refused from its next call, on every surface.
    /// Revoking a revoked token is not an error; `NotFound` when there is no such token.
    fn revoke(&self, py: Python<'_>, id: String) -> PyResult<TokenRevoked> {
        let api = api(py, &self.shared)?;
        let done = block_on(py, async move { api.tokens().revoke(&id).await })?;
        Ok(TokenRevoked::from(check(py, done)?))
    }

    /// The caller's own token: id, name, rules, times (never the token). An embedded vault
    /// opened without `token=` is `embedded`, remote with the service token `root`, both
    /// allowed everything.
    #[pyo3(name = "self")]
    fn self_info(&self, py: Python<'_>) -> PyResult<TokenInfo> {
        let api = api(py, &self.shared)?;
        let me = block_on(py, async move { api.tokens().get_self().await })?;
        Ok(TokenInfo::from(check(py, me)?))
    }

    fn __repr__(&self) -> &'static str {
        "<vault tokens>"
    }
}

/// The `rules` argument as wire rule bodies: a list (or tuple) of dicts with exactly the keys
/// `path` (a str) and `capabilities` (a list or tuple of str).
fn rules_in(rules: &Bound<'_, PyAny>) -> PyResult<Vec<RuleBody>> {
    let py = rules.py();
    let items: Vec<Bound<'_, PyAny>> = if let Ok(l) = rules.cast::<PyList>() {
        l.iter().collect()
    } else if let Ok(t) = rules.cast::<PyTuple>() {
        t.iter().collect()
    } else {
        return Err(PyTypeError::new_err(format!(
            "rules must be a list of {{'path': ..., 'capabilities': [...]}} dicts, not {}",
            type_name(rules)
        )));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Ok(rule) = item.cast::<PyDict>() else {
            return Err(PyTypeError::new_err(format!(
                "rules[{i}] must be a dict, not {}",
                type_name(item)
            )));
        };
        for key in rule.keys() {
            let known = key
                .cast::<PyString>()
                .ok()
                .and_then(|k| k.to_cow().ok().map(|k| k == "path" || k == "capabilities"))
                .unwrap_or(false);
            if !known {
                return check(
                    py,
                    Err(Error::invalid(
                        format!("rules[{i}]"),
                        "unknown key (known: path, capabilities)",
                    )),
                );
            }
        }
        let required = |key: &str| -> PyResult<Bound<'_, PyAny>> {
            match rule.get_item(key)? {
                Some(v) => Ok(v),
                None => check(
                    py,
                    Err(Error::invalid(format!("rules[{i}].{key}"), "is required")),
                ),
            }
        };
        let path = required("path")?;
        let Ok(path) = path.cast::<PyString>() else {
            return Err(PyTypeError::new_err(format!(
                "rules[{i}].path must be a str, not {}",
                type_name(&path)
            )));
        };
        let caps = required("capabilities")?;
        let caps: Vec<Bound<'_, PyAny>> = if let Ok(l) = caps.cast::<PyList>() {
            l.iter().collect()
        } else if let Ok(t) = caps.cast::<PyTuple>() {
            t.iter().collect()
        } else {
            return Err(PyTypeError::new_err(format!(
                "rules[{i}].capabilities must be a list of str, not {}",
                type_name(&caps)
            )));
        };
        let mut capabilities = Vec::with_capacity(caps.len());
        for (j, cap) in caps.iter().enumerate() {
            let Ok(cap) = cap.cast::<PyString>() else {
                return Err(PyTypeError::new_err(format!(
                    "rules[{i}].capabilities[{j}] must be a str, not {}",
                    type_name(cap)
                )));
            };
            capabilities.push(cap.to_cow()?.into_owned());
        }
        out.push(RuleBody {
            path: path.to_cow()?.into_owned(),
            capabilities,
        });
    }
    Ok(out)
}

/// The `ttl` argument: `None`, seconds (int or float, not bool), a `timedelta`, or a duration
/// string parsed as the server parses the HTTP body's `ttl`. Its range is vault-core's rule.
fn ttl_in(ttl: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Duration>> {
    let Some(ttl) = ttl.filter(|t| !t.is_none()) else {
        return Ok(None);
    };
    let py = ttl.py();
    let refuse = || check(py, Err(Error::invalid("ttl", TTL_EXPECTED)));
    let seconds = if ttl.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(
            "ttl must be a number of seconds, not bool",
        ));
    } else if ttl.is_instance_of::<PyInt>() || ttl.is_instance_of::<PyFloat>() {
        ttl.extract::<f64>()?
    } else if ttl.is_instance(&py.import("datetime")?.getattr("timedelta")?)? {
        // Whole days and seconds, then the microseconds: exact for any timedelta (the datetime
        // C API is not part of the stable ABI, so read its attributes).
        let days: i64 = ttl.getattr("days")?.extract()?;
        let secs: i64 = ttl.getattr("seconds")?.extract()?;
        let micros: u64 = ttl.getattr("microseconds")?.extract()?;
        let Some(whole) = days
            .checked_mul(86_400)
            .and_then(|d| d.checked_add(secs))
            .and_then(|s| u64::try_from(s).ok())
        else {
            return refuse();
        };
        return Ok(Some(
            Duration::from_secs(whole) + Duration::from_micros(micros),
        ));
    } else if let Ok(text) = ttl.cast::<PyString>() {
        let text = text.to_cow()?.into_owned();
        return match serde_json::from_value::<Ttl>(serde_json::Value::String(text)) {
            Ok(t) => Ok(Some(t.0)),
            Err(_) => refuse(),
        };
    } else {
        return Err(PyTypeError::new_err(format!(
            "ttl must be seconds, a datetime.timedelta or a str, not {}",
            type_name(ttl)
        )));
    };
    match Duration::try_from_secs_f64(seconds) {
        Ok(d) => Ok(Some(d)),
        Err(_) => refuse(),
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "?".to_string(), |n| n.to_string())
}

/// Rules as Python sees them: a new list of `{"path", "capabilities"}` dicts.
fn rules_out<'py>(py: Python<'py>, rules: &[Rule]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for r in rules {
        let d = PyDict::new(py);
        d.set_item("path", &r.path)?;
        let caps: Vec<&str> = r.capabilities.iter().map(|c| c.as_str()).collect();
        d.set_item("capabilities", caps)?;
        list.append(d)?;
    }
    Ok(list)
}

fn ts(t: Option<vault_core::Timestamp>) -> Option<String> {
    t.map(|t| t.to_string())
}

fn quoted(s: Option<&str>) -> String {
    s.map_or_else(|| "None".to_string(), |s| format!("'{s}'"))
}

/// A token just created: the token itself (shown this once; `repr` shows `[REDACTED]`) and its
/// public info.
#[pyclass(module = "vault", frozen)]
pub struct TokenCreated {
    secret: SecretString,
    /// Its public id, `tok_...`: what `revoke` takes and the audit log records.
    #[pyo3(get)]
    id: String,
    /// The name it was given.
    #[pyo3(get)]
    name: String,
    /// When it was created (RFC 3339 UTC string).
    #[pyo3(get)]
    created_at: Option<String>,
    /// When it stops working (RFC 3339 UTC string), or `None`: never.
    #[pyo3(get)]
    expires_at: Option<String>,
    rule_list: Vec<Rule>,
}

impl From<CoreCreated> for TokenCreated {
    fn from(c: CoreCreated) -> Self {
        TokenCreated {
            secret: c.token,
            id: c.info.id,
            name: c.info.name,
            created_at: ts(c.info.created_at),
            expires_at: ts(c.info.expires_at),
            rule_list: c.info.rules,
        }
    }
}

#[pymethods]
impl TokenCreated {
    /// The token, `vault_sk_...`: give it to the service that will use it. The vault keeps only
    /// its hash; once read it is an ordinary Python `str` that cannot be wiped.
    #[getter]
    fn token(&self) -> &str {
        self.secret.expose_secret()
    }

    /// Its rules (a new list of dicts on each access).
    #[getter]
    fn rules<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        rules_out(py, &self.rule_list)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "TokenCreated(id='{}', name='{}', token=[REDACTED], rules={}, expires_at={})",
            self.id,
            self.name,
            self.rules(py)?.repr()?,
            quoted(self.expires_at.as_deref()),
        ))
    }
}

/// A token as listed or looked up: everything but the token (and its hash).
#[pyclass(module = "vault", frozen)]
pub struct TokenInfo {
    /// Public id: `tok_...`, or `root` / `embedded` for those callers.
    #[pyo3(get)]
    id: String,
    /// The name it was given.
    #[pyo3(get)]
    name: String,
    /// When it was created (RFC 3339 UTC string); `None` for root and embedded.
    #[pyo3(get)]
    created_at: Option<String>,
    /// When it stops working (RFC 3339 UTC string), or `None`: never.
    #[pyo3(get)]
    expires_at: Option<String>,
    /// When it was last used, to the minute (RFC 3339 UTC string), or `None`.
    #[pyo3(get)]
    last_used_at: Option<String>,
    /// Whether it was revoked.
    #[pyo3(get)]
    revoked: bool,
    rule_list: Vec<Rule>,
}

impl From<CoreInfo> for TokenInfo {
    fn from(i: CoreInfo) -> Self {
        TokenInfo {
            id: i.id,
            name: i.name,
            created_at: ts(i.created_at),
            expires_at: ts(i.expires_at),
            last_used_at: ts(i.last_used_at),
            revoked: i.revoked,
            rule_list: i.rules,
        }
    }
}

#[pymethods]
impl TokenInfo {
    /// Its rules (a new list of dicts on each access).
    #[getter]
    fn rules<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        rules_out(py, &self.rule_list)
    }

    /// Every field as a plain, JSON-able dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("id", &self.id)?;
        d.set_item("name", &self.name)?;
        d.set_item("rules", self.rules(py)?)?;
        d.set_item("created_at", &self.created_at)?;
        d.set_item("expires_at", &self.expires_at)?;
        d.set_item("last_used_at", &self.last_used_at)?;
        d.set_item("revoked", self.revoked)?;
        Ok(d)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "TokenInfo(id='{}', name='{}', rules={}, expires_at={}, revoked={})",
            self.id,
            self.name,
            self.rules(py)?.repr()?,
            quoted(self.expires_at.as_deref()),
            if self.revoked { "True" } else { "False" },
        ))
    }
}

/// The outcome of `tokens.revoke`.
#[pyclass(module = "vault", frozen)]
pub struct TokenRevoked {
    /// The token revoked.
    #[pyo3(get)]
    id: String,
}

impl From<CoreRevoked> for TokenRevoked {
    fn from(r: CoreRevoked) -> Self {
        TokenRevoked { id: r.id }
    }
}

#[pymethods]
impl TokenRevoked {
    fn __repr__(&self) -> String {
        format!("TokenRevoked(id='{}')", self.id)
    }
}
