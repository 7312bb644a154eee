//! Every grammar row, the null and type-mismatch rules, precedence, quirks and errors, each
//! verdict as Apache RocketMQ 5.3 gives it (checked against its `SelectorParser` and
//! `ComparisonExpression` on OpenJDK 17; the Java class that decides is named per test).

mod support;

use ferromq_filter::{ParseError, MAX_DEPTH, MAX_EXPRESSION_LEN};
use support::{check, compile, refused, V};

// ---- grammar rows ------------------------------------------------------------------------

#[test]
fn comparison_operators() {
    let p = [("a", "5")];
    for (expr, want) in [
        ("a = 5", V::T),
        ("a <> 5", V::F),
        ("a > 4", V::T),
        ("a >= 5", V::T),
        ("a < 5", V::F),
        ("a <= 5", V::T),
        ("a > 5", V::F),
        ("a < 6", V::T),
    ] {
        check(expr, &p, want);
    }
}

#[test]
fn keywords_are_case_insensitive() {
    check(
        "a Is NoT nUlL aNd a iN ('5') oR NOT (a BeTwEeN 1 AnD 2)",
        &[("a", "5")],
        V::T,
    );
    check(
        "a Contains '5' AND a STARTSwith '5' and a endsWITH '5'",
        &[("a", "5")],
        V::T,
    );
    check("TRUE", &[], V::T);
    check("true", &[], V::T);
}

#[test]
fn parentheses_group() {
    let p = [("a", "1"), ("b", "2")];
    check("a = 1 OR b = 1 AND b = 3", &p, V::T);
    check("(a = 1 OR b = 1) AND b = 3", &p, V::F);
    check("((((a = 1))))", &p, V::T);
}

#[test]
fn between_and_not_between() {
    check("a BETWEEN 1 AND 10", &[("a", "10")], V::T);
    check("a BETWEEN 1 AND 10", &[("a", "11")], V::F);
    check("a NOT BETWEEN 1 AND 10", &[("a", "0")], V::T);
    check("a BETWEEN 1.5 AND 2", &[("a", "2")], V::T);
    check("a BETWEEN 5 AND 5", &[("a", "5")], V::T);
    // the bounds may be properties or negations (no compile-time check then)
    check(
        "a BETWEEN lo AND hi",
        &[("a", "5"), ("lo", "1"), ("hi", "9")],
        V::T,
    );
    check("a BETWEEN 5 AND -5", &[("a", "0")], V::F);
    // createNotBetween does not check constant bounds
    check("a NOT BETWEEN 10 AND 0", &[("a", "5")], V::T);
}

#[test]
fn between_with_missing_operands_is_three_valued() {
    check("a BETWEEN 1 AND 10", &[], V::N);
    check("a BETWEEN lo AND 10", &[("a", "20")], V::F);
    check("a BETWEEN lo AND 10", &[("a", "5")], V::N);
    check("a NOT BETWEEN lo AND 10", &[("a", "20")], V::T);
    check("a NOT BETWEEN lo AND 10", &[("a", "5")], V::N);
}

#[test]
fn in_and_not_in() {
    check("a IN ('x', 'y')", &[("a", "y")], V::T);
    check("a IN ('x', 'y')", &[("a", "z")], V::F);
    check("a NOT IN ('x', 'y')", &[("a", "z")], V::T);
    check("a IN ('x')", &[], V::N);
    check("a NOT IN ('x')", &[], V::N);
    // IN compares strings exactly: no number conversion
    check("a IN ('5')", &[("a", "05")], V::F);
    // a long list (hash set) behaves the same
    let list: Vec<String> = (0..50).map(|i| format!("'v{i}'")).collect();
    let expr = format!("a IN ({})", list.join(","));
    check(&expr, &[("a", "v42")], V::T);
    check(&expr, &[("a", "v50")], V::F);
}

