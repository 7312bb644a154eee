//! Apache RocketMQ's own filter tests (`filter/src/test/java/org/apache/rocketmq/filter/`
//! `ExpressionTest.java` and `ParserTest.java`), one Rust test per Java test, same names in
//! snake case. The Java tests sometimes put `Integer`, `Double`, `Boolean` or plain `Object`
//! values into the context; a broker only ever has strings (`MessageEvaluationContext` wraps a
//! `Map<String, String>`), so those cases use the string the property would arrive as.
//! Java's `eval` helper treats null like FALSE; here the exact verdict is checked.

mod support;

use support::{check, compile, refused, V};

// ---- ExpressionTest ----------------------------------------------------------------------

#[test]
fn contains_starts_with_ends_with_has() {
    let p = [("value", "axb")];
    check("value contains 'x'", &p, V::T);
    check("value startswith 'ax'", &p, V::T);
    check("value endswith 'xb'", &p, V::T);
}

#[test]
fn not_contains_not_starts_with_not_ends_with_has() {
    let p = [("value", "axb")];
    check("value not contains 'x'", &p, V::F);
    check("value not startswith 'ax'", &p, V::F);
    check("value not endswith 'xb'", &p, V::F);
}

#[test]
fn contains_starts_with_ends_with_has_not() {
    let p = [("value", "abb")];
    check("value contains 'x'", &p, V::F);
    check("value startswith 'x'", &p, V::F);
    check("value endswith 'x'", &p, V::F);
}

#[test]
fn not_contains_not_starts_with_not_ends_with_has_not() {
    let p = [("value", "abb")];
    check("value not contains 'x'", &p, V::T);
    check("value not startswith 'x'", &p, V::T);
    check("value not endswith 'x'", &p, V::T);
}

#[test]
fn contains_starts_with_ends_with_has_empty() {
    let p = [("value", "axb")];
    check("value contains ''", &p, V::F);
    check("value startswith ''", &p, V::F);
    check("value endswith ''", &p, V::F);
}

#[test]
fn not_contains_not_starts_with_not_ends_with_has_empty() {
    let p = [("value", "axb")];
    check("value not contains ''", &p, V::F);
    check("value not startswith ''", &p, V::F);
    check("value not endswith ''", &p, V::F);
}

/// `..._null_has_1` (value mapped to null) and `..._null_has_2` (no value): both are a missing
/// property here.
#[test]
fn contains_starts_with_ends_with_null_has() {
    check("value contains 'x'", &[], V::F);
    check("value startswith 'x'", &[], V::F);
    check("value endswith 'x'", &[], V::F);
}

#[test]
fn not_contains_not_starts_with_not_ends_with_null_has() {
    check("value not contains 'x'", &[], V::F);
    check("value not startswith 'x'", &[], V::F);
    check("value not endswith 'x'", &[], V::F);
}

/// `..._number_has`, `..._boolean_has`, `..._object_has`: Java gives FALSE for a non-string
/// value, including under NOT. A literal number or boolean is the only non-string left side a
/// broker can see.
#[test]
fn contains_starts_with_ends_with_non_string_has() {
    for left in ["1.23", "TRUE", "(a > 1)"] {
        for op in [
            "contains",
            "startswith",
            "endswith",
            "not contains",
            "not startswith",
        ] {
            check(&format!("{left} {op} 'x'"), &[("a", "5")], V::F);
        }
    }
}

#[test]
fn contains_has_not_string() {
    refused("value contains x");
    refused("value not contains x");
    refused("value contains 123");
    refused("value not contains 123");
}

#[test]
fn contains_starts_with_ends_with_string_has_string() {
    check("'axb' contains 'x'", &[("whatever", "whatever")], V::T);
    check("'axb' startswith 'ax'", &[], V::T);
    check("'axb' endswith 'xb'", &[], V::T);
    check("'axb' not contains 'x'", &[], V::F);
    check("'axb' not startswith 'ax'", &[], V::F);
    check("'axb' not endswith 'xb'", &[], V::F);
}

