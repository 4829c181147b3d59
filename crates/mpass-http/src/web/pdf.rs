//! The pass as a one-page PDF, written by hand (PDF 1.4) in the page's language: Latin
//! text in the standard Helvetica font, Bangla (and anything else Helvetica lacks) shaped
//! and embedded by [`bangla`], the QR code drawn as filled squares from the same symbol as
//! the page's SVG, and the photo embedded as it is stored (JPEG as-is; 8-bit RGB or grey
//! PNG via the PNG predictor of FlateDecode).

mod bangla;
mod helvetica;

use std::fmt::Write;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use mpass_domain::application::Trip;
use mpass_domain::pass::qr_svg;

use super::apply_form::vehicle_kind_name;
use super::areas::place_name;
use super::i18n::Lang;
use super::pass::{PassView, id_type_name, load};
use super::session::Session;
use super::{error_page, login_first};
use crate::error::ApiError;
use crate::state::AppState;
use helvetica::{helvetica_has, helvetica_width, pdf_text};

/// A4 portrait, in points.
const PAGE_W: f64 = 595.0;
const PAGE_H: f64 = 842.0;

/// Splits `s` into runs for Helvetica (`false`) and the embedded font (`true`): characters
/// Helvetica lacks go to the embedded font, and so do spaces, digits and punctuation that
/// follow such characters (and that the font has), so a Bangla phrase is shaped whole.
fn runs(s: &str) -> Vec<(bool, &str)> {
    let mut out: Vec<(bool, &str)> = Vec::new();
    let mut start = 0;
    let mut current = None;
    for (i, ch) in s.char_indices() {
        let embedded = if !helvetica_has(ch) {
            true
        } else if current == Some(true) && !ch.is_alphabetic() {
            bangla::covers(ch)
        } else {
            false
        };
        if current.is_some_and(|cur| cur != embedded) {
            out.push((current == Some(true), &s[start..i]));
            start = i;
        }
        current = Some(embedded);
    }
    if let Some(cur) = current {
        out.push((cur, &s[start..]));
    }
    out
}

/// The QR modules as rectangles `(x, y, w, h)` in modules, read from the SVG path (each
/// `M{x} {y}h{w}v{h}H{x}V{y}` is one dark run), and the symbol's size in modules.
fn qr_rects(qr_text: &str) -> Result<(Vec<[u32; 4]>, u32), ApiError> {
    let svg = qr_svg(qr_text).map_err(|e| ApiError::Internal(e.to_string()))?;
    let attr = |name: &str| -> Option<u32> {
        let at = svg.find(&format!("{name}=\""))? + name.len() + 2;
        svg[at..].split('"').next()?.parse().ok()
    };
    let size = attr("width").ok_or_else(|| ApiError::Internal("QR SVG without width".into()))?;
    let d_at = svg
        .find(" d=\"")
        .ok_or_else(|| ApiError::Internal("QR SVG without path".into()))?;
    let d = svg[d_at + 4..].split('"').next().unwrap_or("");
    let mut rects = Vec::new();
    for cmd in d.split('M').filter(|c| !c.is_empty()) {
        let nums: Vec<u32> = cmd
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .filter_map(|n| n.parse().ok())
            .collect();
        if let [x, y, w, h, ..] = nums[..] {
            rects.push([x, y, w, h]);
        }
    }
    // The SVG draws 8 units per module.
    Ok((
        rects
            .into_iter()
            .map(|[x, y, w, h]| [x / 8, y / 8, w / 8, h / 8])
            .collect(),
        size / 8,
    ))
}