/// `createInFilter`: the left side must be a property (parentheses and unary plus keep it one).
#[test]
fn in_needs_a_property() {
    assert!(matches!(
        refused("'a' IN ('a')"),
        ParseError::InNeedsProperty { .. }
    ));
    assert!(matches!(
        refused("-a IN ('a')"),
        ParseError::InNeedsProperty { .. }
    ));
    refused("a IN ()");
    refused("a IN ('x', 5)");
    refused("a IN 'x'");
    check("(a) IN ('x')", &[("a", "x")], V::T);
    check("+a IN ('x')", &[("a", "x")], V::T);
}

#[test]
fn is_null_and_is_not_null() {
    check("a IS NULL", &[], V::T);
    check("a IS NOT NULL", &[], V::F);
    check("a IS NOT NULL", &[("a", "x")], V::T);
    check("5 IS NULL", &[], V::F);
    check("NULL IS NULL", &[], V::T);
    // IS NULL of a comparison: null when the property is missing
    check("(a > 5) IS NULL", &[], V::T);
    check("a > 5 IS NULL", &[("a", "1")], V::F);
}

/// There is no `IS TRUE` / `IS FALSE` in RocketMQ's grammar (any version): after `IS` only
/// `NULL` or `NOT NULL` may follow.
#[test]
fn is_true_and_is_false_do_not_exist() {
    for expr in [
        "a IS TRUE",
        "a IS FALSE",
        "a IS NOT TRUE",
        "a IS NOT FALSE",
        "(a > 1) IS TRUE",
    ] {
        assert!(
            matches!(refused(expr), ParseError::UnexpectedToken { .. }),
            "{expr}"
        );
    }
}

#[test]
fn contains_starts_with_ends_with() {
    let p = [("a", "hello world")];
    check("a CONTAINS 'o w'", &p, V::T);
    check("a STARTSWITH 'hello'", &p, V::T);
    check("a ENDSWITH 'world'", &p, V::T);
    check("a NOT CONTAINS 'xyz'", &p, V::T);
    check("a NOT STARTSWITH 'world'", &p, V::T);
    check("a NOT ENDSWITH 'hello'", &p, V::T);
    check("a CONTAINS 'é'", &[("a", "café")], V::T);
    // case-sensitive, no wildcards
    check("a CONTAINS 'HELLO'", &p, V::F);
    check("a STARTSWITH 'h%'", &p, V::F);
    // the pattern must be a string literal
    refused("a CONTAINS b");
    refused("a CONTAINS NULL");
}

#[test]
fn string_literals_escape_quotes_by_doubling() {
    check("a = 'it''s'", &[("a", "it's")], V::T);
    check("a = ''''", &[("a", "'")], V::T);
    check("a = 'x' AND b = ''", &[("a", "x"), ("b", "y")], V::F);
    check("a = 'multi\nline'", &[("a", "multi\nline")], V::T);
    check("a = 'a\\nb'", &[("a", "a\\nb")], V::T);
}

#[test]
fn integer_literals() {
    check("a = 2147483647", &[("a", "2147483647")], V::T);
    // beyond int the literal is a Long, and the property is read with Long.valueOf
    check("a = 2147483648", &[("a", "2147483648")], V::T);
    check(
        "a = 9223372036854775807",
        &[("a", "9223372036854775807")],
        V::T,
    );
    check(
        "a = -9223372036854775807",
        &[("a", "-9223372036854775807")],
        V::T,
    );
    // an L suffix changes nothing: 5L is an Integer
    check("a = 5L", &[("a", "5")], V::T);
    check("a = 5l", &[("a", "5")], V::T);
    // 9223372036854775808 does not fit a long, so -9223372036854775808 does not compile either
    refused("a = 9223372036854775808");
    refused("a = -9223372036854775808");
}

/// `ConstantExpression` drops ActiveMQ's hex and octal literals; the lexer splits them.
#[test]
fn hex_and_octal_literals_do_not_exist() {
    // "0x10" is 0 followed by the identifier x10: the trailing tokens are ignored
    check("a = 0x10", &[("a", "0")], V::T);
    check("a = 0x10", &[("a", "16")], V::F);
    // "010" is 0 followed by 10
    check("a = 010", &[("a", "0")], V::T);
    check("a = 010", &[("a", "8")], V::F);
    // "0L" is 0 followed by the identifier L
    check("a = 0L", &[("a", "0")], V::T);
}

