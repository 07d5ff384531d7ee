//! docker's `--format`: Go templates (through the `gotmpl` crate) with docker's extra
//! functions (json, join, split, lower, upper, title, truncate, pad), the `table` prefix
//! whose header row and cells are laid out like Go's tabwriter, and `--format json`.
//! It renders rows that the verbs hand it as JSON objects; it knows no verb's fields.

use gotmpl::parse::{CommandNode, Expr, ListNode, Node, PipeNode};
use gotmpl::{MissingKey, Template, TemplateError, Value};
use std::sync::Arc;

/// What `--format` asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputFormat {
    /// No `--format` (or `--format table`): the verb's own table.
    Default,
    /// `--format json`: one JSON object per line (an array for `inspect`).
    Json,
    /// A Go template, laid out as a table with a header when it began with "table".
    Template { source: String, table: bool },
}

#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("template parsing error: {0}")]
    Parse(#[source] TemplateError),
    #[error("template: executing: {0}")]
    Execute(#[source] TemplateError),
    #[error("cannot convert the value to template data: {0}")]
    Data(#[source] TemplateError),
}

impl OutputFormat {
    /// docker's reading of the flag: `\t` and `\n` written literally become tab and
    /// newline, and spaces around the template are trimmed.
    pub fn parse(flag: Option<&str>) -> OutputFormat {
        let Some(raw) = flag else {
            return OutputFormat::Default;
        };
        match raw.trim() {
            "" | "table" => OutputFormat::Default,
            "json" => OutputFormat::Json,
            s => {
                let (table, body) = match s.strip_prefix("table") {
                    Some(rest) => (true, rest),
                    None => (false, s),
                };
                let source = body.trim().replace("\\t", "\t").replace("\\n", "\n");
                OutputFormat::Template { source, table }
            }
        }
    }
}

/// Go's `json.Encoder` with HTML escaping off, as docker's `json` function.
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Nil | Value::Function(_) => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Uint(u) => J::from(*u),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::String(s) => J::String(s.to_string()),
        Value::List(l) => J::Array(l.iter().map(to_json).collect()),
        Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect()),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Nil => String::new(),
        other => other.to_string(),
    }
}

fn arg<'a>(args: &'a [Value], i: usize, name: &str) -> gotmpl::Result<&'a Value> {
    args.get(i).ok_or_else(|| {
        TemplateError::Exec(format!(
            "wrong number of args for {name}: want at least {}",
            i + 1
        ))
    })
}

fn int_arg(args: &[Value], i: usize, name: &str) -> gotmpl::Result<usize> {
    let v = arg(args, i, name)?;
    v.as_int()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| TemplateError::Exec(format!("{name}: expected a count, got {v}")))
}

fn s(v: String) -> Value {
    Value::String(Arc::from(v))
}

/// Go's strings.Title: each letter that follows a non-letter goes upper case.
fn title(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut prev_letter = false;
    for c in input.chars() {
        if !prev_letter && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_letter = c.is_alphanumeric() || c == '_' || c == '\'';
    }
    out
}

