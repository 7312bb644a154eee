//! Recursive descent over RocketMQ's selector grammar (`SelectorParser.jj` and the generated
//! `SelectorParser.java`), with the compile-time checks of the Java expression factories.
//!
//! ```text
//! selector   := or                                   (must give a boolean, see as_boolean)
//! or         := and ( OR and )*
//! and        := equality ( AND equality )*
//! equality   := comparison ( "=" comparison | "<>" comparison | IS NULL | IS NOT NULL )*
//! comparison := unary ( (">" | ">=" | "<" | "<=") unary
//!                     | [NOT] (CONTAINS | STARTSWITH | ENDSWITH) string
//!                     | [NOT] BETWEEN unary AND unary
//!                     | [NOT] IN "(" string ( "," string )* ")" )*
//! unary      := "+" unary | "-" unary | NOT unary | primary
//! primary    := string | decimal | float | TRUE | FALSE | NULL | identifier | "(" or ")"
//! ```
//!
//! So `NOT` binds tighter than every comparison (`NOT a = 'x'` is `(NOT a) = 'x'`), `IS NULL`
//! sits with `=`, and chains like `a = b = c` are left-associative. There is no `IS TRUE`, no
//! `LIKE` and no arithmetic. The Java grammar has no end-of-input rule either: parsing stops
//! after the longest expression, and whatever follows is ignored once its first token has
//! lexed (`a = 1 b = 2` is `a = 1`; `a = 1 )` too). That is reproduced, because a broker that
//! refused such a subscription would break consumers that work against Apache RocketMQ.
//!
//! Subtrees live in an arena and the grammar functions pass small ids and boxed errors, so
//! that the frames of the recursion (four per level of parentheses) stay small even in debug
//! builds, where every temporary gets its own stack slot.

use std::mem;

use crate::error::{snippet, ParseError, Position};
use crate::eval::{compare, Const, Expr, Order, StrSet, TextOp};
use crate::lexer::{Lexer, Token, TokenKind};
use crate::{MAX_DEPTH, MAX_EXPRESSION_LEN};

/// A parsed subtree with the source span it came from and its height.
struct Node {
    expr: Expr,
    start: usize,
    end: usize,
    height: usize,
}

/// Index of a [`Node`] in the parser's arena.
type Id = usize;

/// Result of a grammar step; the error is boxed to keep `Result`s small on the stack.
type Step<T> = Result<T, Box<ParseError>>;

/// Compiles `src` into an expression tree that evaluates to a boolean.
pub(crate) fn parse(src: &str) -> Result<Expr, ParseError> {
    if src.len() > MAX_EXPRESSION_LEN {
        return Err(ParseError::TooLong {
            len: src.len(),
            limit: MAX_EXPRESSION_LEN,
        });
    }
    let mut lexer = Lexer::new(src);
    let tok = lexer.next_token()?;
    let mut parser = Parser {
        src,
        lexer,
        tok,
        prev_end: 0,
        nesting: 0,
        nodes: Vec::new(),
    };
    parser.selector().map_err(|e| *e)
}

struct Parser<'s> {
    src: &'s str,
    lexer: Lexer<'s>,
    /// The next token, not consumed yet.
    tok: Token,
    /// End of the last consumed token.
    prev_end: usize,
    /// Open parentheses and prefix operators around the current token.
    nesting: usize,
    /// Every subtree built so far; a parent takes its children's expressions out.
    nodes: Vec<Node>,
}

/// Java's `BooleanExpression`: the nodes whose value is always a boolean or null.
fn is_boolean(expr: &Expr) -> bool {
    !matches!(
        expr,
        Expr::Prop(_)
            | Expr::Neg(_)
            | Expr::Const(Const::Int(_) | Const::Long(_) | Const::Double(_) | Const::Str(_))
    )
}

