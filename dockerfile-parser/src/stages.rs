//! Groups typed instructions into the [`Dockerfile`]: global ARGs before the
//! first FROM, then one [`Stage`] per FROM. Checks that FROM comes first and
//! that stage names are unique, and extracts doc comments.

use std::collections::HashMap;

use crate::convert::{parse_node, TypedNode};
use crate::error::{Error, Span, Spanned};
use crate::instructions::*;
use crate::node::Node;
use crate::parser::ParseResult;

fn span_of(n: &Node) -> Span {
    Span {
        line: n.start_line,
        column: n.column,
        end_line: n.end_line,
    }
}

/// Build the typed [`Dockerfile`] from a parse result.
pub(crate) fn build(res: ParseResult) -> Result<Dockerfile, Error> {
    let mut df = Dockerfile {
        escape: res.escape,
        syntax: res.syntax,
        meta_args: Vec::new(),
        stages: Vec::new(),
        check: res.check,
        warnings: res.warnings,
    };
    let mut names: HashMap<String, usize> = HashMap::new();
    let last_line = res.ast.end_line;
    for mut node in res.ast.children {
        let span = span_of(&node);
        let typed = parse_node(&node, &node.heredocs).map_err(|m| Error::at(&span, m))?;
        match typed {
            TypedNode::From(from) => {
                let name = from.alias.as_ref().map(|a| crate::quote::go_to_lower(a));
                if let Some(n) = &name {
                    if let Some(prev_line) = names.insert(n.clone(), span.line) {
                        return Err(Error::at(
                            &span,
                            format!(
                                "duplicate stage name {n:?}: already used by the stage on line {prev_line}"
                            ),
                        ));
                    }
                }
                df.stages.push(Stage {
                    index: df.stages.len(),
                    from: Spanned {
                        node: from,
                        span,
                        original: trimmed(std::mem::take(&mut node.original)),
                    },
                    name,
                    instructions: Vec::new(),
                });
            }
            TypedNode::Instruction(instr) => {
                let sp = Spanned {
                    node: instr,
                    span,
                    original: trimmed(std::mem::take(&mut node.original)),
                };
                match df.stages.last_mut() {
                    Some(stage) => stage.instructions.push(sp),
                    None => match sp.node {
                        Instruction::Arg(a) => df.meta_args.push(Spanned {
                            node: a,
                            span: sp.span,
                            original: sp.original,
                        }),
                        other => {
                            return Err(Error::at(
                                &sp.span,
                                format!(
                                    "FROM missing: {} comes before the first FROM (only ARG may come before FROM)",
                                    other.keyword()
                                ),
                            ))
                        }
                    },
                }
            }
        }
    }
    if df.stages.is_empty() {
        let line = last_line;
        return Err(Error::new(
            line,
            0,
            "FROM missing: the Dockerfile has no FROM instruction",
        ));
    }
    Ok(df)
}

/// BuildKit records `strings.TrimSpace(original)` as the source code.
fn trimmed(s: String) -> String {
    let t = s.trim();
    if t.len() == s.len() {
        s
    } else {
        t.to_string()
    }
}

/// BuildKit's doc-comment rule: among the comment lines above an
/// instruction, the first that starts with `<name> ` describes `name`
/// (an ARG key or a stage name); the text after the name is returned.
pub fn doc_comment(node: &Node, name: &str) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    let prefix = format!("{name} ");
    node.prev_comment
        .iter()
        .find_map(|c| c.strip_prefix(&prefix).map(str::to_string))
}
