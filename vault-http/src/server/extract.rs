//! Request extractors shared by every dialect: [`JsonBody`], [`ApiQuery`], [`ApiPath`]. Each
//! rejection is a core error (`invalid` naming the offending field and never echoing a
//! submitted value, or `payload_too_large`) that the dialect `D` renders in its own format.

use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use vault_core::Error;

use crate::dialects::Dialect;

/// Largest accepted request body: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How much of an oversized body is read and discarded before answering 413.
pub const DRAIN_LIMIT_BYTES: usize = 8 * MAX_BODY_BYTES;
/// Time a client has to send a whole body when the server set no [`BodyTimeout`].
pub const DEFAULT_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The body timeout of this request's connection (a request extension set by the server).
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub std::time::Duration);

/// A JSON request body, buffered up to `LIMIT` bytes ([`MAX_BODY_BYTES`] unless a route needs
/// more) and parsed with field paths; the buffer is wiped after parsing (it may hold a secret
/// value).
#[derive(Debug)]
pub struct JsonBody<T, D, const LIMIT: usize = MAX_BODY_BYTES>(pub T, pub PhantomData<D>);

impl<S, T, D, const LIMIT: usize> FromRequest<S> for JsonBody<T, D, LIMIT>
where
    S: Send + Sync,
    T: DeserializeOwned,
    D: Dialect,
{
    type Rejection = D::Error;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = zeroize::Zeroizing::new(read_body(req, LIMIT).await?);
        Ok(JsonBody(parse_json(&bytes)?, PhantomData))
    }
}

/// A raw request body (any content type, e.g. `application/octet-stream`) of at most `LIMIT`
/// bytes, for the one route that takes one (an identity file); wiped when dropped.
#[derive(Debug)]
pub struct RawBody<D, const LIMIT: usize>(pub zeroize::Zeroizing<Vec<u8>>, pub PhantomData<D>);

impl<S, D, const LIMIT: usize> FromRequest<S> for RawBody<D, LIMIT>
where
    S: Send + Sync,
    D: Dialect,
{
    type Rejection = D::Error;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = zeroize::Zeroizing::new(read_body(req, LIMIT).await?);
        Ok(RawBody(bytes, PhantomData))
    }
}

/// Reads a request body of at most `limit` bytes within the connection's [`BodyTimeout`] (a
/// body that does not arrive in time is `invalid`, field `body`).
async fn read_body(req: Request, limit_bytes: usize) -> Result<Vec<u8>, Error> {
    let limit = req
        .extensions()
        .get::<BodyTimeout>()
        .map_or(DEFAULT_BODY_TIMEOUT, |t| t.0);
    match tokio::time::timeout(limit, read_body_untimed(req, limit_bytes)).await {
        Ok(read) => read,
        Err(_) => Err(Error::invalid(
            "body",
            format!(
                "was not received within {} (the declared length was not sent)",
                humantime::format_duration(limit)
            ),
        )),
    }
}

/// Reads a request body of at most `max` bytes. An oversized body is still read (and
/// discarded) up to 7 MiB past the limit (to [`DRAIN_LIMIT_BYTES`] for the default limit) so
/// the client, still sending, receives the 413 instead of a connection reset; a declared
/// length over that is refused at once.
async fn read_body_untimed(req: Request, max: usize) -> Result<Vec<u8>, Error> {
    use http_body_util::BodyExt as _;
    let too_large = || Error::PayloadTooLarge(format!("request body is larger than {max} bytes"));
    let drain = max.saturating_add(DRAIN_LIMIT_BYTES - MAX_BODY_BYTES);
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > drain as u64) {
        return Err(too_large());
    }
    let mut body = req.into_body();
    let mut buf = Vec::new();
    let mut seen: usize = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Error::invalid("body", "could not be read"))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen > drain {
            return Err(too_large());
        }
        if seen <= max {
            buf.extend_from_slice(&data);
        } else {
            zeroize::Zeroize::zeroize(&mut buf);
            buf = Vec::new();
        }
    }
    if seen > max {
        return Err(too_large());
    }
    Ok(buf)
}

/// Parses a JSON document as `T`; errors name the field (`invalid enabled: expected a
/// boolean`) and never contain a submitted value.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => data_error(&path, &inner.to_string()),
            serde_json::error::Category::Eof if bytes.iter().all(u8::is_ascii_whitespace) => {
                Error::invalid("body", "expected a JSON object, got an empty body")
            }
            _ => malformed(&inner),
        }
    })?;
    de.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

fn malformed(e: &serde_json::Error) -> Error {
    Error::invalid(
        "body",
        format!("malformed JSON at line {} column {}", e.line(), e.column()),
    )
}

/// The query string of a request, parsed as `T` (unknown parameters are ignored unless `T`
/// denies them).
#[derive(Debug)]
pub struct ApiQuery<T, D>(pub T, pub PhantomData<D>);

impl<S, T, D> FromRequestParts<S> for ApiQuery<T, D>
where
    S: Send + Sync,
    T: DeserializeOwned,
    D: Dialect,
{
    type Rejection = D::Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        Ok(ApiQuery(parse_query(query)?, PhantomData))
    }
}

/// Parses a query string as `T`, with the same error rules as [`parse_json`].
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, Error> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.into_inner().to_string();
        if msg.contains("invalid digit") || msg.contains("number too large") {
            Error::invalid(field_name(&path), "expected a non-negative integer")
        } else {
            data_error(&path, &msg)
        }
    })
}

