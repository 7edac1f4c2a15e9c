//! WhatsApp's click-to-chat link, `https://wa.me/<number>?text=<message>`,
//! and its QR code as a PNG: what an operator pastes into the booking
//! platform's scheduled message so that a guest with no phone on file
//! writes to the business number with the message already begun.

use crate::access::phone::Phone;

/// Pixels per QR module.
const SCALE: usize = 8;
/// Light modules around the code, as the QR standard asks.
const QUIET_ZONE: usize = 4;

/// Why the QR code could not be made.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    /// The link does not fit in a QR code.
    #[error("the link does not fit in a QR code: {0}")]
    TooLong(#[from] qrcode::types::QrError),
    /// The PNG could not be written.
    #[error("writing the PNG: {0}")]
    Png(#[from] png::EncodingError),
}

/// `https://wa.me/<digits>?text=<text, percent-encoded>`.
pub fn link(number: &Phone, text: &str) -> String {
    let digits = number.as_str().trim_start_matches('+');
    format!("https://wa.me/{digits}?text={}", percent_encode(text))
}

/// The link as a black-on-white QR code, a PNG file's bytes.
pub fn qr_png(link: &str) -> Result<Vec<u8>, QrError> {
    let code = qrcode::QrCode::new(link.as_bytes())?;
    let modules = code.width();
    let side = (modules + 2 * QUIET_ZONE) * SCALE;
    let colors = code.to_colors();
    let mut pixels = vec![255u8; side * side];
    for (index, color) in colors.iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (x, y) = ((index % modules + QUIET_ZONE) * SCALE, (index / modules + QUIET_ZONE) * SCALE);
            for row in y..y + SCALE {
                pixels[row * side + x..row * side + x + SCALE].fill(0);
            }
        }
    }
    let side = u32::try_from(side).unwrap_or(u32::MAX);
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(png)
}

/// RFC 3986: everything but the unreserved characters as `%XX`.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => encoded.push(char::from(byte)),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_names_the_number_without_plus_and_encodes_the_text() {
        let number = Phone::parse("+421 900 000 123").unwrap();
        assert_eq!(
            link(&number, "Check-in: my ref é&"),
            "https://wa.me/421900000123?text=Check-in%3A%20my%20ref%20%C3%A9%26"
        );
    }

    #[test]
    fn the_qr_code_is_a_png() {
        let png = qr_png("https://wa.me/421900000123?text=Check-in").unwrap();
        assert!(png.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]));
    }
}
