//! TLS to PostgreSQL with rustls, configured from the URL the way libpq
//! reads it: `sslmode` (`disable`, `allow`, `prefer` (the default),
//! `require`, `verify-ca`, `verify-full`), `sslrootcert` (a PEM file of CA
//! certificates, or `system` for the platform's roots), and `sslcert` with
//! `sslkey` for a client certificate.
//!
//! What is checked of the server's certificate:
//! - `verify-full`: the chain up to a root of `sslrootcert` and the host
//!   name (the URL's host, also when `hostaddr` says where to connect);
//! - `verify-ca`: the chain only;
//! - `allow`, `prefer`, `require`: the chain only when `sslrootcert` names
//!   a file (libpq: "require with a root certificate behaves like
//!   verify-ca"), else nothing: the connection is encrypted, not
//!   authenticated. `sslrootcert=system` takes `verify-full`, as in libpq.
//!
//! The files are read once, when the URL is read, so a bad path fails at
//! start-up with a clear message. libpq's defaults under `~/.postgresql`
//! are not read: a verifying mode needs `sslrootcert` in the URL.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::SslMode as DriverMode;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode, String> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => {
                return Err(format!(
                    "sslmode must be disable, allow, prefer, require, verify-ca or verify-full, not {value:?}"
                ));
            }
        })
    }

    fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// What tokio-postgres is told (`allow` first tries without TLS, see
    /// `connect`).
    pub(crate) fn driver_mode(self) -> DriverMode {
        match self {
            SslMode::Disable | SslMode::Allow => DriverMode::Disable,
            SslMode::Prefer => DriverMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => DriverMode::Require,
        }
    }
}

/// The TLS parameters of a URL, as given (values already decoded).
#[derive(Debug, Default)]
pub(crate) struct TlsParams {
    pub sslmode: Option<String>,
    pub sslrootcert: Option<String>,
    pub sslcert: Option<String>,
    pub sslkey: Option<String>,
}

impl TlsParams {
    /// Whether `name` is one of these parameters.
    pub(crate) fn takes(name: &str) -> bool {
        matches!(name, "sslmode" | "sslrootcert" | "sslcert" | "sslkey")
    }

    pub(crate) fn set(&mut self, name: &str, value: String) {
        let slot = match name {
            "sslmode" => &mut self.sslmode,
            "sslrootcert" => &mut self.sslrootcert,
            "sslcert" => &mut self.sslcert,
            _ => &mut self.sslkey,
        };
        *slot = Some(value);
    }
}

/// How connections are encrypted: the mode and, unless it is `disable`,
/// the rustls configuration (roots, verifier, client certificate). Cheap to
/// clone; what tokio-postgres connects with.
#[derive(Clone)]
pub struct Tls {
    mode: SslMode,
    config: Option<Arc<ClientConfig>>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("sslmode", &self.mode.name())
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// Reads the files the parameters name and builds the configuration.
    pub(crate) fn from_params(params: TlsParams) -> Result<Tls, String> {
        let system = params.sslrootcert.as_deref() == Some("system");
        // libpq: the system's roots make verify-full the default, and a
        // weaker mode an error.
        let default = if system {
            SslMode::VerifyFull
        } else {
            SslMode::Prefer
        };
        let mode = params
            .sslmode
            .as_deref()
            .map_or(Ok(default), SslMode::parse)?;
        if mode == SslMode::Disable {
            return Ok(Tls { mode, config: None });
        }
        if system && mode != SslMode::VerifyFull {
            return Err(format!(
                "sslrootcert=system needs sslmode=verify-full (or no sslmode), not sslmode={}",
                mode.name()
            ));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match params.sslrootcert.as_deref() {
            None if matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull) => {
                return Err(format!(
                    "sslmode={} needs sslrootcert=FILE (the CA certificate, PEM) or sslrootcert=system",
                    mode.name()
                ));
            }
            None => Arc::new(Unverified(provider.clone())),
            Some(root) => {
                let roots = if system {
                    system_roots()?
                } else {
                    file_roots(Path::new(root))?
                };
                let webpki =
                    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                        .build()
                        .map_err(|e| format!("sslrootcert {root}: {e}"))?;
                if mode == SslMode::VerifyFull {
                    webpki
                } else {
                    Arc::new(ChainOnly(webpki))
                }
            }
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match (params.sslcert.as_deref(), params.sslkey.as_deref()) {
            (None, None) => builder.with_no_client_auth(),
            (Some(cert), Some(key)) => builder
                .with_client_auth_cert(client_chain(Path::new(cert))?, client_key(Path::new(key))?)
                .map_err(|e| format!("sslcert {cert} and sslkey {key} do not go together: {e}"))?,
            (Some(_), None) => {
                return Err("sslcert needs sslkey (the client certificate's private key)".into());
            }
            (None, Some(_)) => return Err("sslkey needs sslcert (the client certificate)".into()),
        };
        Ok(Tls {
            mode,
            config: Some(Arc::new(config)),
        })
    }

    pub(crate) fn mode(&self) -> SslMode {
        self.mode
    }
}

fn file_roots(path: &Path) -> Result<RootCertStore, String> {
    let shown = path.display();
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read sslrootcert {shown}: {}", pem_error(&e)))?;
    for cert in certs {
        let cert =
            cert.map_err(|e| format!("cannot read sslrootcert {shown}: {}", pem_error(&e)))?;
        roots
            .add(cert)
            .map_err(|e| format!("sslrootcert {shown} holds an unusable certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!(
            "sslrootcert {shown} holds no certificate (PEM, -----BEGIN CERTIFICATE-----)"
        ));
    }
    Ok(roots)
}

/// The platform's CA roots (the OS certificate store, read from disk).
fn system_roots() -> Result<RootCertStore, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found
            .errors
            .first()
            .map_or_else(|| "none found".to_string(), ToString::to_string);
        return Err(format!(
            "sslrootcert=system: no CA certificates in the system's store ({why})"
        ));
    }
    Ok(roots)
}

