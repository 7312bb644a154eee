//! The compiled expression tree and its evaluation, node for node as the Java classes in
//! `org.apache.rocketmq.filter.expression` evaluate.
//!
//! Java evaluates to `Boolean.TRUE`, `Boolean.FALSE` or `null`, or throws; the broker
//! (`ExpressionMessageFilter.isMatchedByCommitLog`) delivers a message only on `TRUE` and
//! treats a throw like `null`. A throw is not the same as `null` inside an expression, though:
//! it escapes through `NOT`, `AND` and `OR` unless an earlier operand already decided them. So
//! evaluation here yields a [`Value`] or a [`Fault`] that propagates with `?`.
//!
//! Values borrow from the compiled tree and from the property source, so evaluation allocates
//! nothing; strings are converted to numbers only where a comparison asks for it.

use std::cmp::Ordering;
use std::collections::HashSet;

use crate::java_num::{
    compare_doubles, compare_strings, doubles_equal, parse_bool, parse_double, parse_int,
    parse_long,
};
use crate::properties::PropertySource;

/// A literal of the expression (`ConstantExpression` / `BooleanConstantExpression`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Const {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    Str(Box<str>),
}

/// `>`, `>=`, `<`, `<=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Order {
    fn holds(self, ord: Ordering) -> bool {
        match self {
            Order::Gt => ord == Ordering::Greater,
            Order::Ge => ord != Ordering::Less,
            Order::Lt => ord == Ordering::Less,
            Order::Le => ord != Ordering::Greater,
        }
    }
}

/// `CONTAINS`, `STARTSWITH`, `ENDSWITH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextOp {
    Contains,
    StartsWith,
    EndsWith,
}

/// The string list of `IN`; a hash set once it is long enough to pay for hashing.
#[derive(Debug, Clone)]
pub(crate) enum StrSet {
    Few(Vec<Box<str>>),
    Many(HashSet<Box<str>>),
}

impl StrSet {
    pub fn new(items: Vec<Box<str>>) -> Self {
        if items.len() < 8 {
            StrSet::Few(items)
        } else {
            StrSet::Many(items.into_iter().collect())
        }
    }

    fn contains(&self, s: &str) -> bool {
        match self {
            StrSet::Few(items) => items.iter().any(|i| &**i == s),
            StrSet::Many(set) => set.contains(s),
        }
    }
}

/// A compiled expression node. Each variant names the Java factory it stands for.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    /// A literal.
    Const(Const),
    /// `PropertyExpression`: the property's string value, null when missing.
    Prop(Box<str>),
    /// `UnaryExpression.createBooleanCast` of a property: null when missing, otherwise FALSE
    /// (a property value is a string, never a `Boolean`).
    BoolCast(Box<str>),
    /// `createNegate`: negated number, null for anything else.
    Neg(Box<Expr>),
    /// `createNOT`.
    Not(Box<Expr>),
    /// Chained `createAND`s, flattened (the left-to-right short circuit is associative).
    And(Vec<Expr>),
    /// Chained `createOR`s, flattened.
    Or(Vec<Expr>),
    /// `doCreateEqual` (`=`, and `IS NULL` against the NULL constant).
    Eq(Box<Expr>, Box<Expr>),
    /// `createGreaterThan` and friends.
    Order(Order, Box<Expr>, Box<Expr>),
    /// `createBetween` (`v >= low AND v <= high`) or `createNotBetween`
    /// (`v < low OR v > high`), with `v` evaluated once: it is pure, so the result is the
    /// same, and a chain of nested BETWEENs stays linear instead of doubling per level.
    Between {
        value: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    /// `createInFilter` / `createNotInFilter`.
    In {
        property: Box<str>,
        set: StrSet,
        negated: bool,
    },
    /// `ContainsExpression`, `StartsWithExpression`, `EndsWithExpression` and their NOT forms.
    Text {
        op: TextOp,
        operand: Box<Expr>,
        pattern: Box<str>,
        negated: bool,
    },
}

/// A value during evaluation; `Null` is Java's `null`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value<'a> {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    Str(&'a str),
}

