//! The `vault-http token ...` and `audit ...` commands: token management and audit checks
//! against a running server (or, for `audit verify --file`, offline), the server given by
//! `VAULT_ADDR` (default `http://127.0.0.1:8000`) and `VAULT_TOKEN`, as the official Vault CLI
//! takes them, through the remote client ([`RemoteVault`]). Each command returns the text to
//! print on stdout; the binary prints an error as one line on stderr.

use std::time::Duration;

use vault_client::{ClientOptions, RemoteVault};
use vault_core::crypto::SecretString;
use vault_core::prelude::*;
use vault_core::{Capability, Error, PageRequest, Result, Rule, TokenCreate, TokenInfo};

/// Environment variable with the server's base URL.
pub const ADDR_ENV: &str = "VAULT_ADDR";
/// The base URL when [`ADDR_ENV`] is unset.
pub const DEFAULT_ADDR: &str = "http://127.0.0.1:8000";
/// Environment variable with the token the commands authenticate with (the root token or a
/// `vault_sk_` token).
pub const CLIENT_TOKEN_ENV: &str = "VAULT_TOKEN";

/// A client of the server named by the environment: [`ADDR_ENV`] (or [`DEFAULT_ADDR`]) with
/// the token of [`CLIENT_TOKEN_ENV`] (`invalid` when unset or empty).
pub fn client_from_env() -> Result<RemoteVault> {
    let addr = std::env::var(ADDR_ENV)
        .ok()
        .filter(|a| !a.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ADDR.to_string());
    let token = std::env::var(CLIENT_TOKEN_ENV)
        .ok()
        .map(|t| SecretString::new(t.trim().to_string()))
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::invalid(
                CLIENT_TOKEN_ENV,
                "is not set: export the token to act with (the server's service token, or a \
                 vault_sk_ token)",
            )
        })?;
    RemoteVault::new(
        &addr,
        ClientOptions {
            token: Some(token),
            ..ClientOptions::default()
        },
    )
}

