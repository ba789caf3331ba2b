//! One-shot messages shown on the next page ("API key revoked"), carried
//! in a signed cookie so that they survive the redirect after a POST.

use actix_web::HttpResponse;
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::header;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::state::Keys;

pub const FLASH_COOKIE: &str = "gw_flash";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashKind {
    Success,
    Error,
}

/// A message for the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub kind: FlashKind,
    pub text: String,
}

impl Flash {
    pub fn success(text: impl Into<String>) -> Self {
        Self { kind: FlashKind::Success, text: text.into() }
    }

    pub fn error(text: impl Into<String>) -> Self {
        Self { kind: FlashKind::Error, text: text.into() }
    }

    pub fn is_error(&self) -> bool {
        self.kind == FlashKind::Error
    }

    fn encode(&self, keys: &Keys) -> String {
        let kind = match self.kind {
            FlashKind::Success => "s",
            FlashKind::Error => "e",
        };
        let payload = format!("{kind}{}", URL_SAFE_NO_PAD.encode(self.text.as_bytes()));
        let sig = keys.flash.sign(&payload);
        format!("{payload}.{sig}")
    }

    pub fn decode(raw: &str, keys: &Keys) -> Option<Self> {
        let (payload, sig) = raw.rsplit_once('.')?;
        if !keys.flash.verify(payload, sig) {
            return None;
        }
        let kind = match payload.get(..1)? {
            "s" => FlashKind::Success,
            "e" => FlashKind::Error,
            _ => return None,
        };
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(payload.get(1..)?).ok()?).ok()?;
        Some(Self { kind, text })
    }

    pub fn cookie(&self, keys: &Keys, secure: bool) -> Cookie<'static> {
        Cookie::build(FLASH_COOKIE, self.encode(keys))
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .max_age(CookieDuration::minutes(5))
            .finish()
    }
}

/// The cookie that removes a shown flash.
pub fn removal_cookie(secure: bool) -> Cookie<'static> {
    let mut c = Cookie::build(FLASH_COOKIE, "").path("/").http_only(true).secure(secure).finish();
    c.make_removal();
    c
}

/// A 303 redirect to `to` carrying `flash`.
pub fn redirect_with(to: &str, flash: Flash, keys: &Keys, secure: bool) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, to)).cookie(flash.cookie(keys, secure)).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flash_round_trips_and_rejects_tampering() {
        let keys = Keys::from_secret("0123456789abcdef0123456789abcdef");
        let f = Flash::success("API key “ci” revoked.");
        let enc = f.encode(&keys);
        assert_eq!(Flash::decode(&enc, &keys), Some(f));
        let tampered = enc.replacen('s', "e", 1);
        assert_eq!(Flash::decode(&tampered, &keys), None);
    }
}
