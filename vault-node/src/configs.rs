//! Strategy configs: `NativeVault` methods over the config operations of
//! [`VaultApi`](vault_core::VaultApi), and the records they return.

use napi::bindgen_prelude::Result;
use napi_derive::napi;
use serde_json::Value;
use vault_core::{ConfigPut, ConfigWritten, StrategyConfig};

use crate::credentials::action_str;
use crate::error::IntoNapi;
use crate::vault::{NativeVault, json_object, version_in, version_out};

/// A versioned strategy config.
#[napi(object)]
pub struct ConfigRecord {
    /// The service (trading engine) the strategy belongs to.
    pub service: String,
    /// The strategy's id.
    pub strategy_id: String,
    /// Strategy parameters.
    pub params: Value,
    /// Symbols traded.
    pub symbols: Vec<String>,
    /// Risk limits.
    pub risk_limits: Value,
    /// Whether the strategy is enabled.
    pub enabled: bool,
    /// Version number.
    pub version: i64,
    /// When version 1 was written (RFC 3339).
    pub created_at: String,
    /// When this version was written (RFC 3339).
    pub updated_at: String,
    /// True when a remote client served this from its last-known-good cache.
    pub stale: bool,
}

impl From<StrategyConfig> for ConfigRecord {
    fn from(c: StrategyConfig) -> Self {
        ConfigRecord {
            service: c.service,
            strategy_id: c.strategy_id,
            params: Value::Object(c.params),
            symbols: c.symbols,
            risk_limits: Value::Object(c.risk_limits),
            enabled: c.enabled,
            version: version_out(c.version),
            created_at: c.created_at.to_string(),
            updated_at: c.updated_at.to_string(),
            stale: c.stale,
        }
    }
}

/// The outcome of a config put.
#[napi(object)]
pub struct ConfigWrittenRecord {
    /// The service.
    pub service: String,
    /// The strategy's id.
    pub strategy_id: String,
    /// `"created"` or `"updated"`.
    pub action: String,
    /// The version this put wrote.
    pub version: i64,
}

impl From<ConfigWritten> for ConfigWrittenRecord {
    fn from(w: ConfigWritten) -> Self {
        ConfigWrittenRecord {
            service: w.service,
            strategy_id: w.strategy_id,
            action: action_str(w.action),
            version: version_out(w.version),
        }
    }
}

/// What a config put changes; absent fields keep the previous version's value.
#[napi(object)]
pub struct ConfigPutOptions {
    /// New parameters (an object).
    pub params: Option<Value>,
    /// New symbols.
    pub symbols: Option<Vec<String>>,
    /// New risk limits (an object).
    pub risk_limits: Option<Value>,
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// Compare-and-set on the latest version (0 = must not exist yet).
    pub expected_version: Option<i64>,
}

#[napi]
impl NativeVault {
    /// Writes a new version of strategy config `strategy_id` of `service`.
    #[napi]
    pub async fn put_config(
        &self,
        service: String,
        strategy_id: String,
        options: Option<ConfigPutOptions>,
    ) -> Result<ConfigWrittenRecord> {
        let api = self.api()?;
        let o = options.unwrap_or(ConfigPutOptions {
            params: None,
            symbols: None,
            risk_limits: None,
            enabled: None,
            expected_version: None,
        });
        let put = ConfigPut {
            strategy_id,
            params: o.params.map(|v| json_object("params", v)).transpose()?,
            symbols: o.symbols,
            risk_limits: o
                .risk_limits
                .map(|v| json_object("riskLimits", v))
                .transpose()?,
            enabled: o.enabled,
            expected_version: version_in("expectedVersion", o.expected_version)?,
        };
        Ok(api.put_config(&service, put).await.napi()?.into())
    }

    /// A strategy config: the latest version, or version `version`.
    #[napi]
    pub async fn get_config(
        &self,
        service: String,
        strategy_id: String,
        version: Option<i64>,
    ) -> Result<ConfigRecord> {
        let api = self.api()?;
        let version = version_in("version", version)?;
        Ok(api
            .get_config(&service, &strategy_id, version)
            .await
            .napi()?
            .into())
    }

    /// The latest version of every strategy config of `service`, ordered by strategy id.
    #[napi]
    pub async fn list_configs(&self, service: String) -> Result<Vec<ConfigRecord>> {
        let api = self.api()?;
        let list = api.list_configs(&service).await.napi()?;
        Ok(list.into_iter().map(Into::into).collect())
    }
}
