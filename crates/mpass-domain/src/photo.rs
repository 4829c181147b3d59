//! Profile photos: accept only real JPEG or PNG images and strip their metadata (SPEC §3).
//!
//! A photo is judged by its bytes, never by its name or declared content type. The
//! sanitiser rebuilds the file from a whitelist of the parts needed to show the image,
//! so EXIF (with its GPS position), XMP, ICC profiles, comments, text chunks and
//! thumbnails never reach storage, and anything after the end of the image is dropped.
//! PNGs are fully decoded (row by row, so memory stays bounded) to prove they are
//! images; JPEGs are checked structurally, since decoding them would need a JPEG decoder.
//! All parsing is bounds-checked and never panics; on large inputs it is CPU work worth
//! running off the async executor (`spawn_blocking`).

mod jpeg;
mod png;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

/// Largest photo accepted, in bytes (2 MiB).
pub const MAX_PHOTO_BYTES: usize = 2 * 1024 * 1024;
/// Smallest accepted width and height, in pixels: smaller cannot identify a face.
pub const MIN_PHOTO_SIDE: u32 = 64;
/// Largest accepted width and height, in pixels.
pub const MAX_PHOTO_SIDE: u32 = 8000;
/// Largest accepted pixel count (width × height), which bounds decoding work.
pub const MAX_PHOTO_PIXELS: u64 = 40_000_000;

/// The image formats accepted for photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageKind {
    Jpeg,
    Png,
}

impl ImageKind {
    /// The format these bytes claim by their magic number, if one we accept.
    pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
        if bytes.starts_with(&[0xFF, 0xD8]) {
            Some(ImageKind::Jpeg)
        } else if bytes.starts_with(b"\x89PNG") {
            Some(ImageKind::Png)
        } else {
            None
        }
    }

    /// The MIME type to store and serve the photo with.
    pub fn content_type(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Png => "image/png",
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "jpg",
            ImageKind::Png => "png",
        }
    }
}

/// A photo that passed [`sanitize_photo`]: a valid image with its metadata removed.
#[derive(Clone, PartialEq, Eq)]
pub struct Photo {
    pub kind: ImageKind,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

// Not derived: the bytes would flood any log line the photo ends up in.
impl std::fmt::Debug for Photo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Photo")
            .field("kind", &self.kind)
            .field("bytes", &self.bytes.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

/// Why a photo was refused. [`PhotoError::code`] is stable; clients may switch on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("The photo is larger than 2 MiB.")]
    TooLarge { size: usize },
    #[error("The photo must be a JPEG or PNG image.")]
    UnsupportedType,
    /// `reason` says what was wrong, for logs; it is not shown to the citizen.
    #[error("The photo file is damaged or incomplete.")]
    Corrupt { reason: &'static str },
    #[error("The photo must be between 64 and 8000 pixels wide and high.")]
    Dimensions { width: u32, height: u32 },
}

impl PhotoError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            PhotoError::TooLarge { .. } => "photo_too_large",
            PhotoError::UnsupportedType => "photo_unsupported_type",
            PhotoError::Corrupt { .. } => "photo_corrupt",
            PhotoError::Dimensions { .. } => "photo_dimensions",
        }
    }

    /// The message in Bangla (the English one is the `Display` text).
    pub fn message_bn(&self) -> &'static str {
        match self {
            PhotoError::TooLarge { .. } => "ছবির আকার ২ MiB-এর বেশি হতে পারবে না।",
            PhotoError::UnsupportedType => "ছবিটি JPEG অথবা PNG হতে হবে।",
            PhotoError::Corrupt { .. } => "ছবির ফাইলটি ত্রুটিপূর্ণ বা অসম্পূর্ণ।",
            PhotoError::Dimensions { .. } => "ছবির দৈর্ঘ্য ও প্রস্থ ৬৪ থেকে ৮০০০ পিক্সেলের মধ্যে হতে হবে।",
        }
    }
}

pub(crate) fn corrupt(reason: &'static str) -> PhotoError {
    PhotoError::Corrupt { reason }
}

/// Refuses sizes outside [`MIN_PHOTO_SIDE`]..=[`MAX_PHOTO_SIDE`] or above [`MAX_PHOTO_PIXELS`].
fn check_dimensions(width: u32, height: u32) -> Result<(), PhotoError> {
    let sides = MIN_PHOTO_SIDE..=MAX_PHOTO_SIDE;
    if sides.contains(&width) && sides.contains(&height) && u64::from(width) * u64::from(height) <= MAX_PHOTO_PIXELS {
        Ok(())
    } else {
        Err(PhotoError::Dimensions { width, height })
    }
}

/// Checks that `input` is a JPEG or PNG photo of acceptable size and returns it with all
/// metadata removed. The type is decided by the bytes alone.
pub fn sanitize_photo(input: &[u8]) -> Result<Photo, PhotoError> {
    if input.len() > MAX_PHOTO_BYTES {
        return Err(PhotoError::TooLarge { size: input.len() });
    }
    let kind = ImageKind::sniff(input).ok_or(PhotoError::UnsupportedType)?;
    let image = match kind {
        ImageKind::Jpeg => jpeg::sanitize(input)?,
        ImageKind::Png => png::sanitize(input)?,
    };
    Ok(Photo {
        kind,
        bytes: image.bytes,
        width: image.width,
        height: image.height,
    })
}

/// What a format sanitiser hands back.
struct Sanitized {
    bytes: Vec<u8>,
    width: u32,
    height: u32,
}