impl Parser<'_> {
    /// `JmsSelector`: the longest expression, which must give a boolean; what follows it is
    /// ignored (its first token has lexed, as Java looked at it to end the loops).
    fn selector(&mut self) -> Step<Expr> {
        let root = self.or()?;
        let root = self.as_boolean(root)?;
        Ok(self.take(root))
    }

    fn advance(&mut self) -> Step<()> {
        self.prev_end = self.tok.end;
        self.tok = self.lexer.next_token()?;
        Ok(())
    }

    fn at(&self, offset: usize) -> Position {
        Position::locate(self.src, offset)
    }

    fn expr(&self, id: Id) -> &Expr {
        &self.nodes[id].expr
    }

    fn take(&mut self, id: Id) -> Expr {
        mem::replace(&mut self.nodes[id].expr, Expr::Const(Const::Null))
    }

    fn start(&self, id: Id) -> usize {
        self.nodes[id].start
    }

    fn height(&self, id: Id) -> usize {
        self.nodes[id].height
    }

    /// The source text of a subtree, quoted and shortened for a message.
    fn text(&self, id: Id) -> String {
        let node = &self.nodes[id];
        snippet(&self.src[node.start..node.end])
    }

    fn unexpected(&self, expected: &'static str) -> Box<ParseError> {
        let found = match self.tok.kind {
            TokenKind::Eof => "end of input".to_string(),
            _ => snippet(&self.src[self.tok.start..self.tok.end]),
        };
        Box::new(ParseError::UnexpectedToken {
            at: self.at(self.tok.start),
            found,
            expected,
        })
    }

    fn expect(&mut self, kind: TokenKind, expected: &'static str) -> Step<()> {
        if self.tok.kind != kind {
            return Err(self.unexpected(expected));
        }
        self.advance()
    }

    /// A new subtree spanning from `start` to the last consumed token, one level above
    /// children of the given heights.
    fn node(&mut self, expr: Expr, start: usize, children: &[usize]) -> Step<Id> {
        let height = 1 + children.iter().copied().max().unwrap_or(0);
        if height > MAX_DEPTH {
            return Err(Box::new(ParseError::TooDeep {
                at: self.at(start),
                limit: MAX_DEPTH,
            }));
        }
        self.nodes.push(Node {
            expr,
            start,
            end: self.prev_end,
            height,
        });
        Ok(self.nodes.len() - 1)
    }

    /// Java's `asBooleanExpression`: boolean nodes pass, a bare property becomes a boolean
    /// cast, anything else is refused.
    fn as_boolean(&mut self, id: Id) -> Step<Id> {
        let node = &mut self.nodes[id];
        if let Expr::Prop(name) = &mut node.expr {
            node.expr = Expr::BoolCast(mem::take(name));
            return Ok(id);
        }
        if is_boolean(&node.expr) {
            return Ok(id);
        }
        Err(Box::new(ParseError::NotBoolean {
            at: self.at(self.start(id)),
            found: self.text(id),
        }))
    }

    /// `or := and (OR and)*` with `and := equality (AND equality)*`, both in one loop: every
    /// level of parentheses goes through here, so one frame fewer per level matters.
    fn or(&mut self) -> Step<Id> {
        let mut all = self.equality()?; // the AND chain being read
        let mut any = None; // the OR chain before it
        loop {
            match self.tok.kind {
                TokenKind::And => {
                    self.advance()?;
                    let right = self.equality()?;
                    all = self.junction(all, right, false)?;
                }
                TokenKind::Or => {
                    self.advance()?;
                    any = Some(match any {
                        None => all,
                        Some(left) => self.junction(left, all, true)?,
                    });
                    all = self.equality()?;
                }
                _ => {
                    return match any {
                        None => Ok(all),
                        Some(left) => self.junction(left, all, true),
                    }
                }
            }
        }
    }

    /// `createOR` / `createAND`, appending to a chain of the same operator.
    fn junction(&mut self, left: Id, right: Id, or: bool) -> Step<Id> {
        let left = self.as_boolean(left)?;
        let right = self.as_boolean(right)?;
        let (start, left_height, right_height) =
            (self.start(left), self.height(left), self.height(right));
        let right = self.take(right);
        match self.take(left) {
            Expr::Or(mut items) if or => {
                items.push(right);
                self.node(Expr::Or(items), start, &[left_height - 1, right_height])
            }
            Expr::And(mut items) if !or => {
                items.push(right);
                self.node(Expr::And(items), start, &[left_height - 1, right_height])
            }
            left => {
                let items = vec![left, right];
                let expr = if or {
                    Expr::Or(items)
                } else {
                    Expr::And(items)
                };
                self.node(expr, start, &[left_height, right_height])
            }
        }
    }

    fn equality(&mut self) -> Step<Id> {
        let mut left = self.comparison()?;
        loop {
            left = match self.tok.kind {
                TokenKind::Eq => {
                    self.advance()?;
                    let right = self.comparison()?;
                    self.equal(left, right)?
                }
                TokenKind::Ne => {
                    self.advance()?;
                    let right = self.comparison()?;
                    let equal = self.equal(left, right)?;
                    self.not(equal)?
                }
                TokenKind::Is => self.is_null(left)?,
                _ => return Ok(left),
            };
        }
    }

    /// `IS NULL` / `IS NOT NULL`, at `IS`: `createIsNull` is `doCreateEqual(left, NULL)`
    /// without the operand checks, and `createIsNotNull` its `NOT`.
    fn is_null(&mut self, left: Id) -> Step<Id> {
        self.advance()?;
        let negated = match self.tok.kind {
            TokenKind::Null => false,
            TokenKind::Not => {
                self.advance()?;
                true
            }
            _ => return Err(self.unexpected("NOT or NULL")),
        };
        self.expect(TokenKind::Null, "NULL")?;
        let (start, height) = (self.start(left), self.height(left));
        let expr = Expr::Eq(
            Box::new(self.take(left)),
            Box::new(Expr::Const(Const::Null)),
        );
        let is_null = self.node(expr, start, &[height])?;
        if negated {
            self.not(is_null)
        } else {
            Ok(is_null)
        }
    }

    /// `createNOT` of an operand that is already boolean.
    fn not(&mut self, operand: Id) -> Step<Id> {
        let (start, height) = (self.start(operand), self.height(operand));
        let expr = Expr::Not(Box::new(self.take(operand)));
        self.node(expr, start, &[height])
    }

    /// `createEqual`: `NULL` is refused on either side, and `TRUE`/`FALSE` on the left only
    /// meets another boolean constant.
    fn equal(&mut self, left: Id, right: Id) -> Step<Id> {
        for side in [left, right] {
            if matches!(self.expr(side), Expr::Const(Const::Null)) {
                return Err(Box::new(ParseError::NotComparable {
                    at: self.at(self.start(side)),
                    operand: self.text(side),
                    reason: "NULL cannot be an operand of = or <>; use IS [NOT] NULL",
                }));
            }
        }
        if matches!(self.expr(left), Expr::Const(Const::Bool(_)))
            && matches!(self.expr(right), Expr::Const(_))
            && !is_boolean(self.expr(right))
        {
            return Err(Box::new(ParseError::NotComparable {
                at: self.at(self.start(right)),
                operand: self.text(right),
                reason: "a boolean constant can only be compared with a boolean",
            }));
        }
        let (start, heights) = (self.start(left), [self.height(left), self.height(right)]);
        let expr = Expr::Eq(Box::new(self.take(left)), Box::new(self.take(right)));
        self.node(expr, start, &heights)
    }

    fn comparison(&mut self) -> Step<Id> {
        let mut left = self.unary()?;
        loop {
            let order = match self.tok.kind {
                TokenKind::Gt => Order::Gt,
                TokenKind::Ge => Order::Ge,
                TokenKind::Lt => Order::Lt,
                TokenKind::Le => Order::Le,
                TokenKind::Contains | TokenKind::StartsWith | TokenKind::EndsWith => {
                    left = self.text_op(left, false)?;
                    continue;
                }
                TokenKind::Between => {
                    left = self.between(left, false)?;
                    continue;
                }
                TokenKind::In => {
                    left = self.in_list(left, false)?;
                    continue;
                }
                TokenKind::Not => {
                    left = self.negated_form(left)?;
                    continue;
                }
                _ => return Ok(left),
            };
            self.advance()?;
            let right = self.unary()?;
            left = self.ordering(order, left, right)?;
        }
    }

    /// `NOT CONTAINS|STARTSWITH|ENDSWITH|BETWEEN|IN ...`, at `NOT`.
    fn negated_form(&mut self, left: Id) -> Step<Id> {
        self.advance()?;
        match self.tok.kind {
            TokenKind::Contains | TokenKind::StartsWith | TokenKind::EndsWith => {
                self.text_op(left, true)
            }
            TokenKind::Between => self.between(left, true),
            TokenKind::In => self.in_list(left, true),
            _ => Err(self.unexpected("CONTAINS, STARTSWITH, ENDSWITH, BETWEEN or IN")),
        }
    }

    /// `checkLessThanOperand`: only numeric constants and non-boolean expressions.
    fn check_orderable(&self, side: Id) -> Step<()> {
        let orderable = match self.expr(side) {
            Expr::Const(c) => matches!(c, Const::Int(_) | Const::Long(_) | Const::Double(_)),
            e => !is_boolean(e),
        };
        if orderable {
            return Ok(());
        }
        Err(Box::new(ParseError::NotComparable {
            at: self.at(self.start(side)),
            operand: self.text(side),
            reason: "only numbers and properties can be operands of >, >=, <, <= and BETWEEN",
        }))
    }

    fn ordering(&mut self, order: Order, left: Id, right: Id) -> Step<Id> {
        self.check_orderable(left)?;
        self.check_orderable(right)?;
        let (start, heights) = (self.start(left), [self.height(left), self.height(right)]);
        let expr = Expr::Order(order, Box::new(self.take(left)), Box::new(self.take(right)));
        self.node(expr, start, &heights)
    }

    /// `[NOT] CONTAINS|STARTSWITH|ENDSWITH 'pattern'`, at the operator token. Any left side
    /// is accepted, as in Java; only a string value can match.
    fn text_op(&mut self, operand: Id, negated: bool) -> Step<Id> {
        let op = match self.tok.kind {
            TokenKind::Contains => TextOp::Contains,
            TokenKind::StartsWith => TextOp::StartsWith,
            _ => TextOp::EndsWith,
        };
        self.advance()?;
        let pattern = self.string_literal()?;
        let (start, height) = (self.start(operand), self.height(operand));
        let expr = Expr::Text {
            op,
            operand: Box::new(self.take(operand)),
            pattern,
            negated,
        };
        self.node(expr, start, &[height])
    }

    /// `[NOT] BETWEEN low AND high`, at `BETWEEN`. Like `createBetween`, constant bounds are
    /// checked (not NULL, comparable, low <= high) for BETWEEN but not for NOT BETWEEN.
    fn between(&mut self, value: Id, negated: bool) -> Step<Id> {
        self.advance()?;
        let low = self.unary()?;
        self.expect(TokenKind::And, "AND")?;
        let high = self.unary()?;
        if let (false, Expr::Const(lo), Expr::Const(hi)) =
            (negated, self.expr(low), self.expr(high))
        {
            let reason = if *lo == Const::Null || *hi == Const::Null {
                Some("the bounds cannot be NULL")
            } else {
                match compare(hi.value(), lo.value()) {
                    Err(_) => Some("the bounds cannot be compared"),
                    Ok(std::cmp::Ordering::Less) => Some("the lower bound is above the upper one"),
                    Ok(_) => None,
                }
            };
            if let Some(reason) = reason {
                return Err(Box::new(ParseError::InvalidBetween {
                    at: self.at(self.start(low)),
                    reason,
                }));
            }
        }
        for side in [value, low, high] {
            self.check_orderable(side)?;
        }
        let start = self.start(value);
        let heights = [self.height(value), self.height(low), self.height(high)];
        let expr = Expr::Between {
            value: Box::new(self.take(value)),
            low: Box::new(self.take(low)),
            high: Box::new(self.take(high)),
            negated,
        };
        self.node(expr, start, &heights)
    }

    /// `[NOT] IN ('a', 'b', ...)`, at `IN`; the left side must be a property.
    fn in_list(&mut self, left: Id, negated: bool) -> Step<Id> {
        self.advance()?;
        self.expect(TokenKind::LParen, "'('")?;
        let mut items = vec![self.string_literal()?];
        while self.tok.kind == TokenKind::Comma {
            self.advance()?;
            items.push(self.string_literal()?);
        }
        self.expect(TokenKind::RParen, "',' or ')'")?;
        let (start, height) = (self.start(left), self.height(left));
        let Expr::Prop(property) = self.take(left) else {
            return Err(Box::new(ParseError::InNeedsProperty {
                at: self.at(start),
                found: self.text(left),
            }));
        };
        let expr = Expr::In {
            property,
            set: StrSet::new(items),
            negated,
        };
        self.node(expr, start, &[height])
    }

    /// Prefix operators are collected in a loop rather than by recursion, and parentheses are
    /// opened here directly, so that a level of nesting costs few stack frames.
    fn unary(&mut self) -> Step<Id> {
        let outer = self.nesting;
        let mut prefixes = Vec::new();
        while matches!(
            self.tok.kind,
            TokenKind::Plus | TokenKind::Minus | TokenKind::Not
        ) {
            self.enter()?;
            prefixes.push((self.tok.kind, self.tok.start));
            self.advance()?;
        }
        self.enter()?;
        let mut id = if self.tok.kind == TokenKind::LParen {
            let start = self.tok.start;
            self.advance()?;
            let inner = self.or()?;
            self.expect(TokenKind::RParen, "')'")?;
            let end = self.prev_end;
            let node = &mut self.nodes[inner];
            (node.start, node.end) = (start, end);
            inner
        } else {
            self.primary()?
        };
        while let Some((kind, start)) = prefixes.pop() {
            id = self.prefix(kind, start, id)?;
        }
        self.nesting = outer;
        Ok(id)
    }

    /// One more level of nesting, refused beyond [`MAX_DEPTH`].
    fn enter(&mut self) -> Step<()> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return Err(Box::new(ParseError::TooDeep {
                at: self.at(self.tok.start),
                limit: MAX_DEPTH,
            }));
        }
        Ok(())
    }

    /// Applies the prefix operator read at `start` to `operand`.
    fn prefix(&mut self, kind: TokenKind, start: usize, operand: Id) -> Step<Id> {
        if kind == TokenKind::Plus {
            // Unary plus is the operand itself (a constant stays a constant).
            self.nodes[operand].start = start;
            return Ok(operand);
        }
        let operand = if kind == TokenKind::Not {
            self.as_boolean(operand)?
        } else {
            operand
        };
        let height = self.height(operand);
        let inner = Box::new(self.take(operand));
        let expr = if kind == TokenKind::Not {
            Expr::Not(inner)
        } else {
            Expr::Neg(inner)
        };
        self.node(expr, start, &[height])
    }

    /// A literal or a property name.
    fn primary(&mut self) -> Step<Id> {
        let tok = self.tok;
        let src = self.src;
        let image = &src[tok.start..tok.end];
        let expr = match tok.kind {
            TokenKind::Str => Expr::Const(Const::Str(self.string_literal()?)),
            TokenKind::Decimal => Expr::Const(self.decimal(image)?),
            TokenKind::Float => Expr::Const(self.float(image)?),
            TokenKind::True => Expr::Const(Const::Bool(true)),
            TokenKind::False => Expr::Const(Const::Bool(false)),
            TokenKind::Null => Expr::Const(Const::Null),
            TokenKind::Ident => Expr::Prop(image.into()),
            _ => return Err(self.unexpected("a literal, a property, '(', NOT, '+' or '-'")),
        };
        if tok.kind != TokenKind::Str {
            self.advance()?;
        }
        self.node(expr, tok.start, &[])
    }

    /// The value of the string literal at the current token, consumed; `''` stands for `'`.
    fn string_literal(&mut self) -> Step<Box<str>> {
        if self.tok.kind != TokenKind::Str {
            return Err(self.unexpected("a string literal"));
        }
        let inner = &self.src[self.tok.start + 1..self.tok.end - 1];
        let value = inner.replace("''", "'").into_boxed_str();
        self.advance()?;
        Ok(value)
    }

    /// `ConstantExpression.createFromDecimal`: an `l`/`L` suffix is dropped, the value must fit
    /// a `long`, and it is an `Integer` when it fits one (so `5L` is an Integer too).
    fn decimal(&self, image: &str) -> Step<Const> {
        let digits = image.trim_end_matches(['l', 'L']);
        let value: i64 = digits.parse().map_err(|_| {
            Box::new(ParseError::InvalidNumber {
                at: self.at(self.tok.start),
                literal: image.to_string(),
                reason: "out of the range of a 64-bit integer",
            })
        })?;
        Ok(i32::try_from(value).map_or(Const::Long(value), Const::Int))
    }

    /// `ConstantExpression.createFloat`: refused when infinite or below `Double.MIN_VALUE`,
    /// which (literals having no sign) means zero: `0.0` does not compile in RocketMQ.
    fn float(&self, image: &str) -> Step<Const> {
        let invalid = |reason| {
            Box::new(ParseError::InvalidNumber {
                at: self.at(self.tok.start),
                literal: image.to_string(),
                reason,
            })
        };
        let value: f64 = image.parse().map_err(|_| invalid("not a number"))?;
        if value > f64::MAX {
            return Err(invalid("greater than the largest double"));
        }
        if value < f64::from_bits(1) {
            return Err(invalid(
                "less than the smallest positive double (zero is refused too)",
            ));
        }
        Ok(Const::Double(value))
    }
}