/// Where Java would have thrown; the reason is for diagnostics only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fault(pub &'static str);

const NOT_A_NUMBER: Fault = Fault("a string that does not parse as the other operand's type");
const BOOL_VS_STRING: Fault = Fault("a boolean compared with a string (Java ClassCastException)");
const NOT_BOOLEAN: Fault = Fault("a logical operand is not a boolean");

impl Expr {
    /// The node's value. Each arm delegates to a small function, keeping this frame (one per
    /// level of the tree) small.
    pub fn eval<'a>(&'a self, props: &'a dyn PropertySource) -> Result<Value<'a>, Fault> {
        match self {
            Expr::Const(c) => Ok(c.value()),
            Expr::Prop(name) => Ok(props.get(name).map_or(Value::Null, Value::Str)),
            Expr::BoolCast(name) => Ok(match props.get(name) {
                None => Value::Null,
                Some(_) => Value::Bool(false),
            }),
            Expr::Neg(operand) => Ok(negate(operand.eval(props)?)),
            Expr::Not(operand) => not(operand.eval(props)?),
            Expr::And(items) => junction(items, props, false),
            Expr::Or(items) => junction(items, props, true),
            Expr::Eq(left, right) => equal(left, right, props),
            Expr::Order(op, left, right) => order(*op, left.eval(props)?, right, props),
            Expr::Between {
                value,
                low,
                high,
                negated,
            } => between(value, low, high, *negated, props),
            Expr::In {
                property,
                set,
                negated,
            } => Ok(match props.get(property) {
                None => Value::Null,
                Some(s) => Value::Bool(set.contains(s) != *negated),
            }),
            Expr::Text {
                op,
                operand,
                pattern,
                negated,
            } => text(*op, operand, pattern, *negated, props),
        }
    }
}

/// `createNegate`: a negated number, null for anything else.
fn negate(v: Value<'_>) -> Value<'_> {
    match v {
        Value::Int(i) => Value::Int(i.wrapping_neg()),
        Value::Long(l) => Value::Long(l.wrapping_neg()),
        Value::Double(d) => Value::Double(-d),
        _ => Value::Null,
    }
}

/// `createNOT`.
fn not(v: Value<'_>) -> Result<Value<'_>, Fault> {
    Ok(match truth(v)? {
        Some(b) => Value::Bool(!b),
        None => Value::Null,
    })
}

/// `doCreateEqual`: both sides evaluated; a null on the left gives null, a null on the right
/// FALSE, two nulls TRUE; otherwise `equals`, then [`compare`].
fn equal<'a>(
    left: &'a Expr,
    right: &'a Expr,
    props: &'a dyn PropertySource,
) -> Result<Value<'a>, Fault> {
    let lv = left.eval(props)?;
    let rv = right.eval(props)?;
    Ok(match (lv, rv) {
        (Value::Null, Value::Null) => Value::Bool(true),
        (Value::Null, _) => Value::Null,
        (_, Value::Null) => Value::Bool(false),
        _ => Value::Bool(equals(lv, rv) || compare(lv, rv)? == Ordering::Equal),
    })
}

/// `v >= low AND v <= high`, or `v < low OR v > high` when negated, with `v` evaluated once.
fn between<'a>(
    value: &'a Expr,
    low: &'a Expr,
    high: &'a Expr,
    negated: bool,
    props: &'a dyn PropertySource,
) -> Result<Value<'a>, Fault> {
    let v = value.eval(props)?;
    let (first, second, decisive) = if negated {
        (Order::Lt, Order::Gt, true)
    } else {
        (Order::Ge, Order::Le, false)
    };
    let a = order(first, v, low, props)?;
    if a == Value::Bool(decisive) {
        return Ok(a);
    }
    let b = order(second, v, high, props)?;
    Ok(combine(a, b, decisive))
}