/// Go's json.Marshal escapes these; docker's list rows (ps, images) are marshalled that
/// way, so `--format json` and `{{json .}}` show `\u003cnone\u003e`.
pub fn go_html_escape(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// docker's template functions on top of Go's builtins (printf, println, len, index, …).
/// `escape_rows`: a whole row (a map) goes through `json` with Go's HTML escaping.
fn with_docker_funcs(t: Template, escape_rows: bool) -> Template {
    t.func("json", move |a| {
        let v = arg(a, 0, "json")?;
        let text = serde_json::to_string(&to_json(v)).unwrap_or_default();
        Ok(s(if escape_rows && matches!(v, Value::Map(_)) {
            go_html_escape(&text)
        } else {
            text
        }))
    })
    .func("split", |a| {
        let (v, sep) = (text(arg(a, 0, "split")?), text(arg(a, 1, "split")?));
        let parts: Vec<Value> = if sep.is_empty() {
            v.chars().map(|c| s(c.to_string())).collect()
        } else {
            v.split(sep.as_str()).map(|p| s(p.to_string())).collect()
        };
        Ok(Value::List(parts.into()))
    })
    .func("join", |a| {
        let sep = text(arg(a, 1, "join")?);
        match arg(a, 0, "join")? {
            Value::List(l) => Ok(s(l.iter().map(text).collect::<Vec<_>>().join(&sep))),
            Value::Nil => Ok(s(String::new())),
            other => Err(TemplateError::Exec(format!(
                "join: expected a list, got {}",
                other.type_name()
            ))),
        }
    })
    .func("lower", |a| Ok(s(text(arg(a, 0, "lower")?).to_lowercase())))
    .func("upper", |a| Ok(s(text(arg(a, 0, "upper")?).to_uppercase())))
    .func("title", |a| Ok(s(title(&text(arg(a, 0, "title")?)))))
    .func("truncate", |a| {
        let v = text(arg(a, 0, "truncate")?);
        let n = int_arg(a, 1, "truncate")?;
        Ok(s(v.chars().take(n).collect()))
    })
    .func(LABEL_FUNC, |a| {
        let labels = text(arg(a, 0, "Label")?);
        Ok(s(label_value(&labels, &text(arg(a, 1, "Label")?))))
    })
    .func("pad", |a| {
        let v = text(arg(a, 0, "pad")?);
        if v.is_empty() {
            return Ok(s(v));
        }
        let (pre, post) = (int_arg(a, 1, "pad")?, int_arg(a, 2, "pad")?);
        Ok(s(format!("{}{v}{}", " ".repeat(pre), " ".repeat(post))))
    })
}

/// docker's `{{.Label "key"}}` is a method of its row types; Go templates on plain data
/// have no methods, so the parsed tree calls `docker_label .Labels "key"` instead.
const LABEL_FUNC: &str = "docker_label";

fn rewrite_labels(list: &mut ListNode) {
    for node in &mut list.nodes {
        match node {
            Node::List(l) => rewrite_labels(l),
            Node::Action(a) => rewrite_pipe(&mut a.pipe),
            Node::If(b) | Node::Range(b) | Node::With(b) => {
                rewrite_pipe(&mut b.pipe);
                rewrite_labels(&mut b.body);
                if let Some(e) = &mut b.else_body {
                    rewrite_labels(e);
                }
            }
            Node::Template(t) => {
                if let Some(p) = &mut t.pipe {
                    rewrite_pipe(p);
                }
            }
            Node::Define(d) => rewrite_labels(&mut d.body),
            Node::Text(_) | Node::Break(_) | Node::Continue(_) => {}
        }
    }
}

fn rewrite_pipe(pipe: &mut PipeNode) {
    for c in &mut pipe.commands {
        rewrite_command(c);
    }
}

fn rewrite_command(c: &mut CommandNode) {
    for a in &mut c.args {
        if let Expr::Pipe(_, p) = a {
            rewrite_pipe(p);
        }
    }
    let is_label =
        matches!(c.args.first(), Some(Expr::Field(_, f)) if f.len() == 1 && f[0] == "Label");
    if is_label && c.args.len() > 1 {
        let pos = c.args[0].pos();
        c.args[0] = Expr::Field(pos, vec!["Labels".into()]);
        c.args.insert(0, Expr::Identifier(pos, LABEL_FUNC.into()));
    }
}

/// One label's value from docker's `Labels` text (`k=v,k2=v2`); a piece without '='
/// belongs to the value before it (`a=b,c` is a="b,c", as docker prints it).
fn label_value(labels: &str, key: &str) -> String {
    let mut found: Option<String> = None;
    let mut current: Option<&str> = None;
    for piece in labels.split(',') {
        match piece.split_once('=') {
            Some((k, v)) => {
                current = Some(k);
                if k == key {
                    found = Some(v.to_string());
                }
            }
            None => {
                if let (Some(k), Some(f)) = (current, found.as_mut()) {
                    if k == key {
                        f.push(',');
                        f.push_str(piece);
                    }
                }
            }
        }
    }
    found.unwrap_or_default()
}

/// The name the rewritten top-level tree is executed under.
const ROW: &str = "kiste-format-row";

/// Parses `source` with the `.Label "key"` rewrite, in its `{{define}}`s too; the top
/// level is executed as [`ROW`].
fn parse_with_labels(t: Template, source: &str) -> Result<Template, FormatError> {
    let mut t = t.parse(source).map_err(FormatError::Parse)?;
    let names: Vec<String> = t.templates().into_iter().map(String::from).collect();
    for name in names {
        if let Some(tree) = t.lookup(&name) {
            let mut tree = tree.clone();
            rewrite_labels(&mut tree);
            t = t.add_parse_tree(&name, tree);
        }
    }
    let (mut top, _) = gotmpl::parse::Parser::new(source, "{{", "}}")
        .and_then(|p| p.parse())
        .map_err(FormatError::Parse)?;
    rewrite_labels(&mut top);
    Ok(t.add_parse_tree(ROW, top))
}

/// docker renders a table's header with the same template over the header names, its
/// functions made to pass the name through unchanged.
fn with_header_funcs(t: Template) -> Template {
    let pass = |a: &[Value]| Ok(a.first().cloned().unwrap_or(Value::Nil));
    [
        "json", "split", "join", "lower", "upper", "title", "truncate", "pad",
    ]
    .into_iter()
    .fold(t, |t, name| t.func(name, pass))
    // docker's header for `.Label "key"` is the key.
    .func(LABEL_FUNC, |a| Ok(a.get(1).cloned().unwrap_or(Value::Nil)))
}

/// A parsed `--format` template.
pub struct Formatter {
    row: Template,
    header: Option<Template>,
}

impl Formatter {
    /// `strict` makes an unknown field an error (docker's typed rows); `inspect` keeps
    /// Go's `<no value>` for a missing key of its JSON maps.
    pub fn new(source: &str, table: bool, strict: bool) -> Result<Formatter, FormatError> {
        Self::with_rows(source, table, strict, strict)
    }

    /// As [`Formatter::new`]; `escape_rows` marshals a whole row as Go's json.Marshal.
    pub fn with_rows(
        source: &str,
        table: bool,
        strict: bool,
        escape_rows: bool,
    ) -> Result<Formatter, FormatError> {
        let mk = if strict {
            MissingKey::Error
        } else {
            MissingKey::Invalid
        };
        let row = parse_with_labels(
            with_docker_funcs(Template::new("").missing_key(mk), escape_rows),
            source,
        )?;
        let header = if table {
            Some(parse_with_labels(
                with_header_funcs(Template::new("").missing_key(MissingKey::Invalid)),
                source,
            )?)
        } else {
            None
        };
        Ok(Formatter { row, header })
    }

    /// One row's text, without the newline docker adds after it.
    pub fn render(&self, data: &serde_json::Value) -> Result<String, FormatError> {
        let v = gotmpl::to_value(data).map_err(FormatError::Data)?;
        self.row
            .execute_template_to_string(ROW, &v)
            .map_err(FormatError::Execute)
    }

    /// The whole output: each row followed by a newline, and for a table the header
    /// (rendered over `headers`, field name → column title) and tabwriter layout.
    pub fn render_all(
        &self,
        headers: &[(&str, &str)],
        rows: &[serde_json::Value],
    ) -> Result<String, FormatError> {
        let mut out = String::new();
        if let Some(h) = &self.header {
            let map: serde_json::Map<String, serde_json::Value> = headers
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
                .collect();
            let v = gotmpl::to_value(&serde_json::Value::Object(map)).map_err(FormatError::Data)?;
            out.push_str(
                &h.execute_template_to_string(ROW, &v)
                    .map_err(FormatError::Execute)?,
            );
            out.push('\n');
        }
        for r in rows {
            out.push_str(&self.render(r)?);
            out.push('\n');
        }
        Ok(if self.header.is_some() {
            tabwrite(&out)
        } else {
            out
        })
    }
}

/// Go's `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`: a cell ends at a tab; the cells
/// of one column in consecutive lines that all have a tab-ended cell there share a width
/// of max(10, widest + 3); the last cell of a line is not padded.
pub fn tabwrite(text: &str) -> String {
    let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    let ncols = lines.iter().map(|l| l.len()).max().unwrap_or(0);
    // widths[line][col] for every tab-ended cell
    let mut widths: Vec<Vec<usize>> = lines.iter().map(|l| vec![0; l.len()]).collect();
    for col in 0..ncols.saturating_sub(1) {
        let mut i = 0;
        while i < lines.len() {
            if lines[i].len() <= col + 1 {
                i += 1;
                continue;
            }
            let start = i;
            let mut w = 0;
            while i < lines.len() && lines[i].len() > col + 1 {
                w = w.max(lines[i][col].chars().count() + 3);
                i += 1;
            }
            for row in &mut widths[start..i] {
                row[col] = w.max(10);
            }
        }
    }
    let mut out = String::with_capacity(text.len() * 2);
    for (n, line) in lines.iter().enumerate() {
        for (col, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if col + 1 < line.len() {
                let pad = widths[n][col] - cell.chars().count();
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        if n + 1 < lines.len() {
            out.push('\n');
        }
    }
    out
}

/// A listing as `--format` asks: one JSON object per line (`json`), a Go template over the
/// rows (`table …` adds the header, `headers` naming each field's column title), or the
/// verb's own table, which `default` renders (called only then).
pub fn print_rows(
    format: Option<&str>,
    headers: &[(&str, &str)],
    rows: &[serde_json::Value],
    default: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    match OutputFormat::parse(format) {
        OutputFormat::Json => {
            for r in rows {
                println!("{}", serde_json::to_string(r)?);
            }
        }
        OutputFormat::Template { source, table } => {
            let f = Formatter::new(&source, table, true)?;
            print!("{}", f.render_all(headers, rows)?);
        }
        OutputFormat::Default => print!("{}", default()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(src: &str, data: serde_json::Value) -> String {
        Formatter::new(src, false, true)
            .unwrap()
            .render(&data)
            .unwrap()
    }

    #[test]
    fn flag_reads_like_docker() {
        assert_eq!(OutputFormat::parse(None), OutputFormat::Default);
        assert_eq!(OutputFormat::parse(Some("table")), OutputFormat::Default);
        assert_eq!(OutputFormat::parse(Some("json")), OutputFormat::Json);
        assert_eq!(
            OutputFormat::parse(Some("table {{.ID}}\\t{{.Names}}")),
            OutputFormat::Template {
                source: "{{.ID}}\t{{.Names}}".into(),
                table: true
            }
        );
    }

    #[test]
    fn fields_and_nested_fields() {
        let d = json!({"Names": "web", "State": {"Status": "running"}});
        assert_eq!(one("{{.Names}} {{.State.Status}}", d), "web running");
    }

    #[test]
    fn docker_functions() {
        let d = json!({"N": "Hello web-server", "L": ["a", "b"], "E": ""});
        assert_eq!(one("{{json .L}}", d.clone()), "[\"a\",\"b\"]");
        assert_eq!(one("{{join .L \",\"}}", d.clone()), "a,b");
        assert_eq!(
            one("{{join (split .N \"-\") \"+\"}}", d.clone()),
            "Hello web+server"
        );
        assert_eq!(
            one("{{lower .N}}|{{upper .N}}", d.clone()),
            "hello web-server|HELLO WEB-SERVER"
        );
        assert_eq!(
            one("{{title \"hello web-server\"}}", d.clone()),
            "Hello Web-Server"
        );
        assert_eq!(one("{{truncate .N 5}}", d.clone()), "Hello");
        assert_eq!(
            one("[{{pad .N 1 2}}][{{pad .E 1 2}}]", d.clone()),
            "[ Hello web-server  ][]"
        );
        assert_eq!(one("{{printf \"%-6s|\" \"ab\"}}", d.clone()), "ab    |");
        assert_eq!(one("{{println .E}}", d), "\n");
    }

    #[test]
    fn json_of_a_row_escapes_html_like_go() {
        assert_eq!(
            one("{{json .}}|{{json .A}}", json!({"A": "<&>", "B": 1})),
            r#"{"A":"\u003c\u0026\u003e","B":1}|"<&>""#
        );
        let lax = Formatter::new("{{json .}}", false, false).unwrap();
        assert_eq!(lax.render(&json!({"A": "<"})).unwrap(), r#"{"A":"<"}"#);
    }

    #[test]
    fn unknown_field_is_an_error_when_strict() {
        let f = Formatter::new("{{.Nope}}", false, true).unwrap();
        assert!(f.render(&json!({"ID": "x"})).is_err());
        let lax = Formatter::new("{{.Nope}}", false, false).unwrap();
        assert_eq!(lax.render(&json!({"ID": "x"})).unwrap(), "<no value>");
    }

    #[test]
    fn bad_template_is_a_parsing_error() {
        let e = Formatter::new("{{.ID", false, true).err().unwrap();
        assert!(e.to_string().starts_with("template parsing error:"), "{e}");
    }

    #[test]
    fn table_has_header_and_tabwriter_columns() {
        let f = Formatter::new("{{.ID}}\t{{upper .Names}}", true, true).unwrap();
        let out = f
            .render_all(
                &[("ID", "CONTAINER ID"), ("Names", "NAMES")],
                &[
                    json!({"ID": "abc", "Names": "web"}),
                    json!({"ID": "0123456789abcdef", "Names": "db"}),
                ],
            )
            .unwrap();
        assert_eq!(
            out,
            "CONTAINER ID       NAMES\nabc                WEB\n0123456789abcdef   DB\n"
        );
    }

    #[test]
    fn label_method_reads_one_label_like_docker() {
        let d = json!({"Labels": "a=b,c,tier=back", "Names": "web"});
        assert_eq!(
            one(
                "{{.Label \"a\"}}|{{.Label \"tier\"}}|{{.Label \"zz\"}}",
                d.clone()
            ),
            "b,c|back|"
        );
        assert_eq!(
            one(
                "{{if eq (.Label \"tier\") \"back\"}}{{upper (.Label \"tier\")}}{{end}}",
                d
            ),
            "BACK"
        );
        let f = Formatter::new("{{.Names}}\t{{.Label \"tier\"}}", true, true).unwrap();
        let out = f
            .render_all(
                &[("Names", "NAMES")],
                &[json!({"Names": "web", "Labels": "tier=back"})],
            )
            .unwrap();
        assert_eq!(out, "NAMES     tier\nweb       back\n");
    }

    #[test]
    fn tabwriter_minimum_width_is_ten() {
        assert_eq!(tabwrite("a\tb\nc\td\n"), "a         b\nc         d\n");
        // a line without a tab ends the column block
        assert_eq!(
            tabwrite("aaaaaaaaaaaa\tb\nx\nc\td"),
            "aaaaaaaaaaaa   b\nx\nc         d"
        );
    }
}
