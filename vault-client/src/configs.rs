//! Remote strategy configs: [`ConfigsApi`] over `/api/vault/configs`, with the last-known-good
//! fallback: a config read that fails with `unavailable` is served from the cache
//! (`stale: true`) when a copy exists.

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use vault_core::{
    ConfigDiff, ConfigHistory, ConfigPut, ConfigRollback, ConfigSettings, ConfigWatch,
    ConfigWritten, ConfigsApi, Error, Page, PageRequest, Result, ServiceName, StrategyConfig,
    StrategyId,
};

use crate::cache::ConfigCache;
use crate::transport::Transport;
use crate::wire::service_api::{
    CONFIG, CONFIG_DIFF, CONFIG_HISTORY, CONFIG_ROLLBACK, CONFIG_SETTINGS, CONFIG_WATCH, CONFIGS,
    ConfigDeleteQuery, ConfigDiffReply, ConfigHistoryReply, ConfigListReply, ConfigPutBody,
    ConfigReply, ConfigSettingsBody, ConfigSettingsReply, ConfigWatchReply, ConfigWrittenReply,
    DiffQuery, HistoryQuery, PageQuery, RollbackBody, VersionQuery, WatchQuery, fill_path,
};

/// The strategy configs of a remote vault.
pub struct RemoteConfigs {
    pub(crate) transport: Arc<Transport>,
    pub(crate) cache: Arc<ConfigCache>,
}

fn config_path(template: &str, service: &ServiceName, strategy_id: &StrategyId) -> String {
    fill_path(
        template,
        &[("service", service), ("strategy_id", strategy_id)],
    )
}

#[async_trait]
impl ConfigsApi for RemoteConfigs {
    async fn put(&self, service: &ServiceName, put: ConfigPut) -> Result<ConfigWritten> {
        // vault-core's rule, checked before sending (as embedded; see RemoteCredentials::put).
        put.check()?;
        let url = self
            .transport
            .url(&fill_path(CONFIGS, &[("service", service)]), &())?;
        let body = ConfigPutBody::from_put(&put);
        let r: ConfigWrittenReply = self
            .transport
            .call_json(Method::POST, url, Some(&body))
            .await?;
        Ok(r.into())
    }

