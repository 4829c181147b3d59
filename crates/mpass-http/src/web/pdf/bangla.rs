//! Bangla (and any other text Helvetica lacks) in the pass PDF: shaped with `rustybuzz`
//! against the embedded Noto Sans Bengali, written as a Type0 font (CIDFontType2,
//! Identity-H, the whole TTF as FontFile2) with every glyph placed by its own text matrix,
//! and each run wrapped in `/ActualText` so that copying and `pdftotext` give the real text
//! (glyph-to-text maps cannot express reordered vowel signs such as ি).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;

use rustybuzz::{Face, UnicodeBuffer};

/// Noto Sans Bengali Regular (SIL OFL 1.1, see `assets/fonts/LICENSE-OFL.txt`).
static FONT: &[u8] = include_bytes!("../../../assets/fonts/NotoSansBengali-Regular.ttf");

/// The PDF font resource name of the embedded font.
pub const RESOURCE: &str = "F3";

fn face() -> Face<'static> {
    // The font is part of the binary; a parse failure is a build defect.
    Face::from_slice(FONT, 0).expect("embedded Noto Sans Bengali parses")
}

/// Whether the embedded font has a glyph for `c`.
pub fn covers(c: char) -> bool {
    face().glyph_index(c).is_some()
}

/// One shaped glyph: its id and its pen position relative to the run's origin, in font
/// units.
#[derive(Debug, Clone, Copy)]
pub struct Glyph {
    pub id: u16,
    pub x: i32,
    pub y: i32,
}

/// Shapes `s` (script and direction guessed from the text): the glyphs and the run's total
/// advance, in font units.
pub fn shape(s: &str) -> (Vec<Glyph>, i32) {
    let face = face();
    let mut buf = UnicodeBuffer::new();
    buf.push_str(s);
    buf.guess_segment_properties();
    let out = rustybuzz::shape(&face, &[], buf);
    let (mut pen_x, mut pen_y) = (0i32, 0i32);
    let glyphs = out
        .glyph_infos()
        .iter()
        .zip(out.glyph_positions())
        .map(|(info, pos)| {
            let g = Glyph {
                id: u16::try_from(info.glyph_id).unwrap_or(0),
                x: pen_x + pos.x_offset,
                y: pen_y + pos.y_offset,
            };
            pen_x += pos.x_advance;
            pen_y += pos.y_advance;
            g
        })
        .collect();
    (glyphs, pen_x)
}

/// The glyphs a page used, for the font's width table.
#[derive(Debug, Default)]
pub struct Used(BTreeMap<u16, ()>);

impl Used {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Draws `s` with its left end at `(x, y)` and returns the x where it ends. `bold` is
/// imitated by also stroking the outlines (the stroke colour must equal the fill colour).
pub fn draw(c: &mut Vec<u8>, used: &mut Used, x: f64, y: f64, size: f64, bold: bool, s: &str) -> f64 {
    let (glyphs, advance) = shape(s);
    let scale = size / f64::from(face().units_per_em());
    let mut actual = String::from("FEFF");
    for u in s.encode_utf16() {
        let _ = write!(actual, "{u:04X}");
    }
    let _ = write!(c, "/Span << /ActualText <{actual}> >> BDC BT /{RESOURCE} {size} Tf ");
    if bold {
        let _ = write!(c, "2 Tr {:.2} w ", size * 0.03);
    }
    for g in glyphs {
        used.0.insert(g.id, ());
        let _ = writeln!(
            c,
            "1 0 0 1 {:.2} {:.2} Tm <{:04X}> Tj",
            x + f64::from(g.x) * scale,
            y + f64::from(g.y) * scale,
            g.id
        );
    }
    c.extend_from_slice(b"ET EMC\n");
    x + f64::from(advance) * scale
}

/// The font's objects, numbered from `first`: the Type0 font (`first`, the one to put in
/// the page's resources), its CIDFont, the descriptor and the compressed font file.
pub fn objects(first: usize, used: &Used) -> Vec<Vec<u8>> {
    let face = face();
    let per_unit = 1000.0 / f64::from(face.units_per_em());
    let units = |v: i16| (f64::from(v) * per_unit).round() as i64;
    let mut widths = String::new();
    for &id in used.0.keys() {
        let adv = face.glyph_hor_advance(rustybuzz::ttf_parser::GlyphId(id)).unwrap_or(0);
        let _ = write!(widths, "{id} [{}] ", (f64::from(adv) * per_unit).round() as i64);
    }
    let bbox = face.global_bounding_box();
    let name = "NotoSansBengali-Regular";
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = z.write_all(FONT);
    let packed = z.finish().unwrap_or_default();
    let mut file = format!(
        "<< /Length {} /Length1 {} /Filter /FlateDecode >>\nstream\n",
        packed.len(),
        FONT.len()
    )
    .into_bytes();
    file.extend_from_slice(&packed);
    file.extend_from_slice(b"\nendstream");
    vec![
        format!(
            "<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H \
             /DescendantFonts [{} 0 R] >>",
            first + 1
        )
        .into_bytes(),
        format!(
            "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} \
             /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
             /FontDescriptor {} 0 R /CIDToGIDMap /Identity /DW 0 /W [{widths}] >>",
            first + 2
        )
        .into_bytes(),
        format!(
            "<< /Type /FontDescriptor /FontName /{name} /Flags 4 /FontBBox [{} {} {} {}] \
             /ItalicAngle 0 /Ascent {} /Descent {} /CapHeight {} /StemV 80 /FontFile2 {} 0 R >>",
            units(bbox.x_min),
            units(bbox.y_min),
            units(bbox.x_max),
            units(bbox.y_max),
            units(face.ascender()),
            units(face.descender()),
            units(face.capital_height().unwrap_or(face.ascender())),
            first + 3
        )
        .into_bytes(),
        file,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bangla_shapes_into_conjuncts() {
        // ক্ষ is three characters and one conjunct glyph.
        let (g, adv) = shape("ক্ষ");
        assert!(!g.is_empty() && g.len() < 3, "{g:?}");
        assert!(g.iter().all(|g| g.id != 0) && adv > 0, "{g:?}");
        // ি is written before the consonant it follows in the text.
        let (ki, _) = shape("কি");
        let (k, _) = shape("ক");
        assert_eq!(ki.len(), 2);
        assert_eq!(ki[1].id, k[0].id, "the consonant comes second: {ki:?}");
        let (name, _) = shape("রহিমা আক্তার");
        assert!(name.iter().all(|g| g.id != 0) && name.len() < "রহিমা আক্তার".chars().count());
    }

    #[test]
    fn digits_and_punctuation_are_covered_but_latin_letters_are_not() {
        assert!(covers('১') && covers(' ') && covers('-') && covers('4'));
        assert!(!covers('A'));
    }
}
