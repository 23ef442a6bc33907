//! The one HTTP(S) client every command shares: ureq over rustls, trusting
//! the system's certificate store, so an https:// room relayed through any
//! TLS endpoint the system trusts is reached like a plain http:// one, and
//! Debian's archive is reached through whatever proxy the system trusts.

use std::sync::OnceLock;
use std::time::Duration;

use ureq::tls::{Certificate, RootCerts, TlsConfig};

/// The system store's certificates, read once per process; none when it has none.
fn system_roots() -> &'static [Certificate<'static>] {
    static ROOTS: OnceLock<Vec<Certificate<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        rustls_native_certs::load_native_certs().certs.iter().map(|der| Certificate::from_der(der.as_ref()).to_owned()).collect()
    })
}

/// An agent that answers every status as a response (callers decide what a
/// 401 means) and gives up after `timeout`, if any.
pub fn agent(timeout: Option<Duration>) -> ureq::Agent {
    // Mozilla's roots on a machine without a store of its own (a minimal root has none).
    let roots = if system_roots().is_empty() { RootCerts::WebPki } else { RootCerts::new_with_certs(system_roots()) };
    let tls = TlsConfig::builder().root_certs(roots).build();
    ureq::Agent::config_builder().timeout_global(timeout).http_status_as_error(false).tls_config(tls).build().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_store_is_read() {
        // Debian's ca-certificates; a machine without it has none, which is no error.
        if !std::path::Path::new("/etc/ssl/certs/ca-certificates.crt").exists() {
            eprintln!("skipped: this machine has no system certificate store");
            return;
        }
        assert!(system_roots().len() > 10, "{} certificates", system_roots().len());
    }

    #[test]
    fn https_is_spoken() {
        // A bare listener that reads what the client sends first: a TLS
        // ClientHello starts with 0x16 (handshake) and 0x03 (TLS's major version).
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let first_bytes = std::thread::spawn(move || {
            use std::io::Read;
            let (mut stream, _) = listener.accept().unwrap();
            let mut hello = [0u8; 2];
            stream.read_exact(&mut hello).unwrap();
            hello
        });
        let error = agent(Some(Duration::from_secs(2))).get(format!("https://127.0.0.1:{port}/")).call().unwrap_err();
        assert_eq!(first_bytes.join().unwrap(), [0x16, 0x03], "no TLS handshake; the client said: {error}");
    }
}
