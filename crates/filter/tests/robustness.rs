//! Hostile and random input: `compile` and `evaluate` must never panic, whatever the text or
//! the properties, and `matches` must agree with `evaluate`.

use std::collections::HashMap;

use ferromq_filter::{EncodedProperties, Evaluation, Filter, ParseError, MAX_DEPTH};
use proptest::prelude::*;

/// Tokens and fragments that make up most of the grammar, plus things it lacks.
const VOCABULARY: &[&str] = &[
    "a",
    "b",
    "TAGS",
    "zz",
    "$x",
    "_y",
    "NOT",
    "AND",
    "OR",
    "BETWEEN",
    "IN",
    "IS",
    "NULL",
    "TRUE",
    "FALSE",
    "CONTAINS",
    "STARTSWITH",
    "ENDSWITH",
    "LIKE",
    "=",
    "<>",
    ">",
    ">=",
    "<",
    "<=",
    "(",
    ")",
    ",",
    "+",
    "-",
    "*",
    "!",
    "0",
    "5",
    "10",
    "5L",
    "010",
    "2147483648",
    "9223372036854775808",
    "5.5",
    "5.",
    ".5",
    "5E10",
    "0.0",
    "1e400",
    "'x'",
    "'10'",
    "''",
    "'it''s'",
    "'",
    "--",
    "/*",
    "*/",
    "\n",
    "é",
    ".",
];

/// Property values that exercise every conversion path.
const VALUES: &[&str] = &[
    "10",
    "5",
    "-1",
    "0",
    "-0",
    "abc",
    "x",
    "true",
    "TRUE",
    "10.5",
    " 10 ",
    "+5",
    "1e3",
    "NaN",
    "Infinity",
    "0x1p3",
    "1.5f",
    "3000000000",
    "9223372036854775808",
    "\u{ff11}\u{ff12}",
    "it's",
];

fn expression_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VOCABULARY), 0..40).prop_map(|t| t.join(" "))
}

fn property_map() -> impl Strategy<Value = HashMap<String, String>> {
    let key = prop::sample::select(&["a", "b", "TAGS", "zz", "$x", "_y"][..]);
    let value = prop_oneof![
        prop::sample::select(VALUES).prop_map(str::to_string),
        any::<String>(),
    ];
    prop::collection::hash_map(key.prop_map(str::to_string), value, 0..5)
}

/// Evaluates through a map and through the stored encoding; checks the two agree with each
/// other and with `matches`, as far as the encoding can carry the map.
fn evaluate_everywhere(filter: &Filter, props: &HashMap<String, String>) {
    let by_map = filter.evaluate(props);
    assert_eq!(filter.matches(props), by_map == Evaluation::True);
    let encodable = props
        .iter()
        .all(|(k, v)| !v.is_empty() && !k.contains(['\u{1}', '\u{2}']) && !v.contains('\u{2}'));
    let encoded: String = props
        .iter()
        .map(|(k, v)| format!("{k}\u{1}{v}\u{2}"))
        .collect();
    let by_string = filter.evaluate(&EncodedProperties::new(&encoded));
    if encodable {
        assert_eq!(by_map, by_string);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_text_compiles_or_fails_cleanly(text in any::<String>()) {
        if let Err(e) = Filter::compile(&text) {
            let _ = e.to_string();
            if let Some(at) = e.position() {
                prop_assert!(at.offset <= text.len());
            }
        }
    }

    #[test]
    fn token_soup_never_panics(text in expression_text(), props in property_map()) {
        match Filter::compile(&text) {
            Ok(filter) => evaluate_everywhere(&filter, &props),
            Err(e) => prop_assert!(e.position().is_some_and(|at| at.offset <= text.len())),
        }
    }

    #[test]
    fn mutated_expressions_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<char>(), 0..3u8), 1..4),
        base in prop::sample::select(&[
            "a > 5 AND b = 'x'",
            "a BETWEEN 1 AND 10 OR TAGS IN ('t1', 't2')",
            "NOT (a IS NULL) AND b NOT CONTAINS 'it''s'",
            "(a <> 5.5E-3) OR -a >= .5 AND b STARTSWITH 'x' /* c */",
        ][..]),
        props in property_map(),
    ) {
        let mut chars: Vec<char> = base.chars().collect();
        for (at, c, kind) in edits {
            let i = at.index(chars.len() + 1);
            match kind {
                0 if i < chars.len() => { chars.remove(i); }
                1 if i < chars.len() => chars[i] = c,
                _ => chars.insert(i, c),
            }
        }
        let text: String = chars.into_iter().collect();
        if let Ok(filter) = Filter::compile(&text) {
            evaluate_everywhere(&filter, &props);
        }
    }

    #[test]
    fn encoded_properties_never_panic(raw in any::<String>(), key in any::<String>()) {
        use ferromq_filter::PropertySource;
        let props = EncodedProperties::new(&raw);
        if let Some(v) = props.get(&key) {
            prop_assert!(!v.is_empty());
        }
    }
}

/// Expressions nested to the limit and beyond, in every shape that nests: each compiles or is
/// refused with `TooDeep`, and evaluates, on a thread with a quarter of the usual 2 MiB stack
/// (debug build; the deepest shape, nested BETWEEN bounds, needs about 300 KiB there).
#[test]
fn maximum_nesting_fits_a_small_stack() {
    let shapes: [(&str, &str, &str); 7] = [
        ("(", "a = 1", ")"),
        ("NOT ", "a", ""),
        ("-", "a > 1", ""),
        ("(NOT ", "a = 1", ")"),
        ("a BETWEEN -(", "a", ") AND 1"),
        ("a > -(", "a", ")"),
        ("a OR b AND c = (", "a", ")"),
    ];
    let handle = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || {
            let props = HashMap::from([("a".to_string(), "1".to_string())]);
            for (open, inner, close) in shapes {
                for depth in [
                    MAX_DEPTH / 3,
                    MAX_DEPTH / 2,
                    MAX_DEPTH - 1,
                    MAX_DEPTH,
                    MAX_DEPTH + 1,
                ] {
                    let expr = format!("{}{inner}{}", open.repeat(depth), close.repeat(depth));
                    match Filter::compile(&expr) {
                        Ok(filter) => {
                            let _ = filter.evaluate(&props);
                        }
                        Err(ParseError::TooDeep { .. }) => {}
                        Err(e) => return Err(format!("{open}{inner}{close} x{depth}: {e}")),
                    }
                }
                let far = format!("{}{inner}{}", open.repeat(2_000), close.repeat(2_000));
                if !matches!(Filter::compile(&far), Err(ParseError::TooDeep { .. })) {
                    return Err(format!(
                        "{open}{inner}{close} x2000 not refused as too deep"
                    ));
                }
            }
            Ok(())
        });
    let result = handle.map(|h| h.join());
    assert!(matches!(result, Ok(Ok(Ok(())))), "{result:?}");
}