#[test]
fn float_literals() {
    for (expr, value) in [
        ("a = 5.5", "5.5"),
        ("a = 5.", "5"),
        ("a = .5", "0.5"),
        ("a = 5E10", "50000000000"),
        ("a = 5e10", "5E10"),
        ("a = 5.5E-3", "0.0055"),
        ("a = 5.5e+3", "5500"),
        ("a = 1.7976931348623157E308", "1.7976931348623157E308"),
        ("a = 4.9E-324", "4.9E-324"),
    ] {
        check(expr, &[("a", value)], V::T);
    }
}

/// `ConstantExpression.createFloat` refuses values above `Double.MAX_VALUE` and below
/// `Double.MIN_VALUE` — which includes every spelling of zero.
#[test]
fn float_literals_out_of_range_do_not_compile() {
    for expr in [
        "a > 0.0",
        "a > 0.",
        "a > .0",
        "a > 0E5",
        "a > 1E400",
        "a > 1E-400",
        "a = 2E-324",
    ] {
        assert!(
            matches!(refused(expr), ParseError::InvalidNumber { .. }),
            "{expr}"
        );
    }
    // zero as an integer is fine
    check("a > 0", &[("a", "1")], V::T);
}

#[test]
fn boolean_and_null_constants() {
    check("TRUE", &[], V::T);
    check("FALSE", &[], V::F);
    check("NULL", &[], V::N);
    check("NOT NULL", &[], V::N);
    check("TRUE AND NOT FALSE", &[], V::T);
    check("TRUE = TRUE", &[], V::T);
    check("TRUE <> FALSE", &[], V::T);
}

#[test]
fn identifiers() {
    let p = [("_a$1", "x"), ("$", "y"), ("Aa", "z"), ("TAGS", "t")];
    check(
        "_a$1 = 'x' AND $ = 'y' AND Aa = 'z' AND TAGS = 't'",
        &p,
        V::T,
    );
    // property names are case-sensitive
    check("aa = 'z'", &p, V::N);
    // no dots or slashes in names (`SelectorParser.jj` ID token): lexical errors
    for expr in ["a.b = 1", "a/b = 1", "a:b = 1"] {
        assert!(
            matches!(refused(expr), ParseError::UnexpectedChar { .. }),
            "{expr}"
        );
    }
    // "1a" is the literal 1 and then the ignored a, and 1 is not a boolean
    refused("1a = 1");
    // "a-b" is the property a as a boolean and then the ignored "- b = 1"
    check("a-b = 1", &[("a", "1"), ("b", "1")], V::F);
}

#[test]
fn comments_and_white_space() {
    check(
        "/* c */ a = 1 -- tail\n AND\tb\r\n=\x0c2",
        &[("a", "1"), ("b", "2")],
        V::T,
    );
    // "--" without a line end is not a comment: it is two minus signs
    check("a = --1", &[("a", "1")], V::T);
    refused("a = 1 /* open");
}

// ---- property values and type conversion (ComparisonExpression.__compare) -----------------

#[test]
fn numeric_literal_converts_the_string_property() {
    check("a > 5", &[("a", "10")], V::T);
    check("a > 5", &[("a", "+10")], V::T);
    check("a > 5", &[("a", "010")], V::T);
    check("a > 5", &[("a", "\u{ff11}\u{ff10}")], V::T); // fullwidth 10: Character.digit
    check("a > 5.0", &[("a", " 10 ")], V::T); // Double.valueOf trims, Integer.valueOf does not
    check("a > 5", &[("a", " 10 ")], V::E);
    check("a > 5", &[("a", "10.5")], V::E);
    check("a > 5.0", &[("a", "10.5")], V::T);
    check("a > 5", &[("a", "3000000000")], V::E); // Integer.valueOf overflows
    check("a > 2147483648", &[("a", "3000000000")], V::T); // Long literal: Long.valueOf
    check("a > 5", &[("a", "abc")], V::E);
    check("a > 5.0", &[("a", "NaN")], V::T); // Double.compare puts NaN on top
    check("a = 5.0", &[("a", "5")], V::T);
    check("a = 5", &[("a", "5.0")], V::E);
    check("a > 5.0", &[("a", "1e3")], V::T);
    check("a > 5.0", &[("a", "0x1p3")], V::T);
    check("a < 5.0", &[("a", "1.5f")], V::T);
}

