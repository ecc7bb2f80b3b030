//! A data URL (as `image` / `profilePic` carry it) decoded, sniffed and, when it is an image,
//! decoded and re-encoded: what every stored image goes through. Also raw bytes straight into
//! the re-encoder under each accepted type. Must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter::services::images;
use natter::services::media::{Kind, decode_data_url, sniff};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(bytes) = decode_data_url(text, 1 << 20)
    {
        let (kind, content_type, _) = sniff(&bytes);
        if kind == Kind::Image {
            let _ = images::reencode(&bytes, content_type);
        }
    }
    let content_type =
        ["image/png", "image/jpeg", "image/gif", "image/webp"][data.first().map_or(0, |b| *b as usize % 4)];
    let _ = images::reencode(data.get(1..).unwrap_or_default(), content_type);
});
