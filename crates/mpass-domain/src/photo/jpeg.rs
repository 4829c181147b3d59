//! JPEG: walk the marker segments, keep what decoding needs, drop the metadata.
//!
//! Kept: SOI, a JFIF APP0 (rewritten without its thumbnail), a bare Adobe APP14 (its
//! colour-transform flag changes how the pixels decode, and it carries no user data),
//! DQT, DHT, DAC, DRI, the frame header and every scan with its entropy-coded data,
//! and EOI. Dropped: APP1–APP15 otherwise (EXIF, XMP, ICC, Photoshop IRB...), COM, and
//! anything after EOI. Only the frame types browsers show are accepted: baseline,
//! extended sequential and progressive Huffman, 8-bit.

use super::{PhotoError, Sanitized, check_dimensions, corrupt};

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const DQT: u8 = 0xDB;
const DHT: u8 = 0xC4;
const DAC: u8 = 0xCC;
const DRI: u8 = 0xDD;
const APP0: u8 = 0xE0;
const APP14: u8 = 0xEE;
const COM: u8 = 0xFE;

pub(super) fn sanitize(input: &[u8]) -> Result<Sanitized, PhotoError> {
    if !input.starts_with(&[0xFF, SOI]) {
        return Err(corrupt("jpeg: no start-of-image marker"));
    }
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&[0xFF, SOI]);
    let mut pos = 2;
    let mut frame: Option<(u32, u32)> = None;
    let mut scans = 0usize;
    loop {
        let marker = read_marker(input, &mut pos)?;
        match marker {
            EOI => {
                if scans == 0 {
                    return Err(corrupt("jpeg: no scan before end of image"));
                }
                out.extend_from_slice(&[0xFF, EOI]);
                break;
            }
            SOS => {
                let payload = segment(input, &mut pos)?;
                if frame.is_none() {
                    return Err(corrupt("jpeg: scan before frame header"));
                }
                check_scan_header(payload)?;
                push_segment(&mut out, SOS, payload);
                let end = scan_end(input, pos)?;
                out.extend_from_slice(&input[pos..end]);
                pos = end;
                scans += 1;
            }
            0xC0..=0xC2 => {
                let payload = segment(input, &mut pos)?;
                if frame.is_some() {
                    return Err(corrupt("jpeg: more than one frame header"));
                }
                let (width, height) = parse_frame_header(payload)?;
                check_dimensions(width, height)?;
                frame = Some((width, height));
                push_segment(&mut out, marker, payload);
            }
            // Lossless, hierarchical and arithmetic-coded frames: valid JPEG, but not
            // something a browser or a checkpoint phone can show.
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(PhotoError::UnsupportedType);
            }
            DQT | DHT | DAC | DRI => {
                let payload = segment(input, &mut pos)?;
                push_segment(&mut out, marker, payload);
            }
            APP0 => {
                if let Some(jfif) = jfif_without_thumbnail(segment(input, &mut pos)?) {
                    push_segment(&mut out, APP0, &jfif);
                }
            }
            APP14 => {
                let payload = segment(input, &mut pos)?;
                if payload.len() == 12 && payload.starts_with(b"Adobe") {
                    push_segment(&mut out, APP14, payload);
                }
            }
            0xE1..=0xEF | COM => {
                segment(input, &mut pos)?;
            }
            // SOI again, RSTn or TEM outside a scan, DNL (height 0 was refused), and
            // reserved or extension markers.
            _ => return Err(corrupt("jpeg: unexpected marker")),
        }
    }
    let (width, height) = frame.ok_or(corrupt("jpeg: no frame header"))?;
    Ok(Sanitized {
        bytes: out,
        width,
        height,
    })
}

/// Reads a marker at `pos` (0xFF, optional 0xFF fill bytes, the code) and moves past it.
fn read_marker(input: &[u8], pos: &mut usize) -> Result<u8, PhotoError> {
    if input.get(*pos) != Some(&0xFF) {
        return Err(corrupt("jpeg: expected a marker"));
    }
    let mut i = *pos + 1;
    while input.get(i) == Some(&0xFF) {
        i += 1;
    }
    let code = *input.get(i).ok_or(corrupt("jpeg: truncated marker"))?;
    if code == 0x00 {
        return Err(corrupt("jpeg: stuffed byte outside a scan"));
    }
    *pos = i + 1;
    Ok(code)
}

