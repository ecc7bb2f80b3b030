//! A multipart body as `POST /api/uploads` and the video platform's forms receive it, parsed
//! the way natter parses it (its size limits and read-ahead pause included) and every field
//! read to its end. Must never panic or hang. The first byte picks how the body is split
//! into chunks, so chunk boundaries fall everywhere.
#![no_main]

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, header};
use futures::StreamExt;
use libfuzzer_sys::fuzz_target;
use natter::http::uploads;

fuzz_target!(|data: &[u8]| {
    let Some((&split, body)) = data.split_first() else { return };
    let chunk = usize::from(split).max(1);
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> =
        body.chunks(chunk).map(|c| Ok(bytes::Bytes::copy_from_slice(c))).collect();
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("multipart/form-data; boundary=X-BOUNDARY"));
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async move {
        let Ok(mut form) = uploads::multipart(&headers, Body::from_stream(futures::stream::iter(chunks)), 64 * 1024)
        else {
            return;
        };
        while let Ok(Some(field)) = form.next_field().await {
            let _ = field.name().map(str::len);
            let mut stream = uploads::field_stream(field);
            while let Some(chunk) = stream.next().await {
                if chunk.is_err() {
                    break;
                }
            }
        }
    });
});