#[test]
fn failed_conversion_escapes_not_and_not_equal() {
    check("a <> 5", &[("a", "abc")], V::E);
    check("NOT (a > 5)", &[("a", "abc")], V::E);
    check("a > 5 OR b = 'x'", &[("a", "abc"), ("b", "x")], V::E);
    // ... unless an earlier operand decides: AND/OR short-circuit left to right
    check("b = 'x' OR a > 5", &[("a", "abc"), ("b", "x")], V::T);
    check("b = 'y' AND a > 5", &[("a", "abc"), ("b", "x")], V::F);
}

#[test]
fn two_properties_compare_as_doubles_for_ordering() {
    check("a > b", &[("a", "10"), ("b", "9")], V::T); // not "10" < "9" as strings
    check("a > b", &[("a", "10"), ("b", "x")], V::E);
    check("a >= b", &[("a", "-0"), ("b", "0")], V::F); // Double.compare: -0.0 < 0.0
                                                       // equality of two properties compares the strings
    check("a = b", &[("a", "10"), ("b", "10.0")], V::F);
    check("a = b", &[("a", "x"), ("b", "x")], V::T);
}

#[test]
fn string_literal_against_property_compares_strings() {
    check("a = '10'", &[("a", "10")], V::T);
    check("a = '10'", &[("a", "10.0")], V::F);
    // ordering against a string literal does not compile (checkLessThanOperand)
    assert!(matches!(
        refused("a > '10'"),
        ParseError::NotComparable { .. }
    ));
}

#[test]
fn boolean_literal_converts_the_property_with_boolean_value_of() {
    check("a = TRUE", &[("a", "true")], V::T);
    check("a = TRUE", &[("a", "TRUE")], V::T);
    check("a = TRUE", &[("a", "yes")], V::F);
    check("a = FALSE", &[("a", "yes")], V::T);
    check("a <> TRUE", &[("a", "1")], V::T);
    // with the boolean on the left Java casts the wrong operand and throws
    check("TRUE = a", &[("a", "true")], V::E);
    check("(b > 1) = a", &[("a", "true"), ("b", "2")], V::E);
}

#[test]
fn boolean_against_number_is_unequal() {
    check("5 = TRUE", &[], V::F);
    check("(a > 1) = 1", &[("a", "2")], V::F);
    refused("TRUE = 5");
    refused("TRUE = 'x'");
}

#[test]
fn numbers_widen() {
    check("5 = 5.0", &[], V::T);
    check("2147483648 > 5", &[], V::T);
    check("5 < 2147483648.5", &[], V::T);
    check("-a = 5", &[("a", "-5")], V::N); // negation of a string is null
    check("-(-5) = 5", &[], V::T);
}

// ---- null semantics ------------------------------------------------------------------------

/// `doCreateEqual`: a null on the left gives null, a null on the right gives FALSE, two
/// nulls are equal.
#[test]
fn equality_with_missing_properties() {
    check("a = 'x'", &[], V::N);
    check("'x' = a", &[], V::F);
    check("a <> 'x'", &[], V::N);
    check("'x' <> a", &[], V::T);
    check("a = b", &[], V::T);
    check("a <> b", &[], V::F);
    check("a = b", &[("a", "x")], V::F);
    check("a = b", &[("b", "x")], V::N);
}

#[test]
fn ordering_with_missing_properties_is_null() {
    for expr in ["a > 5", "a >= 5", "a < 5", "a <= 5", "5 < a", "a > b"] {
        check(expr, &[], V::N);
    }
    // the right side is not evaluated when the left one is null
    check("a > b", &[("b", "x")], V::N);
    check("a > b", &[("a", "x")], V::N);
}

