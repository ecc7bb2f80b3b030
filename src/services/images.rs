//! Uploaded images are decoded and encoded again before they are stored, so what natter
//! serves is only pixels: metadata (EXIF with its GPS position, XMP, text chunks, comments)
//! does not survive, nor anything appended or hidden in the file, and a polyglot (a file that
//! is an image and also HTML, a script or an archive) either fails to decode (refused) or
//! comes out as a plain image. The EXIF orientation is applied to the pixels first, so photos
//! stay upright without it.
//!
//! PNG stays PNG, JPEG stays JPEG (quality 90) and GIF stays GIF, animation included. WebP
//! becomes PNG (with transparency) or JPEG (without): the `image` crate encodes WebP only
//! losslessly, which would make a photo many times larger. Decoding is bounded (dimensions,
//! memory, frames) so that a small file that declares huge pixels is refused, not decoded.

use std::io::Cursor;

use image::codecs::gif::{GifDecoder, GifEncoder, Repeat};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{AnimationDecoder, DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};

/// The largest width or height accepted.
const MAX_SIDE: u32 = 12_000;
/// The most memory a decode may allocate (a 12000×5000 RGBA image is 240 MB).
const MAX_ALLOC: u64 = 256 * 1024 * 1024;
/// The most frames of an animated GIF.
const MAX_FRAMES: usize = 1_000;
const JPEG_QUALITY: u8 = 90;

/// An image as stored: the re-encoded bytes and their type.
#[derive(Debug)]
pub struct CleanImage {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub ext: &'static str,
}

/// Why an image was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Not a decodable image of an accepted type (corrupt, truncated, or only looks like one).
    Undecodable,
    /// Over the dimension, memory or frame bounds.
    TooManyPixels,
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

fn refused(e: ImageError) -> Refused {
    match e {
        ImageError::Limits(_) => Refused::TooManyPixels,
        _ => Refused::Undecodable,
    }
}

/// Decodes `bytes` (sniffed as `content_type`) and encodes the pixels again. CPU-bound: call
/// it on a blocking thread.
pub fn reencode(bytes: &[u8], content_type: &str) -> Result<CleanImage, Refused> {
    let format = match content_type {
        "image/png" => ImageFormat::Png,
        "image/jpeg" => ImageFormat::Jpeg,
        "image/gif" => return reencode_gif(bytes),
        "image/webp" => ImageFormat::WebP,
        _ => return Err(Refused::Undecodable),
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits());
    let mut decoder = reader.into_decoder().map_err(refused)?;
    let orientation = decoder.orientation().map_err(refused)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(refused)?;
    image.apply_orientation(orientation);
    let mut out = Vec::with_capacity(bytes.len());
    let (content_type, ext) = match format {
        ImageFormat::Jpeg => {
            write_jpeg(&image, &mut out)?;
            ("image/jpeg", "jpg")
        }
        ImageFormat::WebP if !image.color().has_alpha() => {
            write_jpeg(&image, &mut out)?;
            ("image/jpeg", "jpg")
        }
        _ => {
            image.write_with_encoder(PngEncoder::new(&mut out)).map_err(refused)?;
            ("image/png", "png")
        }
    };
    Ok(CleanImage { bytes: out, content_type, ext })
}

fn write_jpeg(image: &DynamicImage, out: &mut Vec<u8>) -> Result<(), Refused> {
    // JPEG has no alpha and at most 8 bits per channel.
    let rgb = DynamicImage::ImageRgb8(image.to_rgb8());
    rgb.write_with_encoder(JpegEncoder::new_with_quality(out, JPEG_QUALITY)).map_err(refused)
}

