//! File uploads: a `multipart/form-data` body taken through the same CSRF
//! defence as [`super::csrf::CsrfForm`] (this site's `Origin` or
//! `Referer`, and a `csrf_token` field bound to the browser and session),
//! with its text fields and at most one file collected in memory under
//! fixed limits.

use std::future::Future;
use std::pin::Pin;

use actix_multipart::Multipart;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;

use super::FORM_LIMIT;
use super::csrf::{CSRF_FIELD, app_state, check_origin, check_token};
use super::error::AppError;

/// The largest file an upload form takes by default (2 MiB).
pub const UPLOAD_LIMIT: usize = 2 * 1024 * 1024;
/// Parts one form may have; a form has a handful, more is abuse.
const MAX_PARTS: usize = 32;
/// Room for part headers and boundaries on top of the file and the text.
const FRAMING: usize = 16 * 1024;

/// The uploaded file of a form.
#[derive(Debug, Clone)]
pub struct UploadedFile {
    /// The form field it came in.
    pub field: String,
    /// The name the browser gave it, for messages only: never a path.
    pub file_name: String,
    pub bytes: web::Bytes,
}

/// A multipart form whose CSRF token and origin were checked, with its
/// text fields and at most one file of at most `LIMIT` bytes (413 above).
#[derive(Debug)]
pub struct CsrfMultipart<const LIMIT: usize = UPLOAD_LIMIT> {
    fields: Vec<(String, String)>,
    /// The file, if one was chosen (an empty file input sends none).
    pub file: Option<UploadedFile>,
}

impl<const LIMIT: usize> CsrfMultipart<LIMIT> {
    /// The first text field called `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

fn unreadable() -> AppError {
    AppError::BadRequest("The form could not be read. Reload the page and try again.".into())
}

/// Reads the parts of `multipart` under the limits.
async fn collect<const LIMIT: usize>(mut multipart: Multipart) -> Result<CsrfMultipart<LIMIT>, AppError> {
    let mut form = CsrfMultipart { fields: Vec::new(), file: None };
    let (mut parts, mut text_bytes) = (0, 0);
    while let Some(part) = multipart.next().await {
        let mut part = part.map_err(|_| unreadable())?;
        parts += 1;
        if parts > MAX_PARTS {
            return Err(AppError::BadRequest("The form has too many fields.".into()));
        }
        let name = part.name().unwrap_or_default().to_string();
        let file_name = part.content_disposition().and_then(|d| d.get_filename()).map(str::to_string);
        let mut data = web::BytesMut::new();
        // Read chunk by chunk and stop at the limit, rather than reading a
        // body of any size to the end first.
        while let Some(chunk) = part.next().await {
            let chunk = chunk.map_err(|_| unreadable())?;
            data.extend_from_slice(&chunk);
            let over = match file_name {
                Some(_) => data.len() > LIMIT,
                None => text_bytes + data.len() > FORM_LIMIT,
            };
            if over {
                return Err(AppError::PayloadTooLarge);
            }
        }
        match file_name {
            // A file input left empty still sends a part, with no name and no bytes.
            Some(file_name) if file_name.is_empty() && data.is_empty() => {}
            Some(file_name) => {
                if form.file.is_some() {
                    return Err(AppError::BadRequest("Send one file at a time.".into()));
                }
                form.file = Some(UploadedFile { field: name, file_name, bytes: data.freeze() });
            }
            None => {
                text_bytes += data.len();
                let value = String::from_utf8(data.to_vec()).map_err(|_| unreadable())?;
                form.fields.push((name, value));
            }
        }
    }
    Ok(form)
}

impl<const LIMIT: usize> FromRequest for CsrfMultipart<LIMIT> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let state = app_state(&req)?;
            check_origin(&req, state)?;
            // A body announced as too large is refused before a byte of it is read.
            let declared = req
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            if declared.is_some_and(|len| len > LIMIT + FORM_LIMIT + FRAMING) {
                return Err(AppError::PayloadTooLarge);
            }
            let form = collect::<LIMIT>(Multipart::new(req.headers(), payload)).await?;
            check_token(&req, state, form.field(CSRF_FIELD))?;
            Ok(form)
        })
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{self, HeaderMap, HeaderValue};

    use super::*;

    const BOUNDARY: &str = "XyZ";

    fn multipart(parts: &[(&str, Option<&str>, &[u8])], chunk: usize) -> Multipart {
        let mut body = Vec::new();
        for (name, file_name, data) in parts {
            body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
            let disposition = match file_name {
                Some(f) => format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\r\n"),
                None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
            };
            body.extend_from_slice(disposition.as_bytes());
            body.extend_from_slice(data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        let mut headers = HeaderMap::new();
        let ct = format!("multipart/form-data; boundary={BOUNDARY}");
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(&ct).unwrap());
        // Small chunks, as a slow client sends them: the limit must hold
        // across chunks, with no Content-Length to trust.
        let chunks: Vec<Result<web::Bytes, actix_web::error::PayloadError>> =
            body.chunks(chunk).map(|c| Ok(web::Bytes::copy_from_slice(c))).collect();
        Multipart::new(&headers, futures_util::stream::iter(chunks))
    }

    #[actix_web::test]
    async fn text_fields_and_one_file_are_collected() {
        let form = collect::<64>(multipart(
            &[("csrf_token", None, b"abc"), ("file", Some("people.csv"), b"email\nann@example.com\n")],
            7,
        ))
        .await
        .unwrap();
        assert_eq!(form.field("csrf_token"), Some("abc"));
        let file = form.file.unwrap();
        assert_eq!((file.field.as_str(), file.file_name.as_str()), ("file", "people.csv"));
        assert_eq!(&file.bytes[..], b"email\nann@example.com\n");
    }

    #[actix_web::test]
    async fn a_file_over_the_limit_is_refused_while_it_streams() {
        let result = collect::<16>(multipart(&[("file", Some("big.csv"), &[b'x'; 17])], 5)).await;
        assert!(matches!(result, Err(AppError::PayloadTooLarge)), "{result:?}");
        let at_limit = collect::<16>(multipart(&[("file", Some("ok.csv"), &[b'x'; 16])], 5)).await;
        assert_eq!(at_limit.unwrap().file.unwrap().bytes.len(), 16);
    }

    #[actix_web::test]
    async fn an_empty_file_input_means_no_file() {
        let form =
            collect::<16>(multipart(&[("csrf_token", None, b"abc"), ("file", Some(""), b"")], 64)).await.unwrap();
        assert!(form.file.is_none());
    }

    #[actix_web::test]
    async fn a_second_file_and_oversized_text_are_refused() {
        let two = collect::<16>(multipart(&[("a", Some("a.csv"), b"1"), ("b", Some("b.csv"), b"2")], 64)).await;
        assert!(matches!(two, Err(AppError::BadRequest(_))), "{two:?}");
        let text = vec![b'x'; FORM_LIMIT + 1];
        let long = collect::<16>(multipart(&[("note", None, &text)], 4096)).await;
        assert!(matches!(long, Err(AppError::PayloadTooLarge)), "{long:?}");
    }
}