/// An image XObject for the photo: (dictionary without length, data, width, height).
fn photo_object(bytes: &[u8], content_type: &str) -> Option<(String, Vec<u8>, u32, u32)> {
    if content_type == "image/jpeg" {
        let (w, h, comps) = jpeg_size(bytes)?;
        let cs = if comps == 1 { "/DeviceGray" } else { "/DeviceRGB" };
        return Some((
            format!(
                "/Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace {cs} /BitsPerComponent 8 /Filter /DCTDecode"
            ),
            bytes.to_vec(),
            w,
            h,
        ));
    }
    // PNG: IHDR, then the concatenated IDAT chunks are one zlib stream with PNG filters.
    if bytes.get(..8)? != b"\x89PNG\r\n\x1a\n" {
        return None;
    }
    let (mut pos, mut idat) = (8usize, Vec::new());
    let (mut w, mut h, mut colors) = (0u32, 0u32, 0u32);
    while pos + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().ok()?) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        let data = bytes.get(pos + 8..pos + 8 + len)?;
        match kind {
            b"IHDR" => {
                w = u32::from_be_bytes(data.get(0..4)?.try_into().ok()?);
                h = u32::from_be_bytes(data.get(4..8)?.try_into().ok()?);
                let (depth, color, interlace) = (data[8], data[9], data[12]);
                colors = match (depth, color, interlace) {
                    (8, 0, 0) => 1,
                    (8, 2, 0) => 3,
                    _ => return None,
                };
            }
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        pos += 12 + len;
    }
    let cs = if colors == 1 { "/DeviceGray" } else { "/DeviceRGB" };
    Some((
        format!(
            "/Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace {cs} /BitsPerComponent 8 \
             /Filter /FlateDecode /DecodeParms << /Predictor 15 /Colors {colors} /BitsPerComponent 8 /Columns {w} >>"
        ),
        idat,
        w,
        h,
    ))
}

/// Width, height and components from a JPEG's start-of-frame marker.
fn jpeg_size(b: &[u8]) -> Option<(u32, u32, u8)> {
    let mut i = 2;
    while i + 9 < b.len() {
        if b[i] != 0xFF {
            return None;
        }
        let marker = b[i + 1];
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF) {
            let h = u16::from_be_bytes([b[i + 5], b[i + 6]]) as u32;
            let w = u16::from_be_bytes([b[i + 7], b[i + 8]]) as u32;
            return Some((w, h, b[i + 9]));
        }
        i += 2 + len;
    }
    None
}

/// The page's content stream and the embedded-font glyphs it uses.
#[derive(Default)]
struct Canvas {
    c: Vec<u8>,
    used: bangla::Used,
}

/// Shows `s` at `(x, y)`: Latin runs in Helvetica (`F1`) or Helvetica-Bold (`F2`), the
/// rest shaped in the embedded font.
fn text(cv: &mut Canvas, x: f64, y: f64, size: f64, bold: bool, s: &str) {
    let font = if bold { "F2" } else { "F1" };
    let mut x = x;
    for (embedded, run) in runs(s) {
        if embedded {
            x = bangla::draw(&mut cv.c, &mut cv.used, x, y, size, bold, run);
        } else {
            cv.c.extend_from_slice(format!("BT /{font} {size} Tf {x:.1} {y:.1} Td (").as_bytes());
            cv.c.extend_from_slice(&pdf_text(run));
            cv.c.extend_from_slice(b") Tj ET\n");
            x += helvetica_width(run, size, bold);
        }
    }
}

