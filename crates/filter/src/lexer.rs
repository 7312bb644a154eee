//! Tokens of RocketMQ's selector grammar (`SelectorParser.jj`, token section).
//!
//! JavaCC picks the longest match and, between matches of the same length, the token declared
//! first, so keywords beat identifiers of the same spelling and `5.` is one float rather than
//! `5` then something else. The rules, all ASCII outside string literals and comments:
//!
//! ```text
//! skipped       ' ' \t \n \r \f,  "--" ... line end (only when a line end follows),  "/*" ... "*/"
//! keywords      NOT AND OR BETWEEN IN TRUE FALSE NULL IS CONTAINS STARTSWITH ENDSWITH (any case)
//! decimal       "0" | [1-9][0-9]* [lL]?                       ("0L" is "0" then the identifier L)
//! float         [0-9]+ "." [0-9]* exp? | "." [0-9]+ exp? | [0-9]+ exp      exp = [eE] [+-]? [0-9]+
//! string        ' ( '' | any character but ' )* '
//! identifier    [a-zA-Z_$] [a-zA-Z0-9_$]*                     (no dots: "a.b" is a lexical error)
//! operators     = <> > >= < <= ( , ) + -
//! ```

use crate::error::{ParseError, Position};

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Not,
    And,
    Or,
    Between,
    In,
    True,
    False,
    Null,
    Is,
    Contains,
    StartsWith,
    EndsWith,
    /// Integer literal, optionally with an `l`/`L` suffix.
    Decimal,
    Float,
    /// String literal including its quotes.
    Str,
    Ident,
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    LParen,
    Comma,
    RParen,
    Plus,
    Minus,
    Eof,
}

/// A token and the bytes `start..end` of the source it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

const KEYWORDS: [(&str, TokenKind); 12] = [
    ("NOT", TokenKind::Not),
    ("AND", TokenKind::And),
    ("OR", TokenKind::Or),
    ("BETWEEN", TokenKind::Between),
    ("IN", TokenKind::In),
    ("TRUE", TokenKind::True),
    ("FALSE", TokenKind::False),
    ("NULL", TokenKind::Null),
    ("IS", TokenKind::Is),
    ("CONTAINS", TokenKind::Contains),
    ("STARTSWITH", TokenKind::StartsWith),
    ("ENDSWITH", TokenKind::EndsWith),
];

/// Splits an expression into tokens, one at a time.
pub(crate) struct Lexer<'s> {
    src: &'s str,
    pos: usize,
}

impl<'s> Lexer<'s> {
    pub fn new(src: &'s str) -> Self {
        Lexer { src, pos: 0 }
    }

