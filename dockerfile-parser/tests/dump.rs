//! The `result` dump format: Go `strconv.Quote` quoting, flags, ONBUILD
//! nesting and unknown instructions.

use dockerfile_parser::{go_quote, parse_nodes};

#[test]
fn go_quote_matches_strconv_quote() {
    assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
    assert_eq!(go_quote("\x07\x08\x0c\n\r\t\x0b"), r#""\a\b\f\n\r\t\v""#);
    assert_eq!(go_quote("\0\x1b\x7f"), r#""\x00\x1b\x7f""#);
    assert_eq!(go_quote("♥ é 한"), "\"♥ é 한\"");
    assert_eq!(
        go_quote("\u{a0}\u{ad}\u{200b}\u{feff}"),
        r#""\u00a0\u00ad\u200b\ufeff""#
    );
    assert_eq!(go_quote("\u{10ffff}"), r#""\U0010ffff""#);
}

#[test]
fn dump_shapes() {
    let root = parse_nodes(
        "FROM x\nONBUILD COPY --from=a b c\nONBUILD\nFOO bar baz\nCOPY --a=\"x y\" -- --b c\nHEALTHCHECK\n",
    )
    .unwrap();
    assert_eq!(
        root.dump(),
        "(from \"x\")\n(onbuild (copy [\"--from=a\"] \"b\" \"c\"))\n(onbuild)\n(foo \"\")\n(copy [\"--a=x y\"] \"--b\" \"c\")\n(healthcheck)"
    );
}