/// Builds the PDF bytes of a pass, labelled in `l`.
pub fn build(
    v: &PassView,
    policy: &mpass_domain::policy::Policy,
    photo: Option<(&[u8], &str)>,
    l: Lang,
) -> Result<Vec<u8>, ApiError> {
    let d = &v.app.details;
    let mut cv = Canvas::default();
    // Header band. Stroke colours follow fill colours (bold Bangla is stroked).
    cv.c.extend_from_slice(b"0 0.416 0.306 rg 40 770 515 40 re f\n1 1 1 rg 1 1 1 RG\n");
    let title = l.t("Movement Pass - Bangladesh", "মুভমেন্ট পাস - বাংলাদেশ");
    text(&mut cv, 52.0, 784.0, 20.0, true, title);
    cv.c.extend_from_slice(b"0 0 0 rg 0 0 0 RG\n");
    let name = v.profile.as_ref().map_or("", |p| p.profile.name.as_str());
    text(&mut cv, 170.0, 735.0, 16.0, true, name);
    let mut y = 712.0;
    let mut line = |cv: &mut Canvas, k: &str, val: &str| {
        text(cv, 170.0, y, 9.0, true, k);
        text(cv, 250.0, y, 9.0, false, val);
        y -= 15.0;
    };
    line(
        &mut cv,
        l.t("Status", "অবস্থা"),
        super::applications::status_label(l, v.status),
    );
    if let Some(p) = &v.profile {
        line(
            &mut cv,
            l.t("Date of birth", "জন্মতারিখ"),
            &l.date(p.profile.date_of_birth),
        );
        let doc = format!(
            "{} ****{}",
            id_type_name(l, p.profile.id_type.as_str()),
            l.digits(&p.profile.document_last4())
        );
        line(&mut cv, l.t("Document", "পরিচয়পত্র"), &doc);
    }
    let reason = policy
        .category(&d.reason)
        .map_or(d.reason.as_str(), |c| l.pick(&c.label_en, &c.label_bn));
    line(&mut cv, l.t("Reason", "কারণ"), reason);
    let place = |p: &mpass_domain::application::Place| format!("{} - {}", p.address, place_name(l, &p.area));
    line(&mut cv, l.t("From", "যাত্রা শুরু"), &place(&d.from));
    line(&mut cv, l.t("To", "গন্তব্য"), &place(&d.to));
    let trip = match d.trip {
        Trip::OneWay => l.t("One way", "একমুখী"),
        Trip::RoundTrip => l.t("Round trip", "যাওয়া-আসা"),
    };
    line(&mut cv, l.t("Trip", "যাত্রা"), trip);
    let zone = l.t("(Bangladesh time)", "(বাংলাদেশ সময়)");
    line(
        &mut cv,
        l.t("Valid from", "বৈধতা শুরু"),
        &format!("{} {zone}", l.datetime(v.pass.valid_from)),
    );
    line(
        &mut cv,
        l.t("Valid until", "বৈধতা শেষ"),
        &format!("{} {zone}", l.datetime(v.pass.valid_until)),
    );
    if let Some(veh) = &d.vehicle {
        line(
            &mut cv,
            l.t("Vehicle", "যানবাহন"),
            &format!("{} {}", vehicle_kind_name(l, &veh.kind), veh.registration),
        );
    }
    line(&mut cv, l.t("Companions", "সহযাত্রী"), &l.num(d.companions.len()));
    // QR: 250 pt wide, centred under the details.
    let (rects, modules) = qr_rects(&v.pass.qr_text)?;
    let side = 250.0;
    let unit = side / f64::from(modules.max(1));
    let (qx, qy) = ((PAGE_W - side) / 2.0, 250.0);
    cv.c.extend_from_slice(b"0 0 0 rg\n");
    for [x, yy, w, h] in rects {
        let _ = writeln!(
            Out(&mut cv.c),
            "{:.2} {:.2} {:.2} {:.2} re f",
            qx + f64::from(x) * unit,
            qy + side - f64::from(yy + h) * unit,
            f64::from(w) * unit,
            f64::from(h) * unit
        );
    }
    text(&mut cv, qx, 225.0, 11.0, false, l.t("Short code", "সংক্ষিপ্ত কোড"));
    text(&mut cv, qx, 200.0, 22.0, true, &v.pass.short_code);
    text(
        &mut cv,
        40.0,
        60.0,
        8.0,
        false,
        l.t(
            "Show this pass at checkpoints. Officers verify it by scanning the QR code.",
            "চেকপোস্টে এই পাসটি দেখান। কর্মকর্তারা কিউআর কোড স্ক্যান করে এটি যাচাই করেন।",
        ),
    );
    let image = photo.and_then(|(b, ct)| photo_object(b, ct));
    if let Some((_, _, w, h)) = &image {
        // 110 pt wide at most, 140 pt high at most, top left.
        let scale = (110.0 / f64::from(*w)).min(140.0 / f64::from(*h));
        let (dw, dh) = (f64::from(*w) * scale, f64::from(*h) * scale);
        let _ = writeln!(
            Out(&mut cv.c),
            "q {dw:.2} 0 0 {dh:.2} 40 {:.2} cm /Im1 Do Q",
            750.0 - dh
        );
    }
    Ok(assemble(&cv.c, image.map(|(dict, data, _, _)| (dict, data)), &cv.used))
}

/// `write!` into a byte buffer.
struct Out<'a>(&'a mut Vec<u8>);

impl Write for Out<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

