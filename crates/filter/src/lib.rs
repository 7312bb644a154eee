//! RocketMQ's SQL92 message filter: the expression a consumer subscribes with when its
//! `expressionType` is `SQL92`, compiled once per subscription and evaluated by the broker
//! against each message's properties on the pull path. Pure: no I/O, no runtime.
//!
//! ```text
//! subscription "a > 5 AND TAGS IN ('x')"
//!     -> Filter::compile   lexer -> parser (+ Java's compile-time checks) -> expression tree
//!                          or ParseError { position, why }   (the broker answers code 23)
//! stored record ... | propertiesLength:i16 | properties | ...
//!                                  "TAGS\u1x\u2a\u110\u2"  -> EncodedProperties (read in place)
//!     -> Filter::matches   true only when the expression is TRUE (FALSE, null and what Java
//!                          would throw all filter the message out)
//! ```
//!
//! The behaviour is Apache RocketMQ's (module `filter`, `SelectorParser` and
//! `org.apache.rocketmq.filter.expression`, read at 5.3.x), quirks included, because a
//! consumer must see the same messages from FerroMQ as from a Java broker:
//!
//! * Property values are strings. A comparison with a number or boolean literal converts the
//!   string to the literal's type (`Integer.valueOf`, `Long.valueOf`, `Double.valueOf`,
//!   `Boolean.valueOf`), so `a > 5` matches `a = "10"`; a string that does not convert
//!   (`"10.5"` against the integer 5, `"abc"`) makes Java throw, and the message does not match
//!   — not even under `NOT` or `<>`. Two properties compared with `>`/`<` are both read as
//!   doubles. The whole table is in `eval::compare` and `java_num` (private modules).
//! * A missing property is null. `=`, `>`, ... with a null operand give null (but `'x' = a` is
//!   FALSE, and `a = b` with both missing is TRUE: Java's `doCreateEqual`); `AND`/`OR`/`NOT` use
//!   three-valued logic with left-to-right short circuit; `IN` gives null; `CONTAINS`,
//!   `STARTSWITH`, `ENDSWITH` and their `NOT` forms give FALSE, as does an empty pattern.
//! * A bare property used as a boolean (`a`, `NOT a`, `a AND b`) is FALSE when present and null
//!   when missing, so `NOT a` matches every message that has `a`.
//! * `0.0` (any float literal that is zero) and integers beyond `i64` do not compile; `5L` is an
//!   integer like `5`; there are no hex or octal literals (`010` lexes as `0` then `10`).
//! * Tokens after a complete expression are ignored (`a = 1 b` is `a = 1`).
//!
//! Two limits are FerroMQ's own: [`MAX_EXPRESSION_LEN`] bytes of text and [`MAX_DEPTH`]
//! levels of nesting, so that hostile input cannot exhaust memory or the stack.
//!
//! # Fuzzing
//!
//! `fuzz/` holds a cargo-fuzz target outside the workspace (CI does not build it):
//!
//! ```text
//! cargo install cargo-fuzz            # once; needs a nightly toolchain
//! cd crates/filter/fuzz && cargo +nightly fuzz run compile_and_match
//! ```

mod error;
mod eval;
#[doc(hidden)]
pub mod fuzzing;
mod java_num;
mod lexer;
mod parser;
mod properties;

pub use error::{ParseError, Position};
pub use properties::{EncodedProperties, PropertySource};

/// Longest expression accepted, in bytes (Java has no limit; subscriptions are a few hundred
/// bytes in practice, and this leaves room for IN lists of thousands of values).
pub const MAX_EXPRESSION_LEN: usize = 64 * 1024;

/// Deepest nesting accepted: parentheses and prefix operators (`NOT`, `-`, `+`) count one
/// level each, and so does every operator applied to the result of another (`a = b = c` is two
/// levels). Chains of `AND` or of `OR` count once however long they are.
pub const MAX_DEPTH: usize = 100;

/// A compiled SQL92 filter. Compile once per subscription; evaluation takes `&self`, borrows
/// the property values and allocates nothing, so one filter can serve many threads.
///
/// ```
/// use ferromq_filter::{EncodedProperties, Filter};
///
/// let filter = Filter::compile("a > 5 AND b = 'x'")?;
/// assert!(filter.matches(&EncodedProperties::new("a\u{1}10\u{2}b\u{1}x\u{2}")));
/// assert!(!filter.matches(&EncodedProperties::new("a\u{1}10.5\u{2}b\u{1}x\u{2}")));
/// # Ok::<(), ferromq_filter::ParseError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Filter {
    root: eval::Expr,
}

/// What an expression evaluates to for one message, in Java's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evaluation {
    /// `Boolean.TRUE`: the message is delivered.
    True,
    /// `Boolean.FALSE`.
    False,
    /// `null`, e.g. a comparison with a missing property.
    Unknown,
    /// Java would have thrown (a property that does not convert to the literal's type, a
    /// boolean compared with a string); the Java broker logs it and filters the message out.
    Failed {
        /// Which rule failed, for diagnostics.
        reason: &'static str,
    },
}

impl Filter {
    /// Compiles a SQL92 expression.
    ///
    /// Returns the filter, or the first problem found, with its position, for every input
    /// Apache RocketMQ refuses (and for input over [`MAX_EXPRESSION_LEN`] bytes or nested
    /// deeper than [`MAX_DEPTH`]). Never panics.
    pub fn compile(expression: &str) -> Result<Filter, ParseError> {
        parser::parse(expression).map(|root| Filter { root })
    }

    /// Whether a message with these properties passes the filter: true exactly when the
    /// expression evaluates to TRUE.
    pub fn matches(&self, properties: &dyn PropertySource) -> bool {
        matches!(self.root.eval(properties), Ok(eval::Value::Bool(true)))
    }

    /// The expression's value for a message with these properties, keeping apart the three
    /// ways [`Filter::matches`] can say false.
    pub fn evaluate(&self, properties: &dyn PropertySource) -> Evaluation {
        match self.root.eval(properties) {
            Ok(eval::Value::Bool(true)) => Evaluation::True,
            Ok(eval::Value::Bool(false)) => Evaluation::False,
            Ok(eval::Value::Null) => Evaluation::Unknown,
            // The root is always a boolean node; anything else would be a bug, and Java's
            // broker treats a non-Boolean result like null.
            Ok(_) => Evaluation::Unknown,
            Err(eval::Fault(reason)) => Evaluation::Failed { reason },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Filter>();
    }

    #[test]
    fn compiles_and_matches_over_encoded_properties() {
        let filter = Filter::compile("a > 5 AND b = 'x'").unwrap();
        assert!(filter.matches(&EncodedProperties::new("a\u{1}10\u{2}b\u{1}x\u{2}")));
        assert!(!filter.matches(&EncodedProperties::new("a\u{1}1\u{2}b\u{1}x\u{2}")));
        assert_eq!(
            filter.evaluate(&EncodedProperties::new("b\u{1}x\u{2}")),
            Evaluation::Unknown
        );
    }
}