#[test]
fn contains_starts_with_ends_with_string_has_not_string() {
    check("'axb' contains 'u'", &[], V::F);
    check("'axb' startswith 'u'", &[], V::F);
    check("'axb' endswith 'u'", &[], V::F);
    check("'axb' not contains 'u'", &[], V::T);
    check("'axb' not startswith 'u'", &[], V::T);
    check("'axb' not endswith 'u'", &[], V::T);
}

#[test]
fn contains_starts_with_ends_with_string_has_empty() {
    for op in [
        "contains",
        "startswith",
        "endswith",
        "not contains",
        "not startswith",
        "not endswith",
    ] {
        check(&format!("'axb' {op} ''"), &[], V::F);
    }
}

#[test]
fn contains_starts_with_ends_with_string_has_space() {
    check("' ' contains ' '", &[], V::T);
    check("' ' startswith ' '", &[], V::T);
    check("' ' endswith ' '", &[], V::T);
    check("' ' not contains ' '", &[], V::F);
    check("' ' not startswith ' '", &[], V::F);
    check("' ' not endswith ' '", &[], V::F);
}

#[test]
fn contains_string_has_nothing() {
    refused("'axb' contains ");
    refused("'axb' not contains ");
}

#[test]
fn contains_starts_with_ends_with_string_has_special() {
    check("'axb' contains '.'", &[], V::F);
    check("'axb' startswith '.'", &[], V::F);
    check("'axb' endswith '.'", &[], V::F);
    check("'axb' not contains '.'", &[], V::T);
    check("'axb' not startswith '.'", &[], V::T);
    check("'axb' not endswith '.'", &[], V::T);
    check("'s' contains '\\'", &[], V::F);
    check("'s' startswith '\\'", &[], V::F);
    check("'s' endswith '\\'", &[], V::F);
}

/// `testContainsAllInOne`, `testStartsWithAllInOne`, `testEndsWithAllInOne` (b = "3" instead
/// of Integer 3).
#[test]
fn contains_starts_with_ends_with_all_in_one() {
    let p = [("a", "3"), ("b", "3"), ("c", "axbdc")];
    for op in ["contains", "startswith", "endswith"] {
        let expr = format!("a not in ('4', '4', '5') and b between 3 and 10 and c not {op} 'axbc'");
        check(&expr, &p, V::T);
    }
}

#[test]
fn evaluate_string_has_string() {
    check(
        "TAGS is not null and TAGS='''''tag'''''",
        &[("TAGS", "''tag''")],
        V::T,
    );
}

/// `testEvaluate_now`: there is no NOW in the grammar; `now` is an ordinary property name.
#[test]
fn evaluate_now() {
    check("a <= now", &[("a", "1"), ("now", "2")], V::T);
    check("a <= now", &[("a", "1")], V::N);
}

/// `testEvaluate_stringCompare`: comparing two non-numeric strings with an ordering operator
/// throws (the Java test expects the RuntimeException at its second step).
#[test]
fn evaluate_string_compare() {
    check("a between up and low", &[("a", "3.14")], V::N);
    check(
        "a between up and low",
        &[("a", "3.14"), ("up", "up"), ("low", "low")],
        V::E,
    );
    check(
        "key is not null and key between 0 and 100",
        &[("key", "con")],
        V::E,
    );
    check("a between 0 and 100", &[("a", "abc")], V::E);
    check("a=b", &[("a", "3.14"), ("b", "3.14")], V::T);
    check("a<>b", &[("a", "3.14"), ("b", "3.14")], V::F);
    check("a<>b", &[("a", "3.14"), ("b", "3.141")], V::T);
}

#[test]
fn evaluate_exponent() {
    // String.valueOf(3.1415 * Math.pow(10, 10))
    check("a > 3.1E10", &[("a", "3.1415E10")], V::T);
}

#[test]
fn evaluate_float_number() {
    check("a > 3.14", &[("a", "3.1415")], V::T);
}

#[test]
fn evaluate_two_variable() {
    check("a > b", &[("a", "10"), ("b", "20")], V::F);
}

#[test]
fn evaluate_two_variable_gt() {
    check("a > b", &[("a", "20"), ("b", "10")], V::T);
}