    async fn get(
        &self,
        service: &ServiceName,
        strategy_id: &StrategyId,
        version: Option<u64>,
    ) -> Result<StrategyConfig> {
        let path = config_path(CONFIG, service, strategy_id);
        let url = self.transport.url(&path, &VersionQuery { version })?;
        match self
            .transport
            .call_json::<ConfigReply>(Method::GET, url, None::<&()>)
            .await
        {
            Ok(r) => {
                let config = r.config.into_config(service, r.revision);
                self.cache.remember_one(&config, version).await;
                Ok(config)
            }
            Err(Error::Unavailable(m)) => self
                .cache
                .cached_config(service, strategy_id, version)
                .ok_or(Error::Unavailable(m)),
            Err(e @ Error::NotFound(_)) => {
                // Deleted (or never there): an outage must not bring a cached copy back.
                if version.is_none() {
                    self.cache.forget(service, strategy_id).await;
                }
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    async fn list(&self, service: &ServiceName, page: PageRequest) -> Result<Page<StrategyConfig>> {
        page.checked_limit()?;
        page.checked_after()?;
        let url = self.transport.url(
            &fill_path(CONFIGS, &[("service", service)]),
            &PageQuery::new(&page),
        )?;
        match self
            .transport
            .call_json::<ConfigListReply>(Method::GET, url, None::<&()>)
            .await
        {
            Ok(r) => {
                let listed = r.into_page(service);
                self.cache.remember_list(service, &page, &listed).await;
                Ok(listed)
            }
            Err(Error::Unavailable(m)) => self
                .cache
                .cached_list(service, &page)
                .ok_or(Error::Unavailable(m)),
            Err(e) => Err(e),
        }
    }

    async fn rollback(
        &self,
        service: &ServiceName,
        strategy_id: &StrategyId,
        rollback: ConfigRollback,
    ) -> Result<ConfigWritten> {
        rollback.check()?;
        let path = config_path(CONFIG_ROLLBACK, service, strategy_id);
        let url = self.transport.url(&path, &())?;
        let r: ConfigWrittenReply = self
            .transport
            .call_json(Method::POST, url, Some(&RollbackBody::from(rollback)))
            .await?;
        Ok(r.into())
    }

    async fn delete(
        &self,
        service: &ServiceName,
        strategy_id: &StrategyId,
        expected_version: Option<u64>,
    ) -> Result<ConfigWritten> {
        let path = config_path(CONFIG, service, strategy_id);
        let url = self
            .transport
            .url(&path, &ConfigDeleteQuery { expected_version })?;
        let r: ConfigWrittenReply = self
            .transport
            .call_json(Method::DELETE, url, None::<&()>)
            .await?;
        self.cache.forget(service, strategy_id).await;
        Ok(r.into())
    }

    async fn watch(
        &self,
        service: &ServiceName,
        since: Option<u64>,
        timeout: std::time::Duration,
    ) -> Result<ConfigWatch> {
        vault_core::configs::check_watch_timeout(timeout)?;
        // The server counts in seconds: a wait under one rounds up, so it still waits.
        let secs = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
        let query = WatchQuery {
            since,
            timeout: Some(secs),
        };
        let url = self
            .transport
            .url(&fill_path(CONFIG_WATCH, &[("service", service)]), &query)?;
        let r: ConfigWatchReply = self
            .transport
            .call_json_waiting(Method::GET, url, None::<&()>, timeout)
            .await?;
        Ok(r.into())
    }

    async fn diff(
        &self,
        service: &ServiceName,
        strategy_id: &StrategyId,
        from: u64,
        to: u64,
    ) -> Result<ConfigDiff> {
        vault_core::configs::check_diff_versions(from, to)?;
        let path = config_path(CONFIG_DIFF, service, strategy_id);
        let url = self.transport.url(&path, &DiffQuery { from, to })?;
        let r: ConfigDiffReply = self
            .transport
            .call_json(Method::GET, url, None::<&()>)
            .await?;
        Ok(r.into())
    }

    async fn history(
        &self,
        service: &ServiceName,
        strategy_id: &StrategyId,
        limit: Option<usize>,
        after: Option<u64>,
    ) -> Result<ConfigHistory> {
        vault_core::configs::check_history_limit(limit)?;
        let path = config_path(CONFIG_HISTORY, service, strategy_id);
        let url = self.transport.url(&path, &HistoryQuery { limit, after })?;
        let r: ConfigHistoryReply = self
            .transport
            .call_json(Method::GET, url, None::<&()>)
            .await?;
        Ok(ConfigHistory {
            versions: r
                .versions
                .into_iter()
                .map(|c| c.into_config(service, r.revision))
                .collect(),
            next: r.next,
            oldest_version: r.oldest_version.unwrap_or(1),
            revision: r.revision,
        })
    }

    async fn settings(&self, service: &ServiceName) -> Result<ConfigSettings> {
        let url = self
            .transport
            .url(&fill_path(CONFIG_SETTINGS, &[("service", service)]), &())?;
        let r: ConfigSettingsReply = self
            .transport
            .call_json(Method::GET, url, None::<&()>)
            .await?;
        Ok(r.into())
    }

    async fn set_settings(
        &self,
        service: &ServiceName,
        settings: ConfigSettings,
    ) -> Result<ConfigSettings> {
        settings.check()?;
        let url = self
            .transport
            .url(&fill_path(CONFIG_SETTINGS, &[("service", service)]), &())?;
        let body = ConfigSettingsBody {
            max_versions: settings.max_versions,
        };
        let r: ConfigSettingsReply = self
            .transport
            .call_json(Method::POST, url, Some(&body))
            .await?;
        Ok(r.into())
    }
}