/// Reads a length-prefixed segment at `pos`, returns its payload and moves past it.
fn segment<'a>(input: &'a [u8], pos: &mut usize) -> Result<&'a [u8], PhotoError> {
    let len_bytes = input
        .get(*pos..*pos + 2)
        .ok_or(corrupt("jpeg: truncated segment length"))?;
    let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
    if len < 2 {
        return Err(corrupt("jpeg: segment length below 2"));
    }
    let payload = input
        .get(*pos + 2..*pos + len)
        .ok_or(corrupt("jpeg: truncated segment"))?;
    *pos += len;
    Ok(payload)
}

fn push_segment(out: &mut Vec<u8>, marker: u8, payload: &[u8]) {
    // Payloads come from a u16 length (or are built shorter), so this cannot overflow.
    let len = u16::try_from(payload.len() + 2).unwrap_or(u16::MAX);
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
}

/// Parses a SOF0–SOF2 payload: 8-bit samples, 1–4 components, sane sampling factors.
fn parse_frame_header(p: &[u8]) -> Result<(u32, u32), PhotoError> {
    let (&precision, rest) = p.split_first().ok_or(corrupt("jpeg: empty frame header"))?;
    if rest.len() < 5 {
        return Err(corrupt("jpeg: short frame header"));
    }
    if precision != 8 {
        return Err(PhotoError::UnsupportedType);
    }
    let height = u32::from(u16::from_be_bytes([rest[0], rest[1]]));
    let width = u32::from(u16::from_be_bytes([rest[2], rest[3]]));
    let components = usize::from(rest[4]);
    if !(1..=4).contains(&components) || rest.len() != 5 + 3 * components {
        return Err(corrupt("jpeg: bad frame components"));
    }
    for c in rest[5..].chunks_exact(3) {
        let (h, v, tq) = (c[1] >> 4, c[1] & 0x0F, c[2]);
        if !(1..=4).contains(&h) || !(1..=4).contains(&v) || tq > 3 {
            return Err(corrupt("jpeg: bad frame component"));
        }
    }
    Ok((width, height))
}

/// Checks a SOS payload: 1–4 components and the matching length.
fn check_scan_header(p: &[u8]) -> Result<(), PhotoError> {
    let n = usize::from(*p.first().ok_or(corrupt("jpeg: empty scan header"))?);
    if !(1..=4).contains(&n) || p.len() != 1 + 2 * n + 3 {
        return Err(corrupt("jpeg: bad scan header"));
    }
    Ok(())
}

/// Finds the end of the entropy-coded data starting at `pos`: the index of the 0xFF
/// of the next marker that is not a stuffed byte or a restart marker.
fn scan_end(input: &[u8], mut pos: usize) -> Result<usize, PhotoError> {
    loop {
        let ff = input
            .get(pos..)
            .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
            .map(|i| pos + i)
            .ok_or(corrupt("jpeg: truncated scan"))?;
        match input.get(ff + 1) {
            None => return Err(corrupt("jpeg: truncated scan")),
            Some(0x00 | 0xD0..=0xD7) => pos = ff + 2,
            Some(0xFF) => pos = ff + 1,
            Some(_) => return Ok(ff),
        }
    }
}

/// A JFIF APP0 payload rebuilt with no thumbnail; `None` for any other APP0 (JFXX, AVI1).
fn jfif_without_thumbnail(p: &[u8]) -> Option<Vec<u8>> {
    if p.len() < 14 || !p.starts_with(b"JFIF\0") {
        return None;
    }
    let mut jfif = p[..12].to_vec(); // identifier, version, units, densities
    jfif.extend_from_slice(&[0, 0]); // thumbnail width and height
    Some(jfif)
}
