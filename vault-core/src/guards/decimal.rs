//! Decimals as strings over the wire (`"5000"`, `"0.25"`): money is never a float.

use std::str::FromStr as _;

use rust_decimal::Decimal;

use crate::error::{Error, Result};

/// Most significant digits of a decimal the guards accept.
const MAX_DECIMAL_LEN: usize = 40;

/// Parses `s` as a decimal (`invalid`, naming `field`, otherwise).
pub(crate) fn parse(field: &str, s: &str) -> Result<Decimal> {
    if s.is_empty() || s.len() > MAX_DECIMAL_LEN {
        return Err(Error::invalid(
            field,
            format!("must be a decimal string of 1 to {MAX_DECIMAL_LEN} characters"),
        ));
    }
    // The input is not repeated: an error never carries a submitted value.
    Decimal::from_str(s)
        .map(|d| d.normalize())
        .map_err(|_| Error::invalid(field, "must be a decimal string such as \"12.5\""))
}

/// The canonical text of `d` (no trailing zeros).
pub(crate) fn text(d: &Decimal) -> String {
    d.normalize().to_string()
}

/// `#[serde(with = "decimal::string")]`: a decimal as a string.
pub(crate) mod string {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::text(d))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let s = String::deserialize(d)?;
        super::parse("decimal", &s).map_err(|e| serde::de::Error::custom(e.to_string()))
    }
}

/// `#[serde(with = "decimal::option")]`: an optional decimal as a string.
pub(crate) mod option {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&super::text(d)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Decimal>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(s) => super::parse("decimal", &s)
                .map(Some)
                .map_err(|e| serde::de::Error::custom(e.to_string())),
            None => Ok(None),
        }
    }
}

/// `#[serde(with = "decimal::map")]`: a map of decimals as strings.
pub(crate) mod map {
    use std::collections::BTreeMap;

    use rust_decimal::Decimal;
    use serde::ser::SerializeMap as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        m: &BTreeMap<String, Decimal>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_map(Some(m.len()))?;
        for (k, v) in m {
            out.serialize_entry(k, &super::text(v))?;
        }
        out.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, Decimal>, D::Error> {
        BTreeMap::<String, String>::deserialize(d)?
            .into_iter()
            .map(|(k, v)| {
                super::parse(&k, &v)
                    .map(|d| (k, d))
                    .map_err(|e| serde::de::Error::custom(e.to_string()))
            })
            .collect()
    }
}
