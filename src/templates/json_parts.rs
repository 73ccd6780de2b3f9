//! Parts whose output is JSON. Their `{{ … }}` are JSON-encoded by the engine,
//! so the template author writes the JSON structure and event data only ever
//! fills in values.

/// The parts rendered with JSON autoescaping and parsed as JSON afterwards.
pub const JSON_PARTS: [&str; 8] = [
    "in_app.data",
    "in_app.tags",
    "in_app.actions",
    "push.data",
    "webhook.body",
    "slack.blocks",
    "discord.embeds",
    "teams.card",
];

pub fn is_json_part(part: &str) -> bool {
    JSON_PARTS.contains(&part)
}

/// The line of the first `{{` that sits inside a JSON string literal, if any.
///
/// Such a template was written for text rendering (`"{{ name }}"`); with JSON
/// encoding its output is `""Ada""`, so it is refused at save time rather
/// than failing on every event. Block tags (`{% if %}`) and comments inside a
/// string are fine: they emit literal text, not values.
pub fn quoted_interpolation(source: &str) -> Option<usize> {
    let b = source.as_bytes();
    let mut line = 1;
    let mut in_string = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let opens_tag = c == b'{' && matches!(b.get(i + 1), Some(b'{' | b'%' | b'#'));
        if opens_tag {
            if in_string && b[i + 1] == b'{' {
                return Some(line);
            }
            i = skip_tag(b, i, &mut line);
            continue;
        }
        match c {
            b'\n' => line += 1,
            b'\\' if in_string => {
                // An escaped character never ends the string; a newline cannot be escaped in JSON.
                i += 1;
            }
            b'"' => in_string = !in_string,
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index just past the Jinja tag opening at `start`, skipping quoted
/// literals inside it so `{{ "}}" }}` is one tag.
fn skip_tag(b: &[u8], start: usize, line: &mut usize) -> usize {
    let closer = match b[start + 1] {
        b'{' => b'}',
        b'%' => b'%',
        _ => b'#',
    };
    let comment = closer == b'#';
    let mut quote: Option<u8> = None;
    let mut i = start + 2;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            *line += 1;
        }
        match quote {
            Some(_) if c == b'\\' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if !comment && (c == b'"' || c == b'\'') => quote = Some(c),
            None if c == closer && b.get(i + 1) == Some(&b'}') => return i + 2,
            None => {}
        }
        i += 1;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::quoted_interpolation;

    #[test]
    fn an_interpolation_inside_a_json_string_is_found_with_its_line() {
        assert_eq!(quoted_interpolation(r#"{"a": "{{ x }}"}"#), Some(1));
        assert_eq!(
            quoted_interpolation("{\n  \"a\": 1,\n  \"b\": \"id-{{ x }}\"\n}"),
            Some(3)
        );
    }

    #[test]
    fn bare_interpolations_tojson_blocks_and_comments_are_fine() {
        for ok in [
            r#"{"a": {{ x }}, "b": {{ y|tojson }}}"#,
            r#"{"a": "{% if x %}yes{% else %}no{% endif %}"}"#,
            r#"{"a": {{ "\"}}" ~ x }}, "b": 1}"#,
            r#"{# "{{ x }}" #}{"a": {{ x }}}"#,
            r#"{"a": "say \"hi\"", "b": {{ x }}}"#,
        ] {
            assert_eq!(quoted_interpolation(ok), None, "{ok}");
        }
    }
}
