//! The standard Helvetica fonts of the pass PDF: WinAnsi text encoding, coverage and widths.

/// Text for a PDF string in WinAnsi: Latin-1 kept, anything else becomes `?`.
pub(super) fn pdf_text(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        let b = match c {
            '(' | ')' | '\\' => {
                out.push(b'\\');
                c as u8
            }
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '–' | '—' => b'-',
            '→' => b'>',
            _ => b'?',
        };
        out.push(b);
    }
    out
}

/// Whether Helvetica (WinAnsi) can show `c`; see [`pdf_text`].
pub(super) fn helvetica_has(c: char) -> bool {
    matches!(c, ' '..='~' | '\u{a0}'..='\u{ff}' | '–' | '—' | '→')
}

/// Helvetica and Helvetica-Bold advance widths (per 1000 em) of ASCII 32–126, from the
/// standard AFM files; other WinAnsi characters are taken as 556.
const HELVETICA_W: [[u16; 95]; 2] = [
    [
        278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556,
        556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667,
        556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556,
        556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722,
        500, 500, 500, 334, 260, 334, 584,
    ],
    [
        278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556,
        556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722,
        611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, 333, 556,
        611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778,
        556, 556, 500, 389, 280, 389, 584,
    ],
];

/// The width of `s` in Helvetica (or Helvetica-Bold) at `size`.
pub(super) fn helvetica_width(s: &str, size: f64, bold: bool) -> f64 {
    let table = &HELVETICA_W[usize::from(bold)];
    let units: u32 = s
        .chars()
        .map(|c| match c {
            ' '..='~' => u32::from(table[c as usize - 32]),
            _ => 556,
        })
        .sum();
    f64::from(units) * size / 1000.0
}