/// Path parameters, parsed as `T`; a rejection is `invalid`.
#[derive(Debug)]
pub struct ApiPath<T, D>(pub T, pub PhantomData<D>);

impl<S, T, D> FromRequestParts<S> for ApiPath<T, D>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
    D: Dialect,
{
    type Rejection = D::Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let e = match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => return Ok(ApiPath(v, PhantomData)),
            Err(axum::extract::rejection::PathRejection::FailedToDeserializePathParams(e)) => {
                use axum::extract::path::ErrorKind;
                match e.kind() {
                    ErrorKind::InvalidUtf8InPathParam { key } => {
                        Error::invalid(safe_name(key).unwrap_or("path"), "must be valid UTF-8")
                    }
                    _ => Error::invalid("path", "could not be decoded"),
                }
            }
            Err(_) => Error::invalid("path", "could not be decoded"),
        };
        Err(e.into())
    }
}

/// A user-supplied field name, if it is short and plain enough to repeat in a message.
fn safe_name(name: &str) -> Option<&str> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '[' | ']'));
    ok.then_some(name)
}

/// The field a serde path names: `"."` (the root) is the whole body.
fn field_name(path: &str) -> String {
    if path == "." || path.is_empty() {
        "body".into()
    } else {
        safe_name(path).unwrap_or("body").to_string()
    }
}

fn join(path: &str, name: &str) -> String {
    let name = safe_name(name).unwrap_or("(unnamed)");
    if path == "." || path.is_empty() {
        name.to_string()
    } else {
        format!("{}.{name}", field_name(path))
    }
}

/// The text between a serde message's leading backtick-quoted name and `terminators`.
fn quoted_name<'a>(rest: &'a str, terminators: &[&str]) -> &'a str {
    for t in terminators {
        if let Some(i) = rest.rfind(t) {
            return &rest[..i];
        }
    }
    rest.strip_suffix('`').unwrap_or(rest)
}

/// Turns a serde data error into an `invalid` error naming the field, keeping only the
/// `expected ...` part of the message (the part serde takes from the type, never the input).
fn data_error(path: &str, message: &str) -> Error {
    // serde_json appends " at line L column C".
    let msg = match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        // serde_path_to_error already ends the path with the unknown field's name.
        let field = if path == "." || path.is_empty() {
            let name = quoted_name(rest, &["`, expected", "`, there are no fields"]);
            join(path, name)
        } else {
            field_name(path)
        };
        return Error::invalid(field, "unknown field");
    }
    if let Some(rest) = msg.strip_prefix("missing field `") {
        return Error::invalid(join(path, quoted_name(rest, &[])), "is required");
    }
    if let Some(rest) = msg.strip_prefix("duplicate field `") {
        return Error::invalid(join(path, quoted_name(rest, &[])), "appears more than once");
    }
    let field = field_name(path);
    let reason = match msg.rfind(", expected ") {
        Some(i) => describe_expected(&msg[i + ", expected ".len()..]),
        None => "has an invalid value".to_string(),
    };
    Error::invalid(field, reason)
}

fn describe_expected(expected: &str) -> String {
    let plain = match expected {
        e if e.starts_with("struct ") || e == "a map" => "a JSON object",
        "a sequence" => "an array",
        "u64" | "u32" | "usize" => "a non-negative integer",
        "i64" | "i32" => "an integer",
        e => e,
    };
    format!("expected {plain}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        key: String,
        enabled: Option<bool>,
        symbols: Option<Vec<String>>,
        expected_version: Option<u64>,
    }

    fn err(json: &str) -> String {
        parse_json::<Body>(json.as_bytes())
            .expect_err(json)
            .to_string()
    }

    #[test]
    fn names_the_field_and_never_echoes_the_value() {
        let cases = [
            (
                r#"{"key":"k","enabled":"planted-abc"}"#,
                "invalid enabled: expected a boolean",
            ),
            (r#"{"enabled":true}"#, "invalid key: is required"),
            (
                r#"{"key":"k","planted-field":1}"#,
                "invalid planted-field: unknown field",
            ),
            (
                r#"{"key":"k","symbols":["a",7]}"#,
                "invalid symbols[1]: expected a string",
            ),
            (
                r#"{"key":"k","expected_version":-4}"#,
                "invalid expected_version: expected a non-negative integer",
            ),
            (r#"["planted-abc"]"#, "invalid body: expected a JSON object"),
            (
                r#"{"key":"planted-abc""#,
                "invalid body: malformed JSON at line 1 column 20",
            ),
            (
                "",
                "invalid body: expected a JSON object, got an empty body",
            ),
            (
                r#"{"key":"k"} x"#,
                "invalid body: malformed JSON at line 1 column 13",
            ),
            (
                r#"{"key":"k","key":"planted-abc"}"#,
                "invalid key: appears more than once",
            ),
        ];
        for (json, want) in cases {
            let got = err(json);
            assert_eq!(got, want, "{json}");
            assert!(!got.contains("planted-abc"), "{got}");
        }
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Q {
        service: String,
        version: Option<u64>,
    }

    #[test]
    fn query_errors_name_the_parameter() {
        let e = parse_query::<Q>("service=s&version=abc").expect_err("bad version");
        assert_eq!(
            e.to_string(),
            "invalid version: expected a non-negative integer"
        );
        let e = parse_query::<Q>("version=1").expect_err("no service");
        assert_eq!(e.to_string(), "invalid service: is required");
        let q = parse_query::<Q>("service=a%20b&other=1").expect("ok");
        assert_eq!(q.service, "a b");
    }
}
