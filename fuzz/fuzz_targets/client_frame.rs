//! `ClientFrame::parse`: every text frame a WebSocket client sends.
#![no_main]

use herald::protocol::ClientFrame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // actix-ws only hands over text frames that are valid UTF-8.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(error) = ClientFrame::parse(text) {
        // The code and message go back to the client in an error frame.
        assert!(!error.code().is_empty());
        assert!(!error.to_string().is_empty());
    }
});