    /// The next token; [`TokenKind::Eof`] (empty, at the end) once the input is used up.
    pub fn next_token(&mut self) -> Result<Token, ParseError> {
        self.skip_blanks()?;
        let bytes = self.src.as_bytes();
        let start = self.pos;
        let Some(&first) = bytes.get(start) else {
            return Ok(self.token(TokenKind::Eof, start));
        };
        let next = bytes.get(start + 1).copied();
        let (kind, end) = match first {
            b'=' => (TokenKind::Eq, start + 1),
            b'<' => match next {
                Some(b'>') => (TokenKind::Ne, start + 2),
                Some(b'=') => (TokenKind::Le, start + 2),
                _ => (TokenKind::Lt, start + 1),
            },
            b'>' => match next {
                Some(b'=') => (TokenKind::Ge, start + 2),
                _ => (TokenKind::Gt, start + 1),
            },
            b'(' => (TokenKind::LParen, start + 1),
            b')' => (TokenKind::RParen, start + 1),
            b',' => (TokenKind::Comma, start + 1),
            b'+' => (TokenKind::Plus, start + 1),
            b'-' => (TokenKind::Minus, start + 1),
            b'\'' => (TokenKind::Str, self.string_end(start)?),
            b'0'..=b'9' | b'.' => self.number(start)?,
            b'a'..=b'z' | b'A'..=b'Z' | b'_' | b'$' => {
                let mut end = start + 1;
                while bytes
                    .get(end)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'$')
                {
                    end += 1;
                }
                let word = &self.src[start..end];
                let kind = KEYWORDS
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(word))
                    .map_or(TokenKind::Ident, |&(_, kind)| kind);
                (kind, end)
            }
            _ => return Err(self.unexpected_char(start)),
        };
        self.pos = end;
        Ok(Token { kind, start, end })
    }

    fn token(&self, kind: TokenKind, at: usize) -> Token {
        Token {
            kind,
            start: at,
            end: at,
        }
    }

    fn unexpected_char(&self, at: usize) -> ParseError {
        let found = self.src[at..].chars().next().unwrap_or('\0');
        ParseError::UnexpectedChar {
            at: Position::locate(self.src, at),
            found,
        }
    }

    /// Skips white space and comments. A `--` with no line end after it is not a comment for
    /// JavaCC (its rule needs the line end), so it is left to lex as `-` `-`.
    fn skip_blanks(&mut self) -> Result<(), ParseError> {
        let bytes = self.src.as_bytes();
        loop {
            match bytes.get(self.pos) {
                Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0c) => self.pos += 1,
                Some(b'-') if bytes.get(self.pos + 1) == Some(&b'-') => {
                    let rest = &bytes[self.pos + 2..];
                    match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
                        Some(i) => self.pos += 2 + i + 1,
                        None => return Ok(()),
                    }
                }
                Some(b'/') => {
                    if bytes.get(self.pos + 1) != Some(&b'*') {
                        return Err(self.unexpected_char(self.pos));
                    }
                    match self.src[self.pos + 2..].find("*/") {
                        Some(i) => self.pos += 2 + i + 2,
                        None => {
                            return Err(ParseError::UnterminatedComment {
                                at: Position::locate(self.src, self.pos),
                            })
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// End of the string literal opening at `start`: JavaCC's longest match of
    /// `' ( '' | [^'] )* '`. Reading doubled quotes greedily finds it when the literal is
    /// closed; when it is not, the longest match ends at the first quote of the last doubled
    /// pair (`'a'' b` lexes as `'a'` and then an unterminated `' b`). That matters when the
    /// literal is only looked at, after a complete expression: Java accepts `a 'x'' y`.
    fn string_end(&self, start: usize) -> Result<usize, ParseError> {
        let bytes = self.src.as_bytes();
        let mut i = start + 1;
        let mut shorter = None;
        loop {
            match bytes[i..].iter().position(|&b| b == b'\'') {
                None => {
                    return shorter.ok_or_else(|| ParseError::UnterminatedString {
                        at: Position::locate(self.src, start),
                    })
                }
                Some(q) if bytes.get(i + q + 1) == Some(&b'\'') => {
                    shorter = Some(i + q + 1);
                    i += q + 2;
                }
                Some(q) => return Ok(i + q + 1),
            }
        }
    }

    /// A decimal or float literal starting at `start` (a digit or a dot).
    fn number(&self, start: usize) -> Result<(TokenKind, usize), ParseError> {
        let bytes = self.src.as_bytes();
        let digits_from = |mut i: usize| {
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        let int_end = digits_from(start);
        if bytes.get(int_end) == Some(&b'.') {
            let frac_end = digits_from(int_end + 1);
            if int_end == start && frac_end == int_end + 1 {
                return Err(self.unexpected_char(start));
            }
            let end = self.exponent_end(frac_end).unwrap_or(frac_end);
            return Ok((TokenKind::Float, end));
        }
        if let Some(end) = self.exponent_end(int_end) {
            return Ok((TokenKind::Float, end));
        }
        if bytes[start] == b'0' {
            return Ok((TokenKind::Decimal, start + 1));
        }
        let end = match bytes.get(int_end) {
            Some(b'l' | b'L') => int_end + 1,
            _ => int_end,
        };
        Ok((TokenKind::Decimal, end))
    }

    /// End of an exponent `[eE][+-]?[0-9]+` starting at `at`, if there is a whole one.
    fn exponent_end(&self, at: usize) -> Option<usize> {
        let bytes = self.src.as_bytes();
        if !matches!(bytes.get(at), Some(b'e' | b'E')) {
            return None;
        }
        let mut i = at + 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let digits = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i > digits).then_some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::TokenKind::*;
    use super::*;

    fn lex(src: &str) -> Result<Vec<(TokenKind, &str)>, ParseError> {
        let mut lexer = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let t = lexer.next_token()?;
            if t.kind == Eof {
                return Ok(out);
            }
            out.push((t.kind, &src[t.start..t.end]));
        }
    }

    #[test]
    fn keywords_ignore_case_and_lose_to_longer_identifiers() {
        assert_eq!(
            lex("not And oR between IN true FALSE null Is contains StartsWith ENDSWITH").unwrap(),
            vec![
                (Not, "not"),
                (And, "And"),
                (Or, "oR"),
                (Between, "between"),
                (In, "IN"),
                (True, "true"),
                (False, "FALSE"),
                (Null, "null"),
                (Is, "Is"),
                (Contains, "contains"),
                (StartsWith, "StartsWith"),
                (EndsWith, "ENDSWITH"),
            ]
        );
        assert_eq!(
            lex("notes AND_ $x _1").unwrap(),
            vec![
                (Ident, "notes"),
                (Ident, "AND_"),
                (Ident, "$x"),
                (Ident, "_1")
            ]
        );
    }

    #[test]
    fn operators_take_the_longest_match() {
        assert_eq!(
            lex("<><=<>=>(,)+-").unwrap(),
            vec![
                (Ne, "<>"),
                (Le, "<="),
                (Ne, "<>"),
                (Eq, "="),
                (Gt, ">"),
                (LParen, "("),
                (Comma, ","),
                (RParen, ")"),
                (Plus, "+"),
                (Minus, "-"),
            ]
        );
    }

    #[test]
    fn numbers_follow_the_decimal_and_float_rules() {
        let kinds = |s| lex(s).unwrap();
        assert_eq!(kinds("0"), vec![(Decimal, "0")]);
        assert_eq!(kinds("010"), vec![(Decimal, "0"), (Decimal, "10")]);
        assert_eq!(kinds("0L"), vec![(Decimal, "0"), (Ident, "L")]);
        assert_eq!(kinds("12l"), vec![(Decimal, "12l")]);
        assert_eq!(kinds("0x1F"), vec![(Decimal, "0"), (Ident, "x1F")]);
        assert_eq!(kinds("5.5"), vec![(Float, "5.5")]);
        assert_eq!(kinds("5."), vec![(Float, "5.")]);
        assert_eq!(kinds(".5"), vec![(Float, ".5")]);
        assert_eq!(kinds("5E10"), vec![(Float, "5E10")]);
        assert_eq!(kinds("5.5e-3"), vec![(Float, "5.5e-3")]);
        assert_eq!(kinds("05.5"), vec![(Float, "05.5")]);
        assert_eq!(kinds("5e"), vec![(Decimal, "5"), (Ident, "e")]);
        assert_eq!(
            kinds("5.e+"),
            vec![(Float, "5."), (Ident, "e"), (Plus, "+")]
        );
        assert_eq!(kinds("1.5.3"), vec![(Float, "1.5"), (Float, ".3")]);
        assert_eq!(kinds("1AND"), vec![(Decimal, "1"), (And, "AND")]);
        assert!(matches!(
            lex("."),
            Err(ParseError::UnexpectedChar { found: '.', .. })
        ));
        assert!(matches!(
            lex("a.b"),
            Err(ParseError::UnexpectedChar { found: '.', .. })
        ));
    }

    #[test]
    fn strings_keep_doubled_quotes_inside() {
        assert_eq!(
            lex("'a''b' 'c'").unwrap(),
            vec![(Str, "'a''b'"), (Str, "'c'")]
        );
        assert_eq!(lex("''''").unwrap(), vec![(Str, "''''")]);
        assert_eq!(lex("'é\n'").unwrap(), vec![(Str, "'é\n'")]);
        assert!(matches!(
            lex("'abc"),
            Err(ParseError::UnterminatedString { .. })
        ));
        // Unclosed after a doubled quote: the longest match is the shorter literal.
        let mut lexer = Lexer::new("'a'' b");
        let first = lexer.next_token().unwrap();
        assert_eq!((first.kind, first.end), (Str, 3));
        assert!(matches!(
            lexer.next_token(),
            Err(ParseError::UnterminatedString { .. })
        ));
    }

    #[test]
    fn comments_and_blanks_are_skipped() {
        assert_eq!(
            lex(" \t\r\n\x0c-- note\na/* x * / */b/**/").unwrap(),
            vec![(Ident, "a"), (Ident, "b")]
        );
        assert_eq!(
            lex("a --no line end").unwrap(),
            vec![
                (Ident, "a"),
                (Minus, "-"),
                (Minus, "-"),
                (Ident, "no"),
                (Ident, "line"),
                (Ident, "end"),
            ]
        );
        assert!(matches!(
            lex("a /* open"),
            Err(ParseError::UnterminatedComment { .. })
        ));
        assert!(matches!(
            lex("a/b"),
            Err(ParseError::UnexpectedChar { found: '/', .. })
        ));
    }

    #[test]
    fn characters_outside_the_grammar_are_lexical_errors() {
        for (src, found) in [
            ("a != 1", '!'),
            ("é", 'é'),
            ("a\u{a0}", '\u{a0}'),
            ("#", '#'),
        ] {
            match lex(src) {
                Err(ParseError::UnexpectedChar { found: f, .. }) => assert_eq!(f, found, "{src}"),
                other => panic!("{src}: {other:?}"),
            }
        }
    }
}