/// `ContainsExpression` and friends: FALSE for an empty pattern (the operand is then not
/// evaluated) and for any value but a string, even under NOT.
fn text<'a>(
    op: TextOp,
    operand: &'a Expr,
    pattern: &str,
    negated: bool,
    props: &'a dyn PropertySource,
) -> Result<Value<'a>, Fault> {
    if pattern.is_empty() {
        return Ok(Value::Bool(false));
    }
    Ok(match operand.eval(props)? {
        Value::Str(s) => {
            let found = match op {
                TextOp::Contains => s.contains(pattern),
                TextOp::StartsWith => s.starts_with(pattern),
                TextOp::EndsWith => s.ends_with(pattern),
            };
            Value::Bool(found != negated)
        }
        _ => Value::Bool(false),
    })
}

impl Const {
    pub fn value(&self) -> Value<'_> {
        match self {
            Const::Null => Value::Null,
            Const::Bool(b) => Value::Bool(*b),
            Const::Int(i) => Value::Int(*i),
            Const::Long(l) => Value::Long(*l),
            Const::Double(d) => Value::Double(*d),
            Const::Str(s) => Value::Str(s),
        }
    }
}

/// A logical operand as Java's `(Boolean)` cast sees it.
fn truth(v: Value<'_>) -> Result<Option<bool>, Fault> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        _ => Err(NOT_BOOLEAN),
    }
}

/// `LogicExpression`: left to right, stop at the first operand equal to `decisive` (TRUE for
/// OR, FALSE for AND); otherwise null if any operand was null, else `!decisive`.
fn junction<'a>(
    items: &'a [Expr],
    props: &'a dyn PropertySource,
    decisive: bool,
) -> Result<Value<'a>, Fault> {
    let mut unknown = false;
    for item in items {
        match truth(item.eval(props)?)? {
            Some(b) if b == decisive => return Ok(Value::Bool(decisive)),
            Some(_) => {}
            None => unknown = true,
        }
    }
    Ok(if unknown {
        Value::Null
    } else {
        Value::Bool(!decisive)
    })
}

/// The second half of a two-operand [`junction`] whose first operand was not decisive.
fn combine<'a>(a: Value<'a>, b: Value<'a>, decisive: bool) -> Value<'a> {
    if b == Value::Bool(decisive) {
        b
    } else if a == Value::Null || b == Value::Null {
        Value::Null
    } else {
        Value::Bool(!decisive)
    }
}

/// `ComparisonExpression.evaluate` for the ordering operators: null if the left value is null
/// (the right side is then not evaluated) or the right one is; two strings are both read as
/// doubles (a throw if either is not one); anything else goes through [`compare`].
fn order<'a>(
    op: Order,
    lv: Value<'a>,
    right: &'a Expr,
    props: &'a dyn PropertySource,
) -> Result<Value<'a>, Fault> {
    if lv == Value::Null {
        return Ok(Value::Null);
    }
    let rv = right.eval(props)?;
    if rv == Value::Null {
        return Ok(Value::Null);
    }
    let ord = match (lv, rv) {
        (Value::Str(a), Value::Str(b)) => {
            let a = parse_double(a).ok_or(NOT_A_NUMBER)?;
            let b = parse_double(b).ok_or(NOT_A_NUMBER)?;
            compare_doubles(a, b)
        }
        _ => compare(lv, rv)?,
    };
    Ok(Value::Bool(op.holds(ord)))
}

/// Java's `Object.equals` between two non-null values: same type and same value.
fn equals(lv: Value<'_>, rv: Value<'_>) -> bool {
    match (lv, rv) {
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Int(a), Value::Int(b)) => a == b,
        (Value::Long(a), Value::Long(b)) => a == b,
        (Value::Double(a), Value::Double(b)) => doubles_equal(a, b),
        (Value::Str(a), Value::Str(b)) => a == b,
        _ => false,
    }
}