fn client_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let shown = path.display();
    let chain = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| format!("cannot read sslcert {shown}: {}", pem_error(&e)))?;
    if chain.is_empty() {
        return Err(format!(
            "sslcert {shown} holds no certificate (PEM, -----BEGIN CERTIFICATE-----)"
        ));
    }
    Ok(chain)
}

fn client_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| {
        format!(
            "cannot read sslkey {}: {} (an unencrypted PEM key: PKCS#8, RSA or EC)",
            path.display(),
            pem_error(&e)
        )
    })
}

fn pem_error(e: &rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => io.to_string(),
        rustls::pki_types::pem::Error::NoItemsFound => "no PEM section of the expected kind".into(),
        other => format!("not PEM ({other:?})"),
    }
}

/// `verify-ca`, and weaker modes with a root file: the chain must lead to
/// a trusted root; the name the certificate was issued for is not checked.
/// webpki checks the chain before the name, so a name error means the
/// chain was good.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `allow`, `prefer` and `require` without a root file: any certificate
/// (encryption without authentication, as in libpq); the handshake's
/// signatures are still checked.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Why a TLS connection could not be made, in words (never the URL).
#[derive(Debug)]
pub struct TlsError(String);

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsError {}

impl<S> MakeTlsConnect<S> for Tls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = TlsError;

    fn make_tls_connect(&mut self, host: &str) -> Result<RustlsConnect, TlsError> {
        Ok(RustlsConnect {
            mode: self.mode,
            config: self.config.clone(),
            host: host.to_string(),
        })
    }
}

/// One TLS handshake with the server named `host`.
pub struct RustlsConnect {
    mode: SslMode,
    config: Option<Arc<ClientConfig>>,
    host: String,
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = TlsError;
    type Future = Pin<Box<dyn Future<Output = Result<RustlsStream<S>, TlsError>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let config = self
                .config
                .ok_or_else(|| TlsError("TLS is off (sslmode=disable)".into()))?;
            let name = ServerName::try_from(self.host.clone()).map_err(|_| {
                TlsError(format!(
                    "{:?} is not a host name or IP address TLS can check",
                    self.host
                ))
            })?;
            tokio_rustls::TlsConnector::from(config)
                .connect(name, stream)
                .await
                .map(RustlsStream)
                .map_err(|e| TlsError(handshake_error(&e, self.mode, &self.host)))
        })
    }
}

/// The handshake's failure in words: what about the certificate is wrong
/// and which `sslmode` asked for the check.
fn handshake_error(e: &io::Error, mode: SslMode, host: &str) -> String {
    let mode = mode.name();
    let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return format!("the TLS handshake with {host} failed: {e}");
    };
    match tls {
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => format!(
            "the server's certificate does not match the host name {host} \
             (sslmode={mode} checks it; connect by the name the certificate was issued for: {tls})"
        ),
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => format!(
            "the server's certificate is not signed by a CA of sslrootcert (sslmode={mode}; unknown issuer)"
        ),
        rustls::Error::InvalidCertificate(why) => {
            format!("the server's certificate was refused (sslmode={mode}): {why:?}")
        }
        other => format!("the TLS handshake with {host} failed: {other}"),
    }
}

/// A TLS connection to the server.
pub struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for RustlsStream<S> {
    /// No `tls-server-end-point` binding: SCRAM runs without channel
    /// binding (PostgreSQL accepts that); `verify-full` is what protects
    /// against a server in the middle.
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}
