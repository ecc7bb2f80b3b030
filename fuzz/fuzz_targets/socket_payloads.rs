//! Socket.IO event payloads (`typing`, `subscribe`, `unsubscribe`) as JSON values: the room id
//! is read from a string, an array or an object. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter::realtime::socket::room_id_of;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = room_id_of(&value);
        let _ = room_id_of(&serde_json::json!([value.clone(), "x"]));
        let _ = room_id_of(&serde_json::json!({"roomId": value}));
    }
});
