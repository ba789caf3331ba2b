//! The SMTP transport from `GOODWORD_SMTP_URL`: `smtp://` upgrades with
//! STARTTLS when the server offers it, `smtps://` is TLS from the first
//! byte; credentials come from the URL (percent-decoded). One connection
//! per email (no pool: a pool's drop needs a running runtime).

use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor};

/// How long one SMTP conversation may take.
const TIMEOUT: Duration = Duration::from_secs(20);

pub type Transport = AsyncSmtpTransport<Tokio1Executor>;

/// The transport `url` describes, or why it cannot be built.
pub fn transport(url: &str) -> Result<Transport, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("GOODWORD_SMTP_URL: {e}"))?;
    let host = parsed.host_str().ok_or("GOODWORD_SMTP_URL names no host")?.to_string();
    let tls_parameters = || TlsParameters::new(host.clone()).map_err(|e| format!("TLS for {host}: {e}"));
    let (tls, default_port) = match parsed.scheme() {
        "smtp" => (Tls::Opportunistic(tls_parameters()?), 25),
        "smtps" => (Tls::Wrapper(tls_parameters()?), 465),
        other => return Err(format!("GOODWORD_SMTP_URL: unknown scheme {other}")),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
        .port(parsed.port().unwrap_or(default_port))
        .tls(tls)
        .timeout(Some(TIMEOUT));
    if !parsed.username().is_empty() {
        let decode = |s: &str| percent_decode(s);
        let user = decode(parsed.username());
        let password = decode(parsed.password().unwrap_or_default());
        builder = builder.credentials(Credentials::new(user, password));
    }
    Ok(builder.build())
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_the_url_are_percent_decoded() {
        assert_eq!(percent_decode("p%40ss+word%2F"), "p@ss+word/");
    }

    #[test]
    fn only_smtp_and_smtps_make_a_transport() {
        assert!(transport("smtp://mail.example:2525").is_ok());
        assert!(transport("smtps://user:secret@mail.example").is_ok());
        assert!(transport("http://mail.example").is_err());
    }
}
