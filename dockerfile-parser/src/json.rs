//! A small strict JSON reader (Go `encoding/json` rules) used for the exec
//! form (`["a", "b"]`) and for JSON-style syntax detection. Nesting is
//! handled iteratively so hostile input cannot overflow the stack.

/// Outcome of reading an exec-form argument list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JsonArray {
    /// A valid array whose elements are all strings.
    Strings(Vec<String>),
    /// Valid JSON array with a non-string element (a hard error in BuildKit).
    NotStrings,
    /// Not a JSON array at all (BuildKit falls back to shell form).
    Invalid,
}

const MAX_DEPTH: usize = 10_000;

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    i
}

fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let s = b.get(i..i + 4)?;
    let mut v = 0u32;
    for &c in s {
        v = v * 16 + (c as char).to_digit(16)?;
    }
    Some(v)
}

/// Decode a string starting at the opening quote; returns the text and the
/// index after the closing quote.
fn parse_string(b: &[u8], mut i: usize) -> Option<(String, usize)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    i += 1;
    let mut out: Vec<u8> = Vec::new();
    loop {
        let c = *b.get(i)?;
        match c {
            b'"' => return Some((String::from_utf8_lossy(&out).into_owned(), i + 1)),
            b'\\' => {
                let e = *b.get(i + 1)?;
                i += 2;
                let ch = match e {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    b'u' => {
                        let u = hex4(b, i)?;
                        i += 4;
                        if (0xD800..0xDC00).contains(&u) {
                            // Try a following low surrogate.
                            if b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'u') {
                                if let Some(l) = hex4(b, i + 2) {
                                    if (0xDC00..0xE000).contains(&l) {
                                        i += 6;
                                        let cp = 0x10000 + ((u - 0xD800) << 10) + (l - 0xDC00);
                                        char::from_u32(cp).unwrap_or('\u{FFFD}')
                                    } else {
                                        '\u{FFFD}'
                                    }
                                } else {
                                    '\u{FFFD}'
                                }
                            } else {
                                '\u{FFFD}'
                            }
                        } else {
                            char::from_u32(u).unwrap_or('\u{FFFD}')
                        }
                    }
                    _ => return None,
                };
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
            0..=0x1f => return None,
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
}

fn skip_number(b: &[u8], mut i: usize) -> Option<usize> {
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !b.get(i)?.is_ascii_digit() {
            return None;
        }
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    if matches!(b.get(i), Some(b'e') | Some(b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+') | Some(b'-')) {
            i += 1;
        }
        if !b.get(i)?.is_ascii_digit() {
            return None;
        }
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    Some(i)
}

/// Skip one JSON value of any kind starting at `i` (after whitespace);
/// `depth` is the nesting depth already open around it.
fn skip_value(b: &[u8], i: usize, depth: usize) -> Option<usize> {
    let mut stack: Vec<u8> = Vec::new();
    let mut i = skip_ws(b, i);
    loop {
        // Read one value start.
        match *b.get(i)? {
            open @ (b'[' | b'{') => {
                i = skip_ws(b, i + 1);
                let close = if open == b'[' { b']' } else { b'}' };
                if b.get(i) == Some(&close) {
                    i += 1;
                } else {
                    stack.push(open);
                    if stack.len() + depth > MAX_DEPTH {
                        return None;
                    }
                    if open == b'{' {
                        i = skip_key(b, i)?;
                    }
                    continue;
                }
            }
            b'"' => i = parse_string(b, i)?.1,
            b't' => i = lit(b, i, b"true")?,
            b'f' => i = lit(b, i, b"false")?,
            b'n' => i = lit(b, i, b"null")?,
            _ => i = skip_number(b, i)?,
        }
        // Value complete: close containers or move to the next element.
        loop {
            let Some(&top) = stack.last() else {
                return Some(i);
            };
            i = skip_ws(b, i);
            let close = if top == b'[' { b']' } else { b'}' };
            match *b.get(i)? {
                b',' => {
                    i = skip_ws(b, i + 1);
                    if top == b'{' {
                        i = skip_key(b, i)?;
                    }
                    break;
                }
                c if c == close => {
                    stack.pop();
                    i += 1;
                }
                _ => return None,
            }
        }
        i = skip_ws(b, i);
    }
}

/// Skip `"key" :` and following whitespace.
fn skip_key(b: &[u8], i: usize) -> Option<usize> {
    let (_, i) = parse_string(b, skip_ws(b, i))?;
    let i = skip_ws(b, i);
    if b.get(i) != Some(&b':') {
        return None;
    }
    Some(skip_ws(b, i + 1))
}

fn lit(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    (b.get(i..i + word.len())? == word).then_some(i + word.len())
}

/// Read `s` (leading Unicode whitespace allowed) as a JSON array of strings.
pub(crate) fn parse_array(s: &str) -> JsonArray {
    let t = s.trim_start();
    if !t.starts_with('[') {
        return JsonArray::Invalid;
    }
    match read_array(t.as_bytes()) {
        None => JsonArray::Invalid,
        Some(None) => JsonArray::NotStrings,
        Some(Some(v)) => JsonArray::Strings(v),
    }
}

fn read_array(b: &[u8]) -> Option<Option<Vec<String>>> {
    let mut out = Vec::new();
    let mut all_strings = true;
    let mut i = skip_ws(b, 1);
    if b.get(i) == Some(&b']') {
        i += 1;
    } else {
        loop {
            i = skip_ws(b, i);
            if b.get(i) == Some(&b'"') {
                let (s, j) = parse_string(b, i)?;
                out.push(s);
                i = j;
            } else {
                i = skip_value(b, i, 1)?;
                all_strings = false;
            }
            i = skip_ws(b, i);
            match *b.get(i)? {
                b',' => i += 1,
                b']' => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    if skip_ws(b, i) != b.len() {
        return None;
    }
    Some(all_strings.then_some(out))
}

/// If the whole text is a JSON object, the string value of `key` in it.
pub(crate) fn object_string_field(s: &str, key: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    let mut found: Option<Option<String>> = None;
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            let (k, j) = parse_string(b, skip_ws(b, i))?;
            i = skip_ws(b, j);
            if b.get(i) != Some(&b':') {
                return None;
            }
            i = skip_ws(b, i + 1);
            if b.get(i) == Some(&b'"') {
                let (v, j) = parse_string(b, i)?;
                if k == key {
                    found = Some(Some(v));
                }
                i = j;
            } else {
                i = skip_value(b, i, 1)?;
                if k == key {
                    found = Some(None);
                }
            }
            i = skip_ws(b, i);
            match *b.get(i)? {
                b',' => i += 1,
                b'}' => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    if skip_ws(b, i) != b.len() {
        return None;
    }
    found.flatten()
}
