//! Why an expression does not compile.
//!
//! Java answers every one of these with an `MQFilterException` ("Invalid MessageSelector.")
//! wrapping a JavaCC `TokenMgrError`/`ParseException` or a `RuntimeException` from an
//! expression factory; the broker turns it into response code 23 with the message as remark.
//! The variants here keep the same cases apart and say where in the text the problem is.

use std::fmt;

/// A place in the expression text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Byte offset from the start of the expression.
    pub offset: usize,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters (JavaCC's own count differs after a tab, which
    /// it widens to the next multiple of 8, and after a character outside the BMP).
    pub column: u32,
}

impl Position {
    /// The position of byte `offset` in `source`; an offset past the end or inside a
    /// character is clamped to the character boundary before it.
    pub(crate) fn locate(source: &str, offset: usize) -> Position {
        let mut offset = offset.min(source.len());
        while !source.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &source[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let column = before[line_start..].chars().count() + 1;
        Position {
            offset,
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// A SQL92 expression that RocketMQ's broker would refuse, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The text is longer than [`crate::MAX_EXPRESSION_LEN`] (a FerroMQ limit; Java has none).
    #[error("expression of {len} bytes exceeds the limit of {limit} bytes")]
    TooLong {
        /// Length of the expression in bytes.
        len: usize,
        /// The limit in force.
        limit: usize,
    },
    /// A character that starts no token (Java: `TokenMgrError`, "Lexical error").
    #[error("lexical error at {at}: unexpected character {found:?}")]
    UnexpectedChar {
        /// Where the character is.
        at: Position,
        /// The character.
        found: char,
    },
    /// A `'` without its closing quote.
    #[error("lexical error at {at}: unterminated string literal")]
    UnterminatedString {
        /// Where the literal starts.
        at: Position,
    },
    /// A `/*` without its closing `*/`.
    #[error("lexical error at {at}: unterminated comment")]
    UnterminatedComment {
        /// Where the comment starts.
        at: Position,
    },
    /// A token the grammar does not allow here (Java: `ParseException`, "Encountered ...").
    #[error("syntax error at {at}: found {found}, expected {expected}")]
    UnexpectedToken {
        /// Where the token starts.
        at: Position,
        /// The token as written, or "end of input".
        found: String,
        /// What the grammar allows at this place.
        expected: &'static str,
    },
    /// A numeric literal outside Java's `long`, or a float literal that is infinite or below
    /// `Double.MIN_VALUE` (so `0.0` too, as in Java's `ConstantExpression.createFloat`).
    #[error("invalid number {literal} at {at}: {reason}")]
    InvalidNumber {
        /// Where the literal starts.
        at: Position,
        /// The literal as written.
        literal: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An operand an operator refuses at compile time: `NULL` in `=`/`<>`, a string, boolean or
    /// boolean-valued operand of `>`, `>=`, `<`, `<=`, or `TRUE`/`FALSE` compared with a
    /// non-boolean constant (Java: `ComparisonExpression.checkEqualOperand`,
    /// `checkLessThanOperand`, `checkEqualOperandCompatability`).
    #[error("at {at}: {operand} cannot be compared: {reason}")]
    NotComparable {
        /// Where the operand starts.
        at: Position,
        /// The operand as written (shortened when long).
        operand: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// `IN`/`NOT IN` whose left side is not a property name.
    #[error("at {at}: IN expects a property on its left, found {found}")]
    InNeedsProperty {
        /// Where the left side starts.
        at: Position,
        /// The left side as written (shortened when long).
        found: String,
    },
    /// `BETWEEN` with constant bounds that are `NULL`, cannot be compared, or are reversed.
    #[error("at {at}: illegal BETWEEN bounds: {reason}")]
    InvalidBetween {
        /// Where the lower bound starts.
        at: Position,
        /// What is wrong with the bounds.
        reason: &'static str,
    },
    /// An operand of `AND`, `OR`, `NOT` or the whole expression that cannot give a boolean
    /// (a literal other than `TRUE`/`FALSE`/`NULL`, or a negation).
    #[error("at {at}: {found} does not give a boolean value")]
    NotBoolean {
        /// Where the operand starts.
        at: Position,
        /// The operand as written (shortened when long).
        found: String,
    },
    /// Nesting deeper than [`crate::MAX_DEPTH`] (a FerroMQ limit that keeps the parser and the
    /// evaluator off the end of the stack).
    #[error("at {at}: expression nested deeper than {limit} levels")]
    TooDeep {
        /// Where the level beyond the limit starts.
        at: Position,
        /// The limit in force.
        limit: usize,
    },
}

impl ParseError {
    /// Where the problem is; `None` for [`ParseError::TooLong`], which is about the whole text.
    pub fn position(&self) -> Option<Position> {
        match self {
            ParseError::TooLong { .. } => None,
            ParseError::UnexpectedChar { at, .. }
            | ParseError::UnterminatedString { at }
            | ParseError::UnterminatedComment { at }
            | ParseError::UnexpectedToken { at, .. }
            | ParseError::InvalidNumber { at, .. }
            | ParseError::NotComparable { at, .. }
            | ParseError::InNeedsProperty { at, .. }
            | ParseError::InvalidBetween { at, .. }
            | ParseError::NotBoolean { at, .. }
            | ParseError::TooDeep { at, .. } => Some(*at),
        }
    }
}

/// Longest piece of source text quoted in a message.
const SNIPPET_CHARS: usize = 40;

/// `text` quoted for a message, cut to [`SNIPPET_CHARS`] characters.
pub(crate) fn snippet(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(SNIPPET_CHARS).collect();
    if chars.next().is_some() {
        format!("'{head}...'")
    } else {
        format!("'{head}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_counts_lines_and_characters() {
        let src = "a = 1\nAND é = ?";
        let at = Position::locate(src, src.find('?').unwrap());
        assert_eq!((at.line, at.column), (2, 9));
        assert_eq!(at.to_string(), "line 2, column 9");
    }

    #[test]
    fn position_clamps_offsets() {
        let src = "é";
        assert_eq!(Position::locate(src, 1).offset, 0);
        assert_eq!(Position::locate(src, 99).offset, 2);
    }

    #[test]
    fn snippet_shortens_long_text() {
        assert_eq!(snippet("abc"), "'abc'");
        let long = "x".repeat(50);
        assert_eq!(snippet(&long), format!("'{}...'", "x".repeat(40)));
    }
}
