//! Rendering into a buffer that refuses to grow past a cap, so a template
//! cannot turn a small event into an unbounded notification.
//!
//! The cap applies to what a part writes. Values built inside a render
//! (`{% set %}`, `~`, `*`) are bounded by fuel: minijinja charges one unit per
//! byte a value would take and checks it before allocating, so the default
//! fuel (`RENDER_FUEL`, 100 000 fuel of 64 bytes each) allows about 6.4 MB of
//! intermediate data per render, and this cap keeps the output far below that.

use super::{describe, TemplateError};
use std::io;

/// A `Vec<u8>` that fails a write which would take it past `limit` bytes.
struct Bounded {
    buf: Vec<u8>,
    limit: usize,
    overflowed: bool,
}

impl io::Write for Bounded {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len().saturating_add(data.len()) > self.limit {
            self.overflowed = true;
            return Err(io::Error::other("template output cap reached"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Renders `tmpl` with `ctx`, failing once the output passes `limit` bytes.
pub fn render(
    tmpl: &minijinja::Template<'_, '_>,
    ctx: minijinja::Value,
    part: &str,
    limit: usize,
) -> Result<String, TemplateError> {
    let mut out = Bounded {
        buf: Vec::new(),
        limit,
        overflowed: false,
    };
    let result = tmpl.render_captured_to(ctx, &mut out).map(drop);
    if out.overflowed {
        return Err(TemplateError::OutputTooLarge {
            part: part.to_string(),
            limit,
        });
    }
    result.map_err(|e| TemplateError::Render {
        part: part.to_string(),
        message: describe(&e),
    })?;
    // Minijinja writes whole `str`s and a refused write adds nothing, so this holds.
    String::from_utf8(out.buf).map_err(|e| TemplateError::Render {
        part: part.to_string(),
        message: format!("output is not UTF-8: {e}"),
    })
}
