//! ACL 2.0 on the name server: namesrv.conf's `authenticationEnabled` / `authorizationEnabled`
//! and friends, applied by checking every request before the name server serves it (see
//! `ferromq_broker::auth::namesrv` for what each request needs).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ferromq_broker::auth::namesrv::NamesrvAuth;
use ferromq_broker::config::AuthKeys;
use ferromq_namesrv::{NamesrvConfig, RequestGuard};
use tokio_util::sync::CancellationToken;

/// How often the users file is looked at for changes.
const RELOAD_EVERY: Duration = Duration::from_secs(1);

/// The name server's request check per its ACL 2.0 keys (`None`: both checks off), with a task
/// that reads the users file again when it changes, until `shutdown`. `default_path` is the
/// users file when `authConfigPath` is not set.
pub fn namesrv_guard(
    config: &NamesrvConfig,
    default_path: PathBuf,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<RequestGuard>> {
    let mut keys = AuthKeys::default();
    let mut path = default_path;
    let mut cluster = "DefaultCluster".to_owned();
    for (k, v) in &config.auth {
        match k.as_str() {
            "authConfigPath" => path = PathBuf::from(v),
            "clusterName" => cluster = v.clone(),
            _ => keys
                .set(k, v)
                .map_err(|e| anyhow::anyhow!("`{k}`: {e}"))
                .context("invalid name server configuration")?,
        }
    }
    for w in keys.warnings() {
        tracing::warn!("name server: {w}");
    }
    if !keys.authentication_enabled && !keys.authorization_enabled {
        return Ok(None);
    }
    let auth = NamesrvAuth::open(&keys, path.clone(), cluster)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot read the name server's users ({})", path.display()))?;
    tracing::info!(
        authentication = keys.authentication_enabled,
        authorization = keys.authorization_enabled,
        users = %path.display(),
        "name server: ACL 2.0 checks on"
    );
    let auth = Arc::new(auth);
    let (watched, stop) = (Arc::clone(&auth), shutdown.clone());
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(RELOAD_EVERY);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.cancelled() => return,
            }
            match watched.reload_if_changed() {
                Ok(true) => {
                    tracing::info!(users = %watched.path().display(), "name server: users and ACLs read again")
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "name server: the users file does not read; the previous users stay in force")
                }
            }
        }
    });
    Ok(Some(Arc::new(move |peer, req| auth.check(peer, req))))
}
