//! Destination URLs: only http(s), only to hosts the program allows, with
//! the attribution parameters appended. Never an open redirect.

use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    #[error("enter an absolute URL such as https://example.com/signup")]
    NotAUrl,
    #[error("only http:// and https:// addresses are allowed")]
    Scheme,
    #[error("the address may not contain a user name or password")]
    Credentials,
    #[error("the host {0} is not in the allowed hosts")]
    HostNotAllowed(String),
}

/// A host name as the allow-list keeps it: lower-case, no port, no dot at
/// the end. `None` for anything that is not a plain host.
pub fn normalize_host(raw: &str) -> Option<String> {
    let h = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = !h.is_empty()
        && h.len() <= 253
        && h.split('.')
            .all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    ok.then_some(h)
}

/// Parses `raw` as a destination whose host is in `allowed`.
pub fn parse_destination(raw: &str, allowed: &[String]) -> Result<Url, DestinationError> {
    let url = Url::parse(raw.trim()).map_err(|_| DestinationError::NotAUrl)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(DestinationError::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(DestinationError::Credentials);
    }
    let host = url.host_str().ok_or(DestinationError::NotAUrl)?.to_ascii_lowercase();
    if !allowed.contains(&host) {
        return Err(DestinationError::HostNotAllowed(host));
    }
    Ok(url)
}

/// `destination` with `gw_ref` and `gw_click` appended to its query.
pub fn with_attribution(destination: &Url, code: &str, click_id: Option<&str>) -> Url {
    let mut url = destination.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("gw_ref", code);
        if let Some(click) = click_id {
            q.append_pair("gw_click", click);
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        vec!["acme.example".into()]
    }

    #[test]
    fn only_allowed_http_hosts_pass() {
        assert!(parse_destination("https://acme.example/signup", &allowed()).is_ok());
        assert!(parse_destination("http://ACME.example/", &allowed()).is_ok());
        assert_eq!(parse_destination("javascript:alert(1)", &allowed()), Err(DestinationError::Scheme));
        assert_eq!(
            parse_destination("https://evil.example/", &allowed()),
            Err(DestinationError::HostNotAllowed("evil.example".into()))
        );
        assert_eq!(parse_destination("//evil.example", &allowed()), Err(DestinationError::NotAUrl));
        assert_eq!(parse_destination("/\\evil.example", &allowed()), Err(DestinationError::NotAUrl));
        assert!(matches!(
            parse_destination("https://acme.example@evil.example/", &allowed()),
            Err(DestinationError::Credentials)
        ));
        assert!(matches!(
            parse_destination("https://evil.example%2F@acme.example/", &allowed()),
            Err(DestinationError::Credentials)
        ));
        assert!(matches!(
            parse_destination("https://acme.example.evil.example/", &allowed()),
            Err(DestinationError::HostNotAllowed(_))
        ));
    }

    #[test]
    fn attribution_is_appended_to_an_existing_query() {
        let dest = parse_destination("https://acme.example/signup?plan=pro#top", &allowed()).unwrap();
        let url = with_attribution(&dest, "Ab3dEf9h", Some("click123"));
        assert_eq!(url.as_str(), "https://acme.example/signup?plan=pro&gw_ref=Ab3dEf9h&gw_click=click123#top");
    }

    #[test]
    fn hosts_are_normalised() {
        assert_eq!(normalize_host(" Acme.Example. ").as_deref(), Some("acme.example"));
        assert_eq!(normalize_host("acme.example:8080"), None);
        assert_eq!(normalize_host("ev il.example"), None);
    }
}