fn assemble(content: &[u8], image: Option<(String, Vec<u8>)>, used: &bangla::Used) -> Vec<u8> {
    let xobj = if image.is_some() {
        " /XObject << /Im1 7 0 R >>"
    } else {
        ""
    };
    // The embedded font, when used, comes after the content and the photo.
    let font_id = 7 + usize::from(image.is_some());
    let embedded = if used.is_empty() {
        String::new()
    } else {
        format!(" /{} {font_id} 0 R", bangla::RESOURCE)
    };
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] /Contents 6 0 R \
             /Resources << /Font << /F1 4 0 R /F2 5 0 R{embedded} >>{xobj} >> >>"
        )
        .into_bytes(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".to_vec(),
    ];
    let stream = |dict: &str, data: &[u8]| {
        let mut o = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
        o.extend_from_slice(data);
        o.extend_from_slice(b"\nendstream");
        o
    };
    objects.push(stream("", content));
    if let Some((dict, data)) = image {
        objects.push(stream(&dict, &data));
    }
    if !used.is_empty() {
        objects.extend(bangla::objects(font_id, used));
    }
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let mut x = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for off in offsets {
        let _ = writeln!(x, "{off:010} 00000 n ");
    }
    let _ = write!(
        x,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.extend_from_slice(x.as_bytes());
    out
}

/// `GET /passes/{id}/pass.pdf`.
pub async fn download(State(state): State<AppState>, session: Session, Path(id): Path<String>) -> Response {
    let Some(user) = session.user else {
        return login_first();
    };
    let view = match load(&state, user, &id).await {
        Ok(v) => v,
        Err(e) => return error_page(&session, &e),
    };
    if !view.usable() {
        // A print of a cancelled, revoked or expired pass would still carry its signed QR.
        let e = ApiError::Conflict {
            code: "pass_not_usable",
            detail: "This pass cannot be used: it was cancelled or revoked, or it has expired.".into(),
        };
        return error_page(&session, &e);
    }
    let mut photo = None;
    if let Some(p) = &view.profile
        && let (Some(key), Some(ct)) = (&p.photo_key, &p.photo_content_type)
        && let Ok(Some(bytes)) = state.objects.get(key).await
    {
        photo = Some((bytes, ct.clone()));
    }
    let pdf = match build(
        &view,
        &state.policy(),
        photo.as_ref().map(|(b, ct)| (&b[..], ct.as_str())),
        session.lang,
    ) {
        Ok(p) => p,
        Err(e) => return error_page(&session, &e),
    };
    let mut res = pdf.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"movement-pass.pdf\""),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_keep_bangla_phrases_whole() {
        assert_eq!(runs("Rahima"), vec![(false, "Rahima")]);
        assert_eq!(
            runs("বাড়ি ১২, রোড 4 - Mirpur"),
            vec![(true, "বাড়ি ১২, রোড 4 - "), (false, "Mirpur")]
        );
        assert_eq!(
            runs("NID ****1234 জাতীয়"),
            vec![(false, "NID ****1234 "), (true, "জাতীয়")]
        );
        assert!((helvetica_width("Hi", 10.0, false) - 9.44).abs() < 1e-9);
    }

    #[test]
    fn a_bangla_name_embeds_a_type0_font() {
        let mut cv = Canvas::default();
        text(&mut cv, 40.0, 700.0, 16.0, true, "রহিমা আক্তার (ক্ষমা)");
        text(&mut cv, 40.0, 680.0, 9.0, false, "Rahima");
        let pdf = assemble(&cv.c, None, &cv.used);
        let s = String::from_utf8_lossy(&pdf);
        for needle in [
            "/Subtype /Type0",
            "/Encoding /Identity-H",
            "/Subtype /CIDFontType2",
            "/CIDToGIDMap /Identity",
            "/FontFile2 10 0 R",
            "/F3 7 0 R",
            "/ActualText <FEFF09B009B909BF",
        ] {
            assert!(s.contains(needle), "{needle} missing");
        }
        assert!(s.ends_with("%%EOF\n"));
        // English-only pages stay small: no font is embedded.
        let mut en = Canvas::default();
        text(&mut en, 40.0, 700.0, 16.0, true, "Rahima");
        let pdf = assemble(&en.c, None, &en.used);
        assert!(!String::from_utf8_lossy(&pdf).contains("Type0"));
        assert!(pdf.len() < 2000);
    }
}