/// `ComparisonExpression.__compare` with string conversion on (the parser always turns it on)
/// for two non-null values. Mixed numbers widen to the wider type; a string meeting a number
/// or boolean is converted to that type (a failed conversion throws); a boolean meeting a
/// number compares as "less" (-1); a boolean on the left of a string throws, because Java casts
/// the wrong operand there.
pub(crate) fn compare(lv: Value<'_>, rv: Value<'_>) -> Result<Ordering, Fault> {
    use Value::{Bool, Double, Int, Long, Str};
    Ok(match (lv, rv) {
        (Bool(a), Bool(b)) => a.cmp(&b),
        (Bool(_), Str(_)) => return Err(BOOL_VS_STRING),
        (Int(a), Int(b)) => a.cmp(&b),
        (Int(a), Long(b)) => i64::from(a).cmp(&b),
        (Int(a), Double(b)) => compare_doubles(f64::from(a), b),
        (Int(a), Str(b)) => a.cmp(&parse_int(b).ok_or(NOT_A_NUMBER)?),
        (Long(a), Int(b)) => a.cmp(&i64::from(b)),
        (Long(a), Long(b)) => a.cmp(&b),
        (Long(a), Double(b)) => compare_doubles(a as f64, b),
        (Long(a), Str(b)) => a.cmp(&parse_long(b).ok_or(NOT_A_NUMBER)?),
        (Double(a), Int(b)) => compare_doubles(a, f64::from(b)),
        (Double(a), Long(b)) => compare_doubles(a, b as f64),
        (Double(a), Double(b)) => compare_doubles(a, b),
        (Double(a), Str(b)) => compare_doubles(a, parse_double(b).ok_or(NOT_A_NUMBER)?),
        (Str(a), Bool(b)) => parse_bool(a).cmp(&b),
        (Str(a), Int(b)) => parse_int(a).ok_or(NOT_A_NUMBER)?.cmp(&b),
        (Str(a), Long(b)) => parse_long(a).ok_or(NOT_A_NUMBER)?.cmp(&b),
        (Str(a), Double(b)) => compare_doubles(parse_double(a).ok_or(NOT_A_NUMBER)?, b),
        (Str(a), Str(b)) => compare_strings(a, b),
        (Bool(_), Int(_) | Long(_) | Double(_)) | (Int(_) | Long(_) | Double(_), Bool(_)) => {
            Ordering::Less
        }
        (Value::Null, _) | (_, Value::Null) => Ordering::Less,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Value::{Bool, Double, Int, Long, Str};

    #[test]
    fn compare_widens_numbers() {
        assert_eq!(compare(Int(5), Long(5)), Ok(Ordering::Equal));
        assert_eq!(compare(Long(5), Double(5.5)), Ok(Ordering::Less));
        assert_eq!(compare(Double(-0.0), Int(0)), Ok(Ordering::Less));
        assert_eq!(
            compare(Double(f64::NAN), Long(i64::MAX)),
            Ok(Ordering::Greater)
        );
    }

    #[test]
    fn compare_converts_strings_to_the_other_type() {
        assert_eq!(compare(Str("10"), Int(5)), Ok(Ordering::Greater));
        assert_eq!(compare(Int(5), Str("10")), Ok(Ordering::Less));
        assert_eq!(compare(Str("10.5"), Int(5)), Err(NOT_A_NUMBER));
        assert_eq!(compare(Str("3000000000"), Int(5)), Err(NOT_A_NUMBER));
        assert_eq!(
            compare(Str("3000000000"), Long(3_000_000_000)),
            Ok(Ordering::Equal)
        );
        assert_eq!(compare(Str(" 10 "), Double(5.0)), Ok(Ordering::Greater));
        assert_eq!(compare(Str("yes"), Bool(false)), Ok(Ordering::Equal));
        assert_eq!(compare(Str("TRUE"), Bool(true)), Ok(Ordering::Equal));
    }

    #[test]
    fn compare_mismatches_are_less_or_throw() {
        assert_eq!(compare(Bool(true), Int(1)), Ok(Ordering::Less));
        assert_eq!(compare(Int(1), Bool(true)), Ok(Ordering::Less));
        assert_eq!(compare(Bool(true), Str("true")), Err(BOOL_VS_STRING));
    }

    #[test]
    fn equals_needs_the_same_type() {
        assert!(!equals(Int(5), Long(5)));
        assert!(equals(Double(f64::NAN), Double(f64::NAN)));
        assert!(!equals(Double(0.0), Double(-0.0)));
        assert!(equals(Str("a"), Str("a")));
    }
}
