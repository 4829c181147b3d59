//! QR rendering of pass text as SVG and PNG, error correction level Q.
//!
//! Pass text is forced into a single alphanumeric segment (Base45 is exactly the QR
//! alphanumeric set), in the smallest version that holds it, so the version a pass
//! needs is predictable from its length alone (352 characters → version 13). Text
//! outside that set falls back to the library's mixed-mode encoding.

use super::error::PassError;
use qrcode::bits::Bits;
use qrcode::render::svg;
use qrcode::{Color, EcLevel, QrCode, Version};

/// Modules of white border around the symbol, as ISO/IEC 18004 requires.
pub const QUIET_ZONE_MODULES: u32 = 4;
/// Largest PNG module size accepted, in pixels (version 40 at 32 px is about 6 MP).
pub const MAX_PNG_SCALE: u32 = 32;

const QR_ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

fn render_error(e: impl std::fmt::Display) -> PassError {
    PassError::Render(e.to_string())
}

/// Builds the QR symbol for `text` at level Q.
pub(crate) fn qr_code(text: &str) -> Result<QrCode, PassError> {
    let data = text.as_bytes();
    if !data.iter().all(|b| QR_ALPHANUMERIC.contains(b)) {
        return QrCode::with_error_correction_level(data, EcLevel::Q).map_err(render_error);
    }
    for version in 1..=40 {
        let mut bits = Bits::new(Version::Normal(version));
        let fits = bits.push_alphanumeric_data(data).is_ok() && bits.push_terminator(EcLevel::Q).is_ok();
        if fits {
            return QrCode::with_bits(bits, EcLevel::Q).map_err(render_error);
        }
    }
    Err(PassError::Render("text too long for a QR code".into()))
}

/// Renders `text` as a standalone SVG document with a 4-module quiet zone.
pub fn qr_svg(text: &str) -> Result<String, PassError> {
    let code = qr_code(text)?;
    Ok(code
        .render::<svg::Color<'_>>()
        .quiet_zone(true)
        .module_dimensions(8, 8)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// Renders `text` as a 1-bit grayscale PNG, `scale` pixels per module (1..=32),
/// with a 4-module quiet zone.
pub fn qr_png(text: &str, scale: u32) -> Result<Vec<u8>, PassError> {
    if !(1..=MAX_PNG_SCALE).contains(&scale) {
        return Err(PassError::Render(format!("scale must be 1..={MAX_PNG_SCALE}")));
    }
    let code = qr_code(text)?;
    let modules = u32::try_from(code.width()).map_err(render_error)?;
    let colors = code.to_colors();
    let side_modules = modules + 2 * QUIET_ZONE_MODULES;
    let side = side_modules * scale;
    let row_bytes = usize::try_from(side.div_ceil(8)).map_err(render_error)?;

    let is_dark = |mx: u32, my: u32| -> bool {
        let (Some(x), Some(y)) = (mx.checked_sub(QUIET_ZONE_MODULES), my.checked_sub(QUIET_ZONE_MODULES)) else {
            return false;
        };
        if x >= modules || y >= modules {
            return false;
        }
        let index = usize::try_from(y * modules + x).unwrap_or(usize::MAX);
        colors.get(index) == Some(&Color::Dark)
    };

    // 1-bit grayscale: a set bit is white, so start white and clear dark pixels.
    let mut pixels = Vec::with_capacity(row_bytes * usize::try_from(side).map_err(render_error)?);
    for py in 0..side {
        let mut row = vec![0xffu8; row_bytes];
        for px in 0..side {
            if is_dark(px / scale, py / scale) {
                let byte = usize::try_from(px / 8).map_err(render_error)?;
                if let Some(b) = row.get_mut(byte) {
                    *b &= !(0x80u8 >> (px % 8));
                }
            }
        }
        pixels.extend_from_slice(&row);
    }

    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    let mut writer = encoder.write_header().map_err(render_error)?;
    writer.write_image_data(&pixels).map_err(render_error)?;
    writer.finish().map_err(render_error)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_follows_alphanumeric_capacity_at_level_q() {
        let v = |len: usize| qr_code(&"A".repeat(len)).unwrap().version();
        assert_eq!(v(352), Version::Normal(13));
        assert_eq!(v(353), Version::Normal(14));
        assert_eq!(v(425), Version::Normal(15));
        // 15-Q really holds 426; SPEC's 425 leaves one character to spare.
        assert_eq!(v(426), Version::Normal(15));
        assert_eq!(v(427), Version::Normal(16));
        assert_eq!(qr_code("MP1:AB").unwrap().error_correction_level(), EcLevel::Q);
        // Digits stay in the single alphanumeric segment, so length alone decides.
        assert_eq!(qr_code(&"1".repeat(352)).unwrap().version(), Version::Normal(13));
        assert!(qr_code("lower case falls back").is_ok());
    }

    #[test]
    fn svg_and_png_render() {
        let svg = qr_svg("MP1:HELLO").unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
        let png = qr_png("MP1:HELLO", 4).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(png.as_slice());
        let mut reader = decoder.read_info().unwrap();
        let info = reader.info();
        // Version 1 is 21 modules, plus 4 on each side, times 4 pixels.
        assert_eq!((info.width, info.height), (29 * 4, 29 * 4));
        assert_eq!(info.bit_depth, png::BitDepth::One);
        let mut buf = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut buf).unwrap();
        let row_bytes = frame.line_size;
        // Quiet zone is white; the finder pattern's corner (module 4,4) is dark.
        assert_eq!(buf[0], 0xff);
        let px = 4 * 4;
        let byte = buf[px * row_bytes + px / 8];
        assert_eq!(byte & (0x80 >> (px % 8)), 0);
        assert!(qr_png("MP1:HELLO", 0).is_err());
        assert!(qr_png("MP1:HELLO", 33).is_err());
    }
}
