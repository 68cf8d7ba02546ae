//! A real control plane for tests: etcd + kube-apiserver with RBAC on, plus
//! kube-controller-manager (garbage collection, namespaces) when asked.
//!
//! The binaries come from `scripts/controlplane.sh` (built from Go modules)
//! through `NBV_CONTROLPLANE_BIN`. One control plane is shared per test
//! binary; tests isolate themselves with their own namespaces. Clients are
//! made per test because a kube Client is bound to the tokio runtime that
//! created it, and every `#[tokio::test]` has its own.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use kube::config::{KubeConfigOptions, Kubeconfig};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};

/// Options of the shared control plane. The first caller in a test binary decides.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub controller_manager: bool,
}

pub struct ControlPlane {
    pub url: String,
    dir: PathBuf,
    kubeconfig: PathBuf,
    _children: Vec<ChildGuard>,
}

struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn bin_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::var_os("NBV_CONTROLPLANE_BIN").ok_or_else(|| {
        anyhow!(
            "NBV_CONTROLPLANE_BIN is not set: run the suite with `make test`, or build the control plane with \
             `scripts/controlplane.sh` and export NBV_CONTROLPLANE_BIN=<the directory it prints>"
        )
    })?;
    let dir = PathBuf::from(dir);
    for b in ["etcd", "kube-apiserver", "kube-controller-manager"] {
        if !dir.join(b).is_file() {
            bail!(
                "{} has no {b}; rerun scripts/controlplane.sh",
                dir.display()
            );
        }
    }
    Ok(dir)
}

fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(25)..].join("\n")
}

fn spawn(bin: &Path, args: &[String], log: &Path) -> anyhow::Result<ChildGuard> {
    let out = fs::File::create(log)?;
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    // The children must not outlive the test binary, even if it is killed.
    // PDEATHSIG fires when the spawning *thread* exits, so the spawning
    // thread is kept alive for the life of the process (see `shared`).
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    Ok(ChildGuard(
        cmd.spawn()
            .with_context(|| format!("starting {}", bin.display()))?,
    ))
}

struct Pki {
    ca: String,
    serving_cert: String,
    serving_key: String,
    admin_cert: String,
    admin_key: String,
    sa_key: String,
    sa_pub: String,
}

