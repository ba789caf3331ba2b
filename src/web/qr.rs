//! QR codes drawn on the server as SVG path data: the template emits one
//! `<path>`, so no markup is built from strings and nothing needs `|safe`.

use qrcode::{Color, EcLevel, QrCode};

/// Modules of quiet zone around the code, as the standard asks.
const QUIET: usize = 4;

/// A QR code ready for `<svg viewBox="0 0 {size} {size}"><path d="{path}"/>`.
#[derive(Debug, Clone)]
pub struct QrSvg {
    pub size: usize,
    pub path: String,
}

impl QrSvg {
    pub fn encode(data: &str) -> Option<Self> {
        let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).ok()?;
        let width = code.width();
        let colors = code.to_colors();
        let mut path = String::with_capacity(colors.len() * 4);
        for (i, color) in colors.iter().enumerate() {
            if *color == Color::Dark {
                let (x, y) = (i % width + QUIET, i / width + QUIET);
                path.push_str(&format!("M{x} {y}h1v1h-1z"));
            }
        }
        Some(Self { size: width + 2 * QUIET, path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_becomes_a_square_of_modules() {
        let qr = QrSvg::encode("https://refer.example.com/r/Ab3dEf9h?c=qr").unwrap();
        assert!(qr.size >= 21 + 2 * QUIET);
        assert!(qr.path.starts_with('M'));
        assert!(qr.path.chars().all(|c| c.is_ascii_digit() || "Mhvz -".contains(c)));
    }
}