#[test]
fn evaluate_null_or() {
    let expr = "a is null OR a='hello'";
    check(expr, &[], V::T);
    check(expr, &[("a", "hello")], V::T);
    check(expr, &[("a", "abc")], V::F);
}

#[test]
fn evaluate_boolean() {
    let expr = "a=TRUE OR b=FALSE";
    check(expr, &[("a", "true"), ("b", "false")], V::T);
    check(expr, &[("a", "false"), ("b", "true")], V::F);
}

#[test]
fn evaluate_equal() {
    let expr = "a is not null and a='hello'";
    check(expr, &[("a", "hello")], V::T);
    check(expr, &[], V::F);
}

const AND_EXPRESSION: &str = "a=3 and b<>4 And c>5 AND d<=4";
const OR_EXPRESSION: &str = "a=3 or b<>4 Or c>5 OR d<=4";

#[test]
fn evaluate_and_true() {
    let p = [("a", "3"), ("b", "5"), ("c", "6"), ("d", "1")];
    check(AND_EXPRESSION, &p, V::T);
}

#[test]
fn evaluate_and_false() {
    let p = [("a", "4"), ("b", "5"), ("c", "6"), ("d", "1")];
    check(AND_EXPRESSION, &p, V::F);
}

#[test]
fn evaluate_or_true() {
    check(OR_EXPRESSION, &[("a", "3")], V::T);
    check(OR_EXPRESSION, &[("a", "4"), ("b", "5")], V::T);
    check(OR_EXPRESSION, &[("a", "4"), ("b", "4"), ("c", "6")], V::T);
    check(
        OR_EXPRESSION,
        &[("a", "4"), ("b", "4"), ("c", "3"), ("d", "2")],
        V::T,
    );
}

#[test]
fn evaluate_or_false() {
    let p = [("a", "4"), ("b", "4"), ("c", "3"), ("d", "10")];
    check(OR_EXPRESSION, &p, V::F);
}

#[test]
fn evaluate_in() {
    for v in ["3", "4", "5"] {
        check("a in ('3', '4', '5')", &[("a", v)], V::T);
        check("a not in ('3', '4', '5')", &[("a", v)], V::F);
    }
    check("a in ('3', '4', '5')", &[("a", "8")], V::F);
    check("a not in ('3', '4', '5')", &[("a", "8")], V::T);
}

#[test]
fn evaluate_between() {
    for v in ["2", "10", "3"] {
        check("a between 2 and 10", &[("a", v)], V::T);
        check("a not between 2 and 10", &[("a", v)], V::F);
    }
    for v in ["1", "11"] {
        check("a between 2 and 10", &[("a", v)], V::F);
        check("a not between 2 and 10", &[("a", v)], V::T);
    }
}

#[test]
fn evaluate_is_null() {
    check("a is null", &[("abc", "2")], V::T);
    check("a is null", &[("a", "2")], V::F);
    check("a is not null", &[("a", "2")], V::T);
    check("a is not null", &[("abc", "2")], V::F);
}

// ---- ParserTest --------------------------------------------------------------------------

#[test]
fn parse_valid() {
    for expr in [
        "a=3 and b<>4 And c>5 AND d<=4",
        "a=3 or b<>4 Or c>5 OR d<=4",
        "a in ('3', '4', '5')",
        "(a not in ('6', '4', '5')) or (b in ('3', '4', '5'))",
        "(a between 2 and 10) AND (b not between 6 and 9)",
        "a is null",
        "a is not null",
        "a <= now",
        "a=3 and b contains 'xxx' and c not contains 'xxx'",
    ] {
        compile(expr);
    }
}

#[test]
fn parse_invalid() {
    refused("a and between 2 and 10");
}

#[test]
fn parse_decimal_over_flow() {
    refused("a > 100000000000000000000000");
}

/// The Java test builds a float literal of ~210 000 digits that overflows to infinity; here it
/// is already over the length limit, and a shorter one overflows as in Java.
#[test]
fn parse_float_over_flow() {
    let long = format!("a > 1{}.{}", "1".repeat(104_448), "1".repeat(104_448));
    refused(&long);
    refused(&format!("a > 1{}.1", "1".repeat(400)));
}

#[test]
fn parse_illegal_between() {
    refused(" a between 10 and 0");
}