#[test]
fn three_valued_logic() {
    let null = "a = 'x'"; // a is missing
    check(&format!("NOT ({null})"), &[], V::N);
    check(&format!("({null}) AND TRUE"), &[], V::N);
    check(&format!("({null}) AND FALSE"), &[], V::F);
    check(&format!("FALSE AND ({null})"), &[], V::F);
    check(&format!("({null}) OR TRUE"), &[], V::T);
    check(&format!("({null}) OR FALSE"), &[], V::N);
    check(&format!("TRUE OR ({null})"), &[], V::T);
    check(&format!("({null}) OR ({null})"), &[], V::N);
}

#[test]
fn bare_property_as_boolean() {
    check("a", &[("a", "true")], V::F); // a string is never Boolean.TRUE
    check("a", &[], V::N);
    check("NOT a", &[("a", "false")], V::T);
    check("NOT a", &[], V::N);
    check("a OR b = 1", &[("a", "true"), ("b", "1")], V::T);
    check("(a)", &[("a", "x")], V::F);
}

// ---- precedence ----------------------------------------------------------------------------

#[test]
fn and_binds_tighter_than_or() {
    check("TRUE OR FALSE AND FALSE", &[], V::T);
    check("(TRUE OR FALSE) AND FALSE", &[], V::F);
}

/// NOT is a prefix operator of the highest level: `NOT a = 'x'` is `(NOT a) = 'x'`, which
/// compares a boolean with a string (Java throws) or is null.
#[test]
fn not_binds_tighter_than_comparisons() {
    check("NOT a = 'x'", &[("a", "y")], V::E);
    check("NOT a = 'x'", &[], V::N);
    check("NOT (a = 'x')", &[("a", "y")], V::T);
    // and NOT of a comparison cannot be ordered
    assert!(matches!(
        refused("NOT a > 5"),
        ParseError::NotComparable { .. }
    ));
    check("NOT a = FALSE", &[("a", "y")], V::F);
}

#[test]
fn comparisons_bind_tighter_than_equality() {
    // (a > 1) = (b > 1)
    check("a > 1 = b > 1", &[("a", "2"), ("b", "0")], V::F);
    check("a > 1 = b > 1", &[("a", "2"), ("b", "3")], V::T);
    // equality chains are left-associative: (a = 1) = FALSE
    check("a = 1 = FALSE", &[("a", "2")], V::T);
    // comparisons cannot chain: (a > 1) > 0 orders a boolean
    refused("a > 1 > 0");
}

#[test]
fn unary_minus_and_plus() {
    check("a > -5", &[("a", "-4")], V::T);
    check("a = - - 5", &[("a", "5")], V::T);
    check("a = +5", &[("a", "5")], V::T);
    check("-5 < a", &[("a", "0")], V::T);
    // a negation is not a constant: BETWEEN does not check such bounds
    check("a BETWEEN -1 AND -5", &[("a", "-3")], V::F);
}

// ---- quirks of the Java grammar -----------------------------------------------------------

/// `JmsSelector` has no end-of-input rule: the longest expression is taken and the rest is
/// ignored once its first token lexes.
#[test]
fn trailing_tokens_are_ignored() {
    check("a = 1 b = 2", &[("a", "1"), ("b", "3")], V::T);
    check("a = 1 )", &[("a", "1")], V::T);
    check("a = 1 'x'", &[("a", "1")], V::T);
    check("a = 1 'x'' y", &[("a", "1")], V::T); // the shorter literal 'x' lexes
    check("TRUE FALSE", &[], V::T);
    // so operators RocketMQ lacks end the expression instead of failing it
    check("a = 1 + 2", &[("a", "1")], V::T);
    check("a = 1)AND b = 2", &[("a", "1")], V::T);
    check("f(a)", &[("f", "x")], V::F);
    check("a LIKE 'x%'", &[("a", "xyz")], V::F); // the property a as a boolean: never TRUE
                                                 // ... but the first trailing token must lex, and operators continue the expression
    refused("a = 1 #");
    refused("a = 1 'x");
    refused("a = 1 AND");
    refused("a = 1 NOT");
    refused("a = 1 IS");
}

// ---- compile errors ------------------------------------------------------------------------