/// A GIF's frames (with their delays and positions) into a new GIF that loops forever.
fn reencode_gif(bytes: &[u8]) -> Result<CleanImage, Refused> {
    let mut decoder = GifDecoder::new(Cursor::new(bytes)).map_err(refused)?;
    decoder.set_limits(limits()).map_err(refused)?;
    let mut frames = Vec::new();
    for frame in decoder.into_frames() {
        if frames.len() == MAX_FRAMES {
            return Err(Refused::TooManyPixels);
        }
        frames.push(frame.map_err(refused)?);
    }
    if frames.is_empty() {
        return Err(Refused::Undecodable);
    }
    let mut out = Vec::with_capacity(bytes.len());
    {
        let mut encoder = GifEncoder::new_with_speed(&mut out, 10);
        encoder.set_repeat(Repeat::Infinite).map_err(refused)?;
        encoder.encode_frames(frames).map_err(refused)?;
    }
    Ok(CleanImage { bytes: out, content_type: "image/gif", ext: "gif" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgba, RgbaImage};

    fn png_with_text(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        DynamicImage::ImageRgba8(RgbaImage::from_pixel(3, 2, Rgba([200, 10, 10, 255])))
            .write_with_encoder(PngEncoder::new(&mut out))
            .unwrap();
        // A tEXt chunk right after IHDR (8 signature bytes + 25 of IHDR).
        let data = [b"Comment\0".as_slice(), text.as_bytes()].concat();
        let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
        let typed = [b"tEXt".as_slice(), &data].concat();
        chunk.extend_from_slice(&typed);
        chunk.extend_from_slice(&crc32fast::hash(&typed).to_be_bytes());
        out.splice(33..33, chunk);
        out
    }

    #[test]
    fn text_chunks_and_trailing_bytes_do_not_survive_and_the_pixels_do() {
        let mut file = png_with_text("<script>alert(1)</script>");
        assert!(image::load_from_memory(&file).is_ok(), "the crafted PNG is valid");
        file.extend_from_slice(b"<html><script>alert(2)</script>");
        let clean = reencode(&file, "image/png").unwrap();
        assert_eq!(clean.content_type, "image/png");
        let text = String::from_utf8_lossy(&clean.bytes);
        assert!(!text.contains("script") && !text.contains("Comment"), "{text}");
        let pixels = image::load_from_memory(&clean.bytes).unwrap().to_rgba8();
        assert_eq!(pixels.dimensions(), (3, 2));
        assert_eq!(pixels.get_pixel(2, 1), &Rgba([200, 10, 10, 255]));
    }

    #[test]
    fn lookalikes_and_declared_giants_are_refused() {
        // Its "screen size" reads as 10799 × 29500 from the script's first bytes.
        assert!(reencode(b"GIF89a/*<script>alert(1)</script>*/", "image/gif").is_err());
        assert_eq!(reencode(b"\x89PNG\r\n\x1a\n<html>", "image/png").unwrap_err(), Refused::Undecodable);
        // A valid PNG header that declares 100000 × 100000 pixels.
        let mut giant = png_with_text("x");
        giant[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        giant[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32fast::hash(&giant[12..29]);
        giant[29..33].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(reencode(&giant, "image/png").unwrap_err(), Refused::TooManyPixels);
    }

    #[test]
    fn animated_gifs_keep_their_frames() {
        let mut file = Vec::new();
        {
            let mut encoder = GifEncoder::new(&mut file);
            let frames = [Rgba([255, 0, 0, 255]), Rgba([0, 0, 255, 255])]
                .map(|c| image::Frame::new(RgbaImage::from_pixel(4, 4, c)));
            encoder.encode_frames(frames).unwrap();
        }
        file.extend_from_slice(b"PK\x03\x04 a zip appended");
        let clean = reencode(&file, "image/gif").unwrap();
        assert!(!clean.bytes.windows(4).any(|w| w == b"PK\x03\x04"));
        let frames = GifDecoder::new(Cursor::new(&clean.bytes)).unwrap().into_frames().collect_frames().unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].buffer().get_pixel(0, 0), &Rgba([0, 0, 255, 255]));
    }
}
