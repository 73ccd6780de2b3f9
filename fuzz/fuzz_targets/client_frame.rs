//! `ClientFrame::parse`: every text frame a WebSocket client sends.
#![no_main]

use herald::protocol::ClientFrame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // actix-ws only hands over text frames that are valid UTF-8.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(message) = ClientFrame::parse(text) {
        // The message goes back to the client in an error frame.
        assert!(!message.is_empty());
    }
});
