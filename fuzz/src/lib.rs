//! Shared input handling for Herald's fuzz targets.
//!
//! Targets that need several strings read them from one input split on NUL
//! bytes: a single-byte separator is easy for libFuzzer to insert or drop, and
//! the seed files stay readable with `cat -v`.

/// Splits `data` on NUL into exactly `N` fields; the last field keeps any
/// further NULs. Missing fields are empty.
pub fn fields<const N: usize>(data: &[u8]) -> [&[u8]; N] {
    let mut out: [&[u8]; N] = [&[]; N];
    let mut rest = data;
    for (i, slot) in out.iter_mut().enumerate() {
        if i + 1 == N {
            *slot = rest;
            break;
        }
        match rest.iter().position(|b| *b == 0) {
            Some(at) => {
                *slot = &rest[..at];
                rest = &rest[at + 1..];
            }
            None => {
                *slot = rest;
                rest = &[];
            }
        }
    }
    out
}

/// Like [`fields`], but as text; `None` when a field is not UTF-8, since every
/// entry point under test takes `&str` and the HTTP layer rejects such bodies.
pub fn text_fields<const N: usize>(data: &[u8]) -> Option<[&str; N]> {
    let raw = fields::<N>(data);
    let mut out: [&str; N] = [""; N];
    for (slot, bytes) in out.iter_mut().zip(raw) {
        *slot = std::str::from_utf8(bytes).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_field_keeps_its_separators_and_missing_ones_are_empty() {
        assert_eq!(fields::<3>(b"a\0b\0c\0d"), [&b"a"[..], b"b", b"c\0d"]);
        assert_eq!(fields::<3>(b"a"), [&b"a"[..], b"", b""]);
        assert_eq!(text_fields::<2>(b"x\0\xff"), None);
    }
}