fn pki() -> anyhow::Result<Pki> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name = DistinguishedName::new();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "nbv-test-ca");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

    let serving_key = KeyPair::generate()?;
    let mut serving = CertificateParams::new(vec![
        "127.0.0.1".to_string(),
        "localhost".to_string(),
        "kubernetes".to_string(),
        "kubernetes.default.svc".to_string(),
        "10.0.0.1".to_string(),
    ])?;
    serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let serving_cert = serving.signed_by(&serving_key, &ca)?;

    let admin_key = KeyPair::generate()?;
    let mut admin = CertificateParams::new(Vec::<String>::new())?;
    admin.distinguished_name = DistinguishedName::new();
    admin
        .distinguished_name
        .push(DnType::CommonName, "nbv-test-admin");
    admin
        .distinguished_name
        .push(DnType::OrganizationName, "system:masters");
    admin.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let admin_cert = admin.signed_by(&admin_key, &ca)?;

    let sa = KeyPair::generate()?;
    Ok(Pki {
        ca: ca.pem(),
        serving_cert: serving_cert.pem(),
        serving_key: serving_key.serialize_pem(),
        admin_cert: admin_cert.pem(),
        admin_key: admin_key.serialize_pem(),
        sa_key: sa.serialize_pem(),
        sa_pub: sa.public_key_pem(),
    })
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Waits until `addr` accepts TCP connections: the process is serving.
/// Full readiness of the API server is then checked with the admin client.
fn wait_listening(
    child: &mut ChildGuard,
    addr: &str,
    what: &str,
    log: &Path,
    deadline: Duration,
) -> anyhow::Result<()> {
    let addr: std::net::SocketAddr = addr.parse()?;
    let started = Instant::now();
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Some(status) = child.0.try_wait()? {
            bail!("{what} exited ({status}); last log lines:\n{}", tail(log));
        }
        if started.elapsed() > deadline {
            bail!(
                "{what} did not start listening within {deadline:?}; last log lines:\n{}",
                tail(log)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

async fn config_from(kubeconfig: &Path) -> anyhow::Result<kube::Config> {
    let kc = Kubeconfig::read_from(kubeconfig)?;
    Ok(kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?)
}

/// An admin client once `/readyz` says ok.
async fn api_ready(kubeconfig: &Path, log: &Path) -> anyhow::Result<kube::Client> {
    let client = kube::Client::try_from(config_from(kubeconfig).await?)?;
    let started = Instant::now();
    loop {
        let req = http::Request::get("/readyz").body(Vec::new())?;
        match client.request_text(req).await {
            Ok(body) if body.trim() == "ok" => return Ok(client),
            other if started.elapsed() > Duration::from_secs(90) => {
                bail!(
                    "kube-apiserver not ready after 90s ({other:?}); log:\n{}",
                    tail(log)
                )
            }
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

impl ControlPlane {
    fn start(opts: Options) -> anyhow::Result<Self> {
        let bins = bin_dir()?;
        let dir = tempfile::Builder::new()
            .prefix("nbv-controlplane-")
            .tempdir()?
            .keep();
        let pki = pki()?;
        let write = |name: &str, text: &str| -> anyhow::Result<PathBuf> {
            let p = dir.join(name);
            fs::write(&p, text)?;
            Ok(p)
        };
        let ca = write("ca.crt", &pki.ca)?;
        let serving_cert = write("apiserver.crt", &pki.serving_cert)?;
        let serving_key = write("apiserver.key", &pki.serving_key)?;
        let sa_key = write("sa.key", &pki.sa_key)?;
        let sa_pub = write("sa.pub", &pki.sa_pub)?;

        let etcd_port = free_port()?;
        let peer_port = free_port()?;
        let api_port = free_port()?;
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let etcd_log = dir.join("etcd.log");
        let mut children = vec![spawn(
            &bins.join("etcd"),
            &[
                format!("--data-dir={}", dir.join("etcd").display()),
                format!("--listen-client-urls={etcd_url}"),
                format!("--advertise-client-urls={etcd_url}"),
                format!("--listen-peer-urls=http://127.0.0.1:{peer_port}"),
                format!("--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}"),
                format!("--initial-cluster=default=http://127.0.0.1:{peer_port}"),
                "--name=default".into(),
                // Test data is throwaway; fsync only slows the suite down.
                "--unsafe-no-fsync".into(),
                "--log-level=warn".into(),
            ],
            &etcd_log,
        )?];
        wait_listening(
            children.last_mut().expect("just spawned"),
            &format!("127.0.0.1:{etcd_port}"),
            "etcd",
            &etcd_log,
            Duration::from_secs(30),
        )?;

        let api_log = dir.join("kube-apiserver.log");
        children.push(spawn(
            &bins.join("kube-apiserver"),
            &[
                format!("--etcd-servers={etcd_url}"),
                format!("--secure-port={api_port}"),
                "--bind-address=127.0.0.1".into(),
                "--advertise-address=127.0.0.1".into(),
                // The default reconciler refuses loopback addresses for the kubernetes Service.
                "--endpoint-reconciler-type=none".into(),
                format!("--tls-cert-file={}", serving_cert.display()),
                format!("--tls-private-key-file={}", serving_key.display()),
                format!("--client-ca-file={}", ca.display()),
                "--authorization-mode=Node,RBAC".into(),
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
                format!("--service-account-key-file={}", sa_pub.display()),
                format!("--service-account-signing-key-file={}", sa_key.display()),
                "--service-cluster-ip-range=10.0.0.0/24".into(),
                // No kubelet or token controller: pods must not wait for service-account tokens.
                "--disable-admission-plugins=ServiceAccount".into(),
                "--enable-priority-and-fairness=false".into(),
                "--profiling=false".into(),
                "--allow-privileged=true".into(),
                format!("--cert-dir={}", dir.join("certs").display()),
            ],
            &api_log,
        )?);
        let url = format!("https://127.0.0.1:{api_port}");
        wait_listening(
            children.last_mut().expect("just spawned"),
            &format!("127.0.0.1:{api_port}"),
            "kube-apiserver",
            &api_log,
            Duration::from_secs(90),
        )?;

        let kubeconfig = dir.join("kubeconfig");
        fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {url}\n    certificate-authority-data: {}\n\
                 users:\n- name: admin\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n\
                 contexts:\n- name: test\n  context: {{cluster: test, user: admin}}\ncurrent-context: test\n",
                b64(&pki.ca),
                b64(&pki.admin_cert),
                b64(&pki.admin_key)
            ),
        )?;

        // The controller manager exits if the API server does not answer yet.
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(async { api_ready(&kubeconfig, &api_log).await.map(|_| ()) })?;

        if opts.controller_manager {
            let kcm_port = free_port()?;
            let kcm_log = dir.join("kube-controller-manager.log");
            children.push(spawn(
                &bins.join("kube-controller-manager"),
                &[
                    format!("--kubeconfig={}", kubeconfig.display()),
                    format!("--authentication-kubeconfig={}", kubeconfig.display()),
                    format!("--authorization-kubeconfig={}", kubeconfig.display()),
                    "--controllers=garbagecollector,namespace,serviceaccount".into(),
                    "--leader-elect=false".into(),
                    "--use-service-account-credentials=false".into(),
                    format!("--secure-port={kcm_port}"),
                    "--bind-address=127.0.0.1".into(),
                    format!("--service-account-private-key-file={}", sa_key.display()),
                    format!("--root-ca-file={}", ca.display()),
                    format!("--cert-dir={}", dir.join("kcm-certs").display()),
                ],
                &kcm_log,
            )?);
            wait_listening(
                children.last_mut().expect("just spawned"),
                &format!("127.0.0.1:{kcm_port}"),
                "kube-controller-manager",
                &kcm_log,
                Duration::from_secs(60),
            )?;
        }
        Ok(Self {
            url,
            dir,
            kubeconfig,
            _children: children,
        })
    }

    /// The control plane shared by every test in this binary, started on first use.
    pub fn shared(opts: Options) -> anyhow::Result<&'static ControlPlane> {
        // Both ring and aws-lc-rs are compiled into the test binaries; pick one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        static SHARED: OnceLock<Result<ControlPlane, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                // Start from a thread that never exits, so PDEATHSIG ties the
                // children to the whole test process rather than to this call.
                let (tx, rx) = std::sync::mpsc::channel();
                std::thread::spawn(move || {
                    let _ = tx.send(ControlPlane::start(opts).map_err(|e| format!("{e:#}")));
                    loop {
                        std::thread::park();
                    }
                });
                rx.recv().unwrap_or_else(|e| Err(e.to_string()))
            })
            .as_ref()
            .map_err(|e| anyhow!("the test control plane did not start: {e}"))
    }

    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    pub fn log_dir(&self) -> &Path {
        &self.dir
    }

    async fn config(&self) -> anyhow::Result<kube::Config> {
        config_from(&self.kubeconfig).await
    }

    /// A cluster-admin client, waiting until the API server reports ready.
    pub async fn client(&self) -> anyhow::Result<kube::Client> {
        api_ready(&self.kubeconfig, &self.dir.join("kube-apiserver.log")).await
    }

    /// A client whose requests are authorised as `user` in `groups`, so
    /// tests can prove behaviour under exactly the RBAC they grant.
    pub async fn client_impersonating(
        &self,
        user: &str,
        groups: &[&str],
    ) -> anyhow::Result<kube::Client> {
        self.client().await?;
        let mut config = self.config().await?;
        config.auth_info.impersonate = Some(user.to_string());
        config.auth_info.impersonate_groups = Some(groups.iter().map(|g| g.to_string()).collect());
        Ok(kube::Client::try_from(config)?)
    }
}