/// Parses `--allow cap[,cap...]:path` (e.g. `read,list:configs/fxshinobi/*`) into a rule;
/// `invalid` (field `--allow`) when it is not of that form or names an unknown capability.
/// The path's glob is checked by vault-core when the token is created.
pub fn parse_allow(spec: &str) -> Result<Rule> {
    let bad = |why: &str| Error::invalid("--allow", why.to_string());
    // Capabilities never contain ':', paths may: split at the first one.
    let (caps, path) = spec.split_once(':').ok_or_else(|| {
        bad("expected CAPABILITY[,CAPABILITY...]:PATH, e.g. read:credentials/svc/*")
    })?;
    if path.is_empty() {
        return Err(bad("the path after ':' is empty"));
    }
    let capabilities = caps
        .split(',')
        .map(|c| {
            c.trim().parse::<Capability>().map_err(|_| {
                bad(&format!(
                    "unknown capability (known: {})",
                    Capability::ALL.map(Capability::as_str).join(", ")
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Rule {
        path: path.to_string(),
        capabilities,
    })
}

/// A rule in the form `--allow` takes: `read,list:configs/fxshinobi/*`.
pub fn format_rule(rule: &Rule) -> String {
    let caps: Vec<&str> = rule.capabilities.iter().map(|c| c.as_str()).collect();
    format!("{}:{}", caps.join(","), rule.path)
}

/// Parses `--ttl`: a duration such as `30d`, `12h`, `1h 30m`, or a number of seconds.
pub fn parse_ttl(text: &str) -> Result<Duration> {
    let text = text.trim();
    text.parse::<u64>()
        .map(Duration::from_secs)
        .or_else(|_| humantime::parse_duration(text))
        .map_err(|_| {
            Error::invalid(
                "--ttl",
                "expected a duration such as 30d, 12h or 90m, or a number of seconds",
            )
        })
}

fn or_never(t: Option<vault_core::Timestamp>) -> String {
    t.map_or_else(|| "never".to_string(), |t| t.to_string())
}

/// `token create`: creates a token and returns its lines, the token included (shown once).
pub async fn create(
    vault: &dyn VaultApi,
    name: String,
    allow: &[String],
    ttl: Option<&str>,
) -> Result<String> {
    let rules = allow
        .iter()
        .map(|a| parse_allow(a))
        .collect::<Result<Vec<_>>>()?;
    let ttl = ttl.map(parse_ttl).transpose()?;
    let created = vault
        .tokens()
        .create(TokenCreate {
            name,
            rules,
            ttl,
            llm: Default::default(),
        })
        .await?;
    let mut out = format!(
        "token: {}\n(shown only now: store it; the server keeps only its hash)\n",
        created.token.expose_secret()
    );
    out.push_str(&info_lines(&created.info));
    Ok(out)
}

fn info_lines(info: &TokenInfo) -> String {
    let mut out = format!(
        "id: {}\nname: {}\nexpires_at: {}\n",
        info.id,
        info.name,
        or_never(info.expires_at)
    );
    for rule in &info.rules {
        out.push_str(&format!("allow: {}\n", format_rule(rule)));
    }
    out
}

/// `token list`: every token (all pages), one tab-separated line each, never a token.
pub async fn list(vault: &dyn VaultApi) -> Result<String> {
    let mut out = String::from("ID\tNAME\tEXPIRES_AT\tLAST_USED_AT\tREVOKED\tALLOW\n");
    let mut after = None;
    loop {
        let page = vault.tokens().list(PageRequest::new(None, after)).await?;
        for t in page.items.iter() {
            let allow: Vec<String> = t.rules.iter().map(format_rule).collect();
            out.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\n",
                t.id,
                t.name,
                or_never(t.expires_at),
                or_never(t.last_used_at),
                if t.revoked { "yes" } else { "no" },
                allow.join(" ")
            ));
        }
        for u in &page.unreadable {
            out.push_str(&format!("{}\t(unreadable: {})\n", u.name, u.error.code()));
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(out),
        }
    }
}

/// `token revoke ID`.
pub async fn revoke(vault: &dyn VaultApi, id: &str) -> Result<String> {
    let r = vault.tokens().revoke(id).await?;
    Ok(format!("revoked {}\n", r.id))
}

/// `token whoami`: the info of the token in use.
pub async fn whoami(vault: &dyn VaultApi) -> Result<String> {
    let info = vault.tokens().get_self().await?;
    Ok(info_lines(&info))
}

/// What an audit check prints, and whether the log is whole.
pub fn verify_text(report: &vault_core::VerifyReport) -> (String, bool) {
    match &report.first_bad {
        None if report.valid => (format!("valid: {} entries\n", report.entries), true),
        None => ("invalid\n".to_string(), false),
        Some(bad) => {
            let place = bad.line.map_or_else(String::new, |l| format!("line {l}: "));
            let problem = serde_json::to_value(bad.problem)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            (
                format!(
                    "invalid: {place}{problem}: {} (after {} entries checked)\n",
                    bad.reason, report.entries
                ),
                false,
            )
        }
    }
}

/// `audit verify --file FILE`: checks a JSON Lines export offline.
pub fn audit_verify_file(path: &std::path::Path) -> Result<(String, bool)> {
    let file = std::fs::File::open(path)
        .map_err(|e| Error::invalid("--file", format!("cannot be opened: {}", e.kind())))?;
    let report = vault_core::audit::verify_jsonl(std::io::BufReader::new(file))?;
    Ok(verify_text(&report))
}

/// `audit verify`: the server checks its own log.
pub async fn audit_verify(vault: &dyn VaultApi) -> Result<(String, bool)> {
    let report = vault.audit().verify().await?;
    Ok(verify_text(&report))
}

/// `migrate --from sled:DIR --to URL`: copies the vault of data directory DIR into the empty
/// PostgreSQL database at URL (default: `VAULT_STORE_URL`), with a progress line on stderr,
/// then checks the copy record by record; returns the summary to print. The credential value
/// keys of DIR's key file move into the database sealed, which takes the vault's root key:
/// `VVAULT_ENCRYPTION_KEY`, else DIR's dev-mode key file.
pub async fn migrate(from: &str, to: Option<String>) -> Result<String> {
    use std::io::Write as _;
    let dir = from.strip_prefix("sled:").ok_or_else(|| {
        Error::invalid(
            "--from",
            "expected sled:DIR, the data directory of serve --data DIR",
        )
    })?;
    let to = to
        .or_else(|| std::env::var(crate::server::startup::STORE_ENV).ok())
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| Error::invalid("--to", "give --to postgres://... or VAULT_STORE_URL"))?;
    let key = crate::server::startup::env_with_alias(crate::server::startup::KEY_ENV)?
        .map(|k| vault_core::crypto::RootKeySource::parse(k.expose_secret()))
        .transpose()?;
    let target = vault_core::store::PgStore::open(to.trim()).await?;
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut last = 0;
    // Fails while a server has the directory open (sled's lock).
    let dir_path = std::path::Path::new(dir);
    let copied = vault_core::data_dir::copy_dir_store(dir_path, key, &target, |done, total| {
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        let bar = "#".repeat(usize::try_from(pct / 4).unwrap_or(25));
        let mut err = std::io::stderr().lock();
        if tty {
            let _ = write!(err, "\rcopying [{bar:<25}] {done}/{total} records ({pct}%)");
        } else if pct >= last + 10 || done == total {
            last = pct;
            let _ = writeln!(err, "copying: {done}/{total} records ({pct}%)");
        }
        let _ = err.flush();
    })
    .await;
    if tty {
        eprintln!();
    }
    let copied = copied?;
    target.close();
    let records = copied.copied.records;
    let mut out = format!(
        "migrated {records} records ({} bytes) from {dir} to PostgreSQL\n",
        copied.copied.bytes
    );
    if copied.copied.added > 0 {
        out.push_str(&format!(
            "moved {} credential value keys from {dir}/{} into the database, sealed; {} keys of \
             destroyed versions stay erased (the file is left as it is: destroy it once the \
             database serves)\n",
            copied.value_keys,
            vault_core::data_dir::VALUE_KEYS_FILE,
            copied.erased_value_keys
        ));
    }
    out.push_str(&format!(
        "verified: the database holds exactly those {records} records{}, still encrypted\n",
        if copied.copied.added > 0 {
            format!(
                " and the {} added ({} value keys and the mark saying it holds them)",
                copied.copied.added, copied.value_keys
            )
        } else {
            String::new()
        }
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_takes_capabilities_then_the_path() {
        let r = parse_allow("read:credentials/fxshinobi/BITVAVO_READONLY_*").expect("valid");
        assert_eq!(r.path, "credentials/fxshinobi/BITVAVO_READONLY_*");
        assert_eq!(r.capabilities, vec![Capability::Read]);
        let r = parse_allow("read,list:configs/svc:x/*").expect("valid");
        assert_eq!(r.capabilities, vec![Capability::Read, Capability::List]);
        assert_eq!(r.path, "configs/svc:x/*", "only the first ':' splits");
        assert_eq!(format_rule(&r), "read,list:configs/svc:x/*");
        for bad in [
            "credentials/x",
            "sudo:credentials/x",
            "read:",
            "read,,list:a",
            ":a",
        ] {
            let e = parse_allow(bad).expect_err(bad);
            assert_eq!(e.field(), Some("--allow"), "{bad}");
        }
    }

    #[test]
    fn ttl_is_a_duration_or_seconds() {
        assert_eq!(
            parse_ttl("30d").expect("30d"),
            Duration::from_secs(30 * 86_400)
        );
        assert_eq!(parse_ttl("90").expect("90"), Duration::from_secs(90));
        assert_eq!(parse_ttl("soon").expect_err("soon").field(), Some("--ttl"));
    }
}
