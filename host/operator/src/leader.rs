//! Leader election through a coordination.k8s.io Lease (kube-lease-manager):
//! only the holder reconciles; losing the lease ends the process so the
//! Deployment restarts it as a follower.

use kube_lease_manager::LeaseManagerBuilder;
use tokio::sync::watch;

pub const LEASE_NAME: &str = "nbv-operator-leader";

/// Waits until this instance holds the lease. The returned guard keeps the
/// lease renewed; if leadership is lost the process exits.
pub async fn acquire(
    client: kube::Client,
    namespace: &str,
    lease: &str,
    identity: &str,
) -> anyhow::Result<watch::Receiver<bool>> {
    let manager = LeaseManagerBuilder::new(client, lease)
        .with_namespace(namespace)
        .with_identity(identity)
        .build()
        .await?;
    let (mut rx, _task) = manager.watch().await;
    tracing::info!(identity, "waiting for the leader lease");
    while !*rx.borrow_and_update() {
        rx.changed().await?;
    }
    tracing::info!(identity, "acquired the leader lease");
    let mut lost = rx.clone();
    tokio::spawn(async move {
        while lost.changed().await.is_ok() {
            if !*lost.borrow() {
                tracing::error!("lost the leader lease; exiting so a follower can take over");
                std::process::exit(1);
            }
        }
    });
    Ok(rx)
}