#[test]
fn the_expression_must_give_a_boolean() {
    for expr in [
        "5",
        "'x'",
        "-a",
        "(5)",
        "a = 1 AND 5",
        "NOT 'x'",
        "5.5 OR TRUE",
    ] {
        assert!(
            matches!(refused(expr), ParseError::NotBoolean { .. }),
            "{expr}"
        );
    }
}

#[test]
fn null_cannot_be_compared() {
    for expr in [
        "a = NULL",
        "NULL = a",
        "a <> NULL",
        "a > NULL",
        "a BETWEEN NULL AND 5",
    ] {
        refused(expr);
    }
}

#[test]
fn ordering_needs_numbers() {
    for expr in [
        "a > 'x'",
        "'x' < a",
        "a >= TRUE",
        "a < (b = 1)",
        "a BETWEEN 'a' AND 'b'",
    ] {
        assert!(
            matches!(
                refused(expr),
                ParseError::NotComparable { .. } | ParseError::InvalidBetween { .. }
            ),
            "{expr}"
        );
    }
}

#[test]
fn between_bounds_are_checked_when_constant() {
    for expr in [
        "a BETWEEN 10 AND 0",
        "a BETWEEN 2147483648 AND 5",
        "a BETWEEN 5 AND 'x'",
        "a BETWEEN TRUE AND FALSE",
        "a BETWEEN NULL AND 1",
    ] {
        assert!(
            matches!(refused(expr), ParseError::InvalidBetween { .. }),
            "{expr}"
        );
    }
}

#[test]
fn syntax_errors_report_their_position() {
    let err = refused("a = 1 AND\n  b >");
    assert_eq!(err.position().map(|p| (p.line, p.column)), Some((2, 6)));
    assert!(err.to_string().contains("end of input"), "{err}");

    let err = refused("a == 1");
    assert_eq!(err.position().map(|p| p.offset), Some(3));
    assert!(err.to_string().contains("'='"), "{err}");

    let err = refused("a != 1");
    assert!(
        matches!(err, ParseError::UnexpectedChar { found: '!', .. }),
        "{err}"
    );
}

#[test]
fn malformed_input_is_refused() {
    for expr in [
        "",
        " ",
        "()",
        "(a = 1",
        "a =",
        "= 1",
        "a BETWEEN 1",
        "a BETWEEN 1 OR 2",
        "a NOT",
        "a NOT LIKE 'x'",
        "a IN",
        "a IN (",
        "a IN ('x'",
        "a IS NOT",
        "'unterminated",
        "/* open",
        "a * 2 > 1",
        "a = \"x\"",
        "NOT",
        "AND a",
        "a = é",
    ] {
        refused(expr);
    }
}

// ---- limits --------------------------------------------------------------------------------

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    for open in ["(", "NOT ", "-", "+"] {
        let expr = format!(
            "{}a = 1{}",
            open.repeat(MAX_DEPTH + 1),
            if open == "(" {
                ")".repeat(MAX_DEPTH + 1)
            } else {
                String::new()
            }
        );
        assert!(
            matches!(refused(&expr), ParseError::TooDeep { .. }),
            "{open}"
        );
    }
    let chain = format!("a{}", " IS NULL".repeat(MAX_DEPTH + 1));
    assert!(matches!(refused(&chain), ParseError::TooDeep { .. }));
    // within the limit it works
    let ok = format!(
        "{}a = 1{}",
        "(".repeat(MAX_DEPTH - 5),
        ")".repeat(MAX_DEPTH - 5)
    );
    check(&ok, &[("a", "1")], V::T);
}

#[test]
fn long_and_or_chains_are_flat() {
    let expr = (0..3000)
        .map(|i| format!("a = '{i}'"))
        .collect::<Vec<_>>()
        .join(" OR ");
    check(&expr, &[("a", "2999")], V::T);
    check(&expr, &[("a", "x")], V::F);
}

#[test]
fn overlong_expressions_are_refused() {
    let expr = format!("a = '{}'", "x".repeat(MAX_EXPRESSION_LEN));
    assert!(matches!(refused(&expr), ParseError::TooLong { .. }));
    let fits = format!("a = '{}'", "x".repeat(MAX_EXPRESSION_LEN - 10));
    compile(&fits);
}
