//! Tests of the photo sanitiser: real images in, metadata out, hostile bytes refused.

use super::png::crc32;
use super::*;

/// 80×64 baseline JPEG made with Pillow, carrying EXIF (camera make/model and a GPS
/// position), XMP (an author), an ICC profile and a comment.
pub(super) const JPEG: &[u8] = include_bytes!("../testdata/exif_gps.jpg");
/// The same picture and metadata, progressive.
pub(super) const JPEG_PROGRESSIVE: &[u8] = include_bytes!("../testdata/exif_gps_progressive.jpg");
const METADATA_NEEDLES: [&[u8]; 7] = [
    b"Exif\0\0",
    b"MpassTestCam",
    b"http://ns.adobe.com/xap/1.0/",
    b"Secret Author",
    b"ICC_PROFILE",
    b"secret comment",
    b"\x88\x25\x00\x04", // EXIF tag 0x8825, type LONG: the pointer to the GPS IFD
];

fn encode_png(width: u32, height: u32, colour: ::png::ColorType) -> Vec<u8> {
    let channels = match colour {
        ::png::ColorType::Grayscale | ::png::ColorType::Indexed => 1,
        ::png::ColorType::GrayscaleAlpha => 2,
        ::png::ColorType::Rgb => 3,
        ::png::ColorType::Rgba => 4,
    };
    let pixels: Vec<u8> = (0..width * height * channels)
        .map(|i| {
            if colour == ::png::ColorType::Indexed {
                (i % 4) as u8
            } else {
                (i * 7 % 251) as u8
            }
        })
        .collect();
    let mut out = Vec::new();
    let mut encoder = ::png::Encoder::new(&mut out, width, height);
    encoder.set_color(colour);
    encoder.set_depth(::png::BitDepth::Eight);
    if colour == ::png::ColorType::Indexed {
        encoder.set_palette(vec![0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]);
        encoder.set_trns(vec![255, 128, 0, 255]);
    }
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&pixels).unwrap();
    writer.finish().unwrap();
    out
}

pub(super) fn small_png() -> Vec<u8> {
    encode_png(64, 64, ::png::ColorType::Rgb)
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    c.extend_from_slice(&crc32(&c[4..]).to_be_bytes());
    c
}

/// Inserts chunks right after IHDR (signature 8 bytes + IHDR chunk 25 bytes).
fn insert_after_header(png: &[u8], chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut out = png[..33].to_vec();
    chunks.iter().for_each(|c| out.extend_from_slice(c));
    out.extend_from_slice(&png[33..]);
    out
}

fn chunk_types(png: &[u8]) -> Vec<String> {
    let mut pos = 8;
    let mut types = Vec::new();
    while pos + 12 <= png.len() {
        let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
        types.push(String::from_utf8_lossy(&png[pos + 4..pos + 8]).into_owned());
        pos += 12 + len;
    }
    types
}

fn decode_png(png: &[u8]) -> Vec<u8> {
    let mut reader = ::png::Decoder::new(std::io::Cursor::new(png)).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    reader.next_frame(&mut buf).unwrap();
    buf
}

/// Rewrites every chunk's CRC, so mutated chunk data reaches the decoder.
pub(super) fn fix_crcs(png: &mut [u8]) {
    let mut pos = 8;
    while pos + 12 <= png.len() {
        let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
        let Some(end) = (pos + 12).checked_add(len).filter(|&e| e <= png.len()) else {
            return;
        };
        let crc = crc32(&png[pos + 4..end - 4]);
        png[end - 4..end].copy_from_slice(&crc.to_be_bytes());
        pos = end;
    }
}

