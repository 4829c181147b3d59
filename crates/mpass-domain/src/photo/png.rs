//! PNG: walk the chunks, keep what rendering needs, drop the rest, then decode to prove it.
//!
//! Kept: IHDR, PLTE, IDAT, IEND and the colour/size chunks tRNS, gAMA, sRGB, cHRM, pHYs.
//! Dropped: every other ancillary chunk (tEXt, zTXt, iTXt, eXIf, tIME, iCCP, APNG frames,
//! private chunks...) and anything after IEND. An unknown critical chunk is refused, as
//! the image could not be shown without it.

use super::{PhotoError, Sanitized, check_dimensions, corrupt};
use std::io::Cursor;

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
const KEPT: [&[u8; 4]; 9] = [
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"sRGB", b"cHRM", b"pHYs",
];
/// Memory the decoder may allocate; it decodes one row at a time, so a row of the widest
/// accepted image (8000 px × 8 bytes, twice for unfiltering) fits easily.
const DECODER_MEMORY: usize = 4 * 1024 * 1024;

pub(super) fn sanitize(input: &[u8]) -> Result<Sanitized, PhotoError> {
    if !input.starts_with(&SIGNATURE) {
        return Err(corrupt("png: bad signature"));
    }
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&SIGNATURE);
    let mut pos = SIGNATURE.len();
    let mut size: Option<(u32, u32)> = None;
    let mut has_image_data = false;
    loop {
        let Chunk { kind, data, whole } = next_chunk(input, &mut pos)?;
        match size {
            None if kind != b"IHDR" => return Err(corrupt("png: first chunk is not IHDR")),
            None => {
                let (width, height) = parse_header(data)?;
                // Before any decoding: a small file can claim a huge image.
                check_dimensions(width, height)?;
                size = Some((width, height));
            }
            Some(_) if kind == b"IHDR" => return Err(corrupt("png: second IHDR")),
            Some(_) => {}
        }
        has_image_data |= kind == b"IDAT";
        if KEPT.contains(&kind) {
            out.extend_from_slice(whole);
        } else if kind[0].is_ascii_uppercase() {
            return Err(corrupt("png: unknown critical chunk"));
        }
        if kind == b"IEND" {
            break;
        }
    }
    let (width, height) = size.ok_or(corrupt("png: no header"))?;
    if !has_image_data {
        return Err(corrupt("png: no image data"));
    }
    decode(&out, width, height)?;
    Ok(Sanitized {
        bytes: out,
        width,
        height,
    })
}

/// One chunk of a PNG file, borrowed from the input.
struct Chunk<'a> {
    kind: &'a [u8; 4],
    data: &'a [u8],
    /// Length, type, data and CRC: the bytes to copy when the chunk is kept.
    whole: &'a [u8],
}

/// Reads the chunk at `pos`, checks its CRC and moves past it.
fn next_chunk<'a>(input: &'a [u8], pos: &mut usize) -> Result<Chunk<'a>, PhotoError> {
    let head = input.get(*pos..*pos + 8).ok_or(corrupt("png: truncated chunk"))?;
    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    if len > 0x7FFF_FFFF {
        return Err(corrupt("png: chunk length out of range"));
    }
    let end = (*pos + 12)
        .checked_add(len as usize)
        .ok_or(corrupt("png: chunk length out of range"))?;
    let whole = input.get(*pos..end).ok_or(corrupt("png: truncated chunk"))?;
    let kind: &[u8; 4] = whole[4..8].try_into().map_err(|_| corrupt("png: truncated chunk"))?;
    if !kind.iter().all(u8::is_ascii_alphabetic) {
        return Err(corrupt("png: bad chunk type"));
    }
    let (body, stored) = whole[4..].split_at(whole.len() - 8);
    if crc32(body).to_be_bytes() != stored {
        return Err(corrupt("png: chunk checksum mismatch"));
    }
    *pos = end;
    Ok(Chunk {
        kind,
        data: &body[4..],
        whole,
    })
}

/// Parses IHDR: size, a valid bit depth for the colour type, standard methods.
fn parse_header(d: &[u8]) -> Result<(u32, u32), PhotoError> {
    if d.len() != 13 {
        return Err(corrupt("png: bad IHDR length"));
    }
    let width = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
    let height = u32::from_be_bytes([d[4], d[5], d[6], d[7]]);
    let (depth, colour) = (d[8], d[9]);
    let depth_ok = match colour {
        0 => matches!(depth, 1 | 2 | 4 | 8 | 16),
        3 => matches!(depth, 1 | 2 | 4 | 8),
        2 | 4 | 6 => matches!(depth, 8 | 16),
        _ => false,
    };
    if !depth_ok || d[10] != 0 || d[11] != 0 || d[12] > 1 {
        return Err(corrupt("png: bad IHDR fields"));
    }
    Ok((width, height))
}

/// Decodes every row of the rebuilt file, which proves it is a complete, valid image.
fn decode(png_bytes: &[u8], width: u32, height: u32) -> Result<(), PhotoError> {
    // `::png` is the png crate, not this module.
    let limits = ::png::Limits { bytes: DECODER_MEMORY };
    let decoder = ::png::Decoder::new_with_limits(Cursor::new(png_bytes), limits);
    let mut reader = decoder.read_info().map_err(|_| corrupt("png: does not decode"))?;
    let info = reader.info();
    if (info.width, info.height) != (width, height) {
        return Err(corrupt("png: header mismatch"));
    }
    while reader
        .next_row()
        .map_err(|_| corrupt("png: does not decode"))?
        .is_some()
    {}
    Ok(())
}

/// CRC-32 (ISO-HDLC, as used by PNG and zlib), table-driven.
pub(super) fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut n = 0;
        while n < 256 {
            let mut c = n as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
                k += 1;
            }
            table[n] = c;
            n += 1;
        }
        table
    };
    !bytes
        .iter()
        .fold(!0u32, |c, &b| TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8))
}