/// The markers of a JPEG's segments, in order, skipping entropy-coded data.
fn jpeg_markers(jpeg: &[u8]) -> Vec<u8> {
    let mut markers = vec![jpeg[1]];
    let mut pos = 2;
    while pos + 1 < jpeg.len() {
        let marker = jpeg[pos + 1];
        markers.push(marker);
        if marker == 0xD9 {
            break;
        }
        let len = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
        pos += 2 + len;
        if marker == 0xDA {
            // Skip entropy-coded data up to the next real marker.
            while jpeg[pos] != 0xFF || matches!(jpeg[pos + 1], 0x00 | 0xD0..=0xD7) {
                pos += 1;
            }
        }
    }
    markers
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn is_corrupt(r: Result<Photo, PhotoError>) -> bool {
    matches!(r, Err(PhotoError::Corrupt { .. }))
}

#[test]
fn png_text_and_exif_chunks_are_stripped_and_the_image_still_decodes() {
    let clean = small_png();
    let dirty = insert_after_header(
        &clean,
        &[
            chunk(b"tEXt", b"Author\0Secret Author"),
            chunk(b"eXIf", b"MM\0*\0\0\0\x08GPS-lat-lon"),
            chunk(b"tIME", &[7, 0xE5, 5, 1, 12, 0, 0]),
            chunk(b"prVt", b"private"),
        ],
    );
    let mut dirty = dirty;
    dirty.extend_from_slice(b"trailing bytes after IEND");
    assert!(contains(&dirty, b"Secret Author"));

    let photo = sanitize_photo(&dirty).unwrap();
    assert_eq!(photo.kind, ImageKind::Png);
    assert_eq!((photo.width, photo.height), (64, 64));
    assert_eq!(chunk_types(&photo.bytes), ["IHDR", "IDAT", "IEND"]);
    assert!(!contains(&photo.bytes, b"Secret Author") && !contains(&photo.bytes, b"GPS"));
    assert_eq!(photo.bytes, clean, "only the added chunks and the trailer are removed");
    assert_eq!(decode_png(&photo.bytes), decode_png(&clean));
}

#[test]
fn png_colour_chunks_are_kept() {
    let indexed = encode_png(64, 64, ::png::ColorType::Indexed);
    let with_colour = insert_after_header(
        &indexed,
        &[chunk(b"gAMA", &45455u32.to_be_bytes()), chunk(b"iCCP", b"sRGB\0\0xxxx")],
    );
    let photo = sanitize_photo(&with_colour).unwrap();
    let types = chunk_types(&photo.bytes);
    assert_eq!(types, ["IHDR", "gAMA", "PLTE", "tRNS", "IDAT", "IEND"]);
    assert_eq!(decode_png(&photo.bytes), decode_png(&indexed));
}

#[test]
fn jpeg_metadata_segments_are_removed() {
    for (input, sof) in [(JPEG, 0xC0), (JPEG_PROGRESSIVE, 0xC2)] {
        let before = jpeg_markers(input);
        assert!(before.contains(&0xE1) && before.contains(&0xE2) && before.contains(&0xFE));
        assert!(METADATA_NEEDLES.iter().all(|n| contains(input, n)));

        let photo = sanitize_photo(input).unwrap();
        assert_eq!(photo.kind, ImageKind::Jpeg);
        assert_eq!((photo.width, photo.height), (80, 64));
        let after = jpeg_markers(&photo.bytes);
        assert_eq!(after.first(), Some(&0xD8));
        assert_eq!(after.last(), Some(&0xD9));
        assert!(after.contains(&0xE0) && after.contains(&sof) && after.contains(&0xDA));
        assert!(!after.iter().any(|m| matches!(m, 0xE1..=0xEF | 0xFE)), "{after:x?}");
        for needle in METADATA_NEEDLES {
            assert!(
                !contains(&photo.bytes, needle),
                "{:?} left",
                String::from_utf8_lossy(needle)
            );
        }
        // Everything from the first quantisation table on is untouched.
        let dqt = |b: &[u8]| b.windows(2).position(|w| w == [0xFF, 0xDB]).unwrap();
        assert_eq!(&photo.bytes[dqt(&photo.bytes)..], &input[dqt(input)..]);
        assert_eq!(sanitize_photo(&photo.bytes), Ok(photo.clone()), "idempotent");
    }
}

#[test]
fn jpeg_trailing_bytes_and_fill_bytes_are_dropped() {
    let clean = sanitize_photo(JPEG).unwrap();
    let mut trailing = JPEG.to_vec();
    trailing.extend_from_slice(b"PK\x03\x04 a zip file hiding behind the image");
    assert_eq!(sanitize_photo(&trailing).unwrap(), clean);

    // 0xFF fill bytes before a marker are legal and removed.
    let mut filled = JPEG[..2].to_vec();
    filled.extend_from_slice(&[0xFF, 0xFF, 0xFF]);
    filled.extend_from_slice(&JPEG[2..]);
    assert_eq!(sanitize_photo(&filled).unwrap(), clean);
}

#[test]
fn jfif_thumbnail_is_removed() {
    // APP0 JFIF with a 1×1 RGB thumbnail (3 bytes).
    let app0 = [
        0xFF, 0xE0, 0x00, 0x13, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0xAB, 0xCD, 0xEF,
    ];
    let clean = sanitize_photo(JPEG).unwrap();
    let app0_len = usize::from(u16::from_be_bytes([JPEG[4], JPEG[5]]));
    let mut with_thumb = JPEG[..2].to_vec();
    with_thumb.extend_from_slice(&app0);
    with_thumb.extend_from_slice(&JPEG[4 + app0_len..]);
    let photo = sanitize_photo(&with_thumb).unwrap();
    assert!(!contains(&photo.bytes, &[0xAB, 0xCD, 0xEF]));
    assert_eq!(&photo.bytes[2..6], &[0xFF, 0xE0, 0x00, 0x10]);
    assert_eq!(photo.bytes.len(), clean.bytes.len());
}

#[test]
fn type_comes_from_content() {
    // There is no name to go by: whatever a client called the file, the bytes decide.
    assert_eq!(sanitize_photo(&small_png()).unwrap().kind, ImageKind::Png);
    assert_eq!(sanitize_photo(JPEG).unwrap().kind, ImageKind::Jpeg);
    assert_eq!(ImageKind::sniff(&small_png()), Some(ImageKind::Png));
    assert_eq!(ImageKind::Png.content_type(), "image/png");
    assert_eq!(ImageKind::Jpeg.content_type(), "image/jpeg");
    assert_eq!(ImageKind::Jpeg.extension(), "jpg");
}

#[test]
fn other_formats_are_unsupported() {
    let inputs: [&[u8]; 8] = [
        b"",
        b"GIF89a\x40\x00\x40\x00\x80\x00\x00",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        b"just some text, named photo.png",
        b"RIFF\x24\x00\x00\x00WEBPVP8 ",
        b"BM\x3e\x00\x00\x00",
        b"\x00\x00\x00\x0cjP  \r\n\x87\n",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    ];
    for input in inputs {
        assert_eq!(sanitize_photo(input), Err(PhotoError::UnsupportedType), "{input:?}");
    }
}

#[test]
fn truncated_files_are_corrupt() {
    for full in [small_png(), JPEG.to_vec(), JPEG_PROGRESSIVE.to_vec()] {
        for len in 0..full.len() {
            let result = sanitize_photo(&full[..len]);
            let magic = if full[0] == 0xFF { 2 } else { 4 };
            if len < magic {
                assert_eq!(result, Err(PhotoError::UnsupportedType), "len {len}");
            } else {
                assert!(is_corrupt(result.clone()), "len {len}: {result:?}");
            }
        }
    }
}

#[test]
fn damaged_png_is_corrupt() {
    let png = small_png();
    let idat = chunk_types(&png).iter().position(|t| t == "IDAT").unwrap();
    assert_eq!(idat, 1);
    let data_start = 33 + 8;

    let mut bad_crc = png.clone();
    bad_crc[data_start + 3] ^= 0x55;
    assert!(is_corrupt(sanitize_photo(&bad_crc)));

    // Garbage image data with a correct CRC gets past the chunk walk; decoding refuses it.
    let mut bad_data = png.clone();
    bad_data[data_start..data_start + 16].copy_from_slice(b"not zlib data!!!");
    fix_crcs(&mut bad_data);
    assert_eq!(
        sanitize_photo(&bad_data),
        Err(PhotoError::Corrupt {
            reason: "png: does not decode"
        })
    );

    let critical = insert_after_header(&png, &[chunk(b"CgBI", &[0, 0, 0, 0])]);
    assert!(is_corrupt(sanitize_photo(&critical)));

    let no_idat = [&png[..33], &chunk(b"IEND", b"")[..]].concat();
    assert!(is_corrupt(sanitize_photo(&no_idat)));
}

#[test]
fn dimensions_are_checked() {
    let tiny = encode_png(32, 32, ::png::ColorType::Grayscale);
    assert_eq!(
        sanitize_photo(&tiny),
        Err(PhotoError::Dimensions { width: 32, height: 32 })
    );
    let wide = encode_png(8001, 64, ::png::ColorType::Grayscale);
    assert_eq!(
        sanitize_photo(&wide),
        Err(PhotoError::Dimensions {
            width: 8001,
            height: 64
        })
    );
    assert!(sanitize_photo(&encode_png(8000, 64, ::png::ColorType::Grayscale)).is_ok());

    // A tiny file that claims a huge image is refused before any decoding.
    for (w, h) in [(100_000u32, 100_000u32), (7_000, 7_000), (0, 100)] {
        let mut ihdr = w.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        let bomb = [
            &small_png()[..8],
            &chunk(b"IHDR", &ihdr),
            &chunk(b"IDAT", b"x"),
            &chunk(b"IEND", b""),
        ]
        .concat();
        assert_eq!(
            sanitize_photo(&bomb),
            Err(PhotoError::Dimensions { width: w, height: h })
        );
    }

    let sof = JPEG.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    for (height, err) in [(32u16, true), (0, true), (64, false)] {
        let mut jpeg = JPEG.to_vec();
        jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
        let expected = Err(PhotoError::Dimensions {
            width: 80,
            height: u32::from(height),
        });
        assert_eq!(sanitize_photo(&jpeg) == expected, err, "height {height}");
    }
}

#[test]
fn unsupported_jpeg_variants() {
    let sof = JPEG.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    for marker in [0xC3, 0xC9, 0xCA] {
        let mut jpeg = JPEG.to_vec();
        jpeg[sof + 1] = marker;
        assert_eq!(sanitize_photo(&jpeg), Err(PhotoError::UnsupportedType), "{marker:x}");
    }
    let mut twelve_bit = JPEG.to_vec();
    twelve_bit[sof + 4] = 12;
    assert_eq!(sanitize_photo(&twelve_bit), Err(PhotoError::UnsupportedType));
}

#[test]
fn size_limit() {
    let mut big = small_png();
    big.resize(MAX_PHOTO_BYTES + 1, 0);
    assert_eq!(
        sanitize_photo(&big),
        Err(PhotoError::TooLarge {
            size: MAX_PHOTO_BYTES + 1
        })
    );
    // Exactly at the limit is accepted (the padding after IEND is then dropped).
    big.truncate(MAX_PHOTO_BYTES);
    assert_eq!(sanitize_photo(&big).unwrap().bytes, small_png());
}

#[test]
fn error_codes_and_messages() {
    let errors = [
        PhotoError::TooLarge { size: 1 },
        PhotoError::UnsupportedType,
        PhotoError::Corrupt {
            reason: "internal-reason",
        },
        PhotoError::Dimensions { width: 1, height: 1 },
    ];
    let codes: Vec<_> = errors.iter().map(PhotoError::code).collect();
    assert_eq!(
        codes,
        [
            "photo_too_large",
            "photo_unsupported_type",
            "photo_corrupt",
            "photo_dimensions"
        ]
    );
    for e in &errors {
        assert!(!e.to_string().is_empty() && !e.message_bn().is_empty());
        assert!(!e.to_string().contains("internal-reason"), "reason not shown: {e}");
    }
}

#[test]
fn crc32_known_answer() {
    assert_eq!(crc32(b""), 0);
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(crc32(b"IEND"), 0xAE42_6082);
}
