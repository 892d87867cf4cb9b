"""Parse zbudspec text into the AST. The only module that imports lark.

`parse(text, path)` returns `(Module | None, diagnostics)`: errors as values, never raised.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import lark
from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from zbudspec.diagnostics import Diagnostic, error
from zbudspec.syntax import ast as A


@cache
def _parser() -> Lark:
    grammar = resources.files("zbudspec.syntax").joinpath("zspec.lark").read_text()
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False)


def _span(path: str, meta: Any) -> A.Span:
    if getattr(meta, "empty", True) and not hasattr(meta, "line"):
        return A.Span(path, 1, 1, 1, 1)
    return A.Span(path, meta.line, meta.column, meta.end_line, meta.end_column)


def _tok_span(path: str, tok: Token) -> A.Span:
    line = tok.line or 1
    col = tok.column or 1
    return A.Span(path, line, col, tok.end_line or line, tok.end_column or col + len(tok))


def _unquote(tok: Token) -> str:
    """A string literal's text: JSON escapes (\\n, \\", \\u00e9...); others kept as written."""
    try:
        value = json.loads(str(tok))
    except ValueError:
        return str(tok)[1:-1]
    return value if isinstance(value, str) else str(tok)[1:-1]


_BINOPS = {"implies": "==>", "or_": "||", "and_": "&&"}


@v_args(meta=True)
class _Build(Transformer[Token, Any]):
    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def sp(self, meta: Any) -> A.Span:
        return _span(self.path, meta)

    # ---- module
    def start(self, meta: Any, items: list[Any]) -> A.Module:
        variant: str | None = None
        vspan: A.Span | None = None
        decls: list[A.Decl] = []
        for it in items:
            if isinstance(it, tuple) and it[0] == "variant":
                variant, vspan = it[1], it[2]
            else:
                decls.append(it)
        return A.Module(self.path, variant, vspan, tuple(decls))

    def variant_of(self, meta: Any, ch: list[Any]) -> tuple[str, str, A.Span]:
        return ("variant", _unquote(ch[0]), self.sp(meta))

    def import_decl(self, meta: Any, ch: list[Any]) -> A.Import:
        return A.Import(_unquote(ch[0]), self.sp(meta))

    def _const(self, meta: Any, ch: list[Any], is_param: bool) -> A.ConstDecl:
        if len(ch) == 3:
            return A.ConstDecl(str(ch[0]), ch[1], ch[2], is_param, self.sp(meta))
        return A.ConstDecl(str(ch[0]), None, ch[1], is_param, self.sp(meta))

    def const_decl(self, meta: Any, ch: list[Any]) -> A.ConstDecl:
        return self._const(meta, ch, False)

    def param_decl(self, meta: Any, ch: list[Any]) -> A.ConstDecl:
        return self._const(meta, ch, True)

    def type_decl(self, meta: Any, ch: list[Any]) -> A.TypeDecl:
        return A.TypeDecl(str(ch[0]), ch[1], self.sp(meta))

    def name_list(self, meta: Any, ch: list[Token]) -> list[tuple[str, A.Span]]:
        return [(str(t), _tok_span(self.path, t)) for t in ch]

    def enum_members(self, meta: Any, ch: list[Any]) -> list[tuple[str, A.Span]]:
        head: list[tuple[str, A.Span]] = ch[0] if isinstance(ch[0], list) else [
            (str(ch[0]), _tok_span(self.path, ch[0]))]
        if len(ch) > 1:
            head = [*head, (str(ch[1]), _tok_span(self.path, ch[1]))]
        return head

    def enum_decl(self, meta: Any, ch: list[Any]) -> A.EnumDecl:
        members = tuple(A.EnumMember(n, s) for n, s in ch[1])
        return A.EnumDecl(str(ch[0]), members, self.sp(meta))

    def field_decl(self, meta: Any, ch: list[Any]) -> A.FieldDecl:
        return A.FieldDecl(str(ch[0]), ch[1], self.sp(meta))

    def record_decl(self, meta: Any, ch: list[Any]) -> A.RecordDecl:
        return A.RecordDecl(str(ch[0]), tuple(ch[1:]), self.sp(meta))

    def var_decl(self, meta: Any, ch: list[Any]) -> A.VarDecl:
        ghost = isinstance(ch[0], Token) and ch[0].type == "GHOST"
        rest = ch[1:] if ghost else ch
        return A.VarDecl(str(rest[0]), rest[1], rest[2], ghost, self.sp(meta))

    def lock_decl(self, meta: Any, ch: list[Any]) -> A.LockDecl:
        return A.LockDecl(str(ch[0]), self.sp(meta))

    def param(self, meta: Any, ch: list[Any]) -> A.ParamDecl:
        return A.ParamDecl(str(ch[0]), ch[1], self.sp(meta))

    def params(self, meta: Any, ch: list[A.ParamDecl]) -> tuple[A.ParamDecl, ...]:
        return tuple(ch)

    def fn_decl(self, meta: Any, ch: list[Any]) -> A.FnDecl:
        if len(ch) == 3:
            return A.FnDecl(str(ch[0]), (), ch[1], ch[2], self.sp(meta))
        return A.FnDecl(str(ch[0]), ch[1], ch[2], ch[3], self.sp(meta))

    def requires(self, meta: Any, ch: list[Any]) -> tuple[str, A.Expr]:
        return ("requires", ch[0])

    def proc_decl(self, meta: Any, ch: list[Any]) -> A.ProcDecl:
        kind = str(ch[0])
        name = str(ch[1])
        params: tuple[A.ParamDecl, ...] = ()
        result: A.TypeExpr | None = None
        reqs: list[A.Expr] = []
        body: A.Block | None = None
        for it in ch[2:]:
            if isinstance(it, tuple) and it and isinstance(it[0], A.ParamDecl):
                params = it
            elif isinstance(it, tuple) and it and it[0] == "requires":
                reqs.append(it[1])
            elif isinstance(it, A.Block):
                body = it
            elif it == ():
                continue
            else:
                result = it
        assert body is not None
        return A.ProcDecl(kind == "op", name, params, result, tuple(reqs), body, self.sp(meta))

    def invariant_decl(self, meta: Any, ch: list[Any]) -> A.InvariantDecl:
        return A.InvariantDecl(str(ch[0]), ch[1], self.sp(meta))

    def lemma_decl(self, meta: Any, ch: list[Any]) -> A.InvariantDecl:
        return A.InvariantDecl(str(ch[0]), ch[1], self.sp(meta), lemma=True)

    # client and config
    def client_threads(self, meta: Any, ch: list[Any]) -> tuple[str, Any, Any]:
        return ("threads", int(ch[0]), self.sp(meta))

    def client_ops(self, meta: Any, ch: list[Any]) -> tuple[str, Any, Any]:
        return ("ops", tuple(n for n, _ in ch[0]), tuple(ch[0]))

    def client_thread(self, meta: Any, ch: list[Any]) -> tuple[str, Any, Any]:
        return ("thread", (int(ch[0]), tuple(n for n, _ in ch[1])), tuple(ch[1]))

    def client_decl(self, meta: Any, ch: list[Any]) -> A.ClientDecl:
        threads: int | None = None
        threads_span: A.Span | None = None
        ops: tuple[str, ...] | None = None
        per: list[tuple[int, tuple[str, ...]]] = []
        spans: list[tuple[str, A.Span]] = []
        for kind, val, where in ch:
            if kind == "threads":
                threads, threads_span = val, where
            elif kind == "ops":
                ops = val
                spans.extend(where)
            else:
                per.append(val)
                spans.extend(where)
        return A.ClientDecl(threads, ops, tuple(per), self.sp(meta), tuple(spans), threads_span)

    def config_threads(self, meta: Any, ch: list[Any]) -> tuple[str, Any]:
        return ("threads", (int(ch[0]), self.sp(meta)))

    def config_depth(self, meta: Any, ch: list[Any]) -> tuple[str, int]:
        return ("depth", int(ch[0]))

    def config_set(self, meta: Any, ch: list[Any]) -> tuple[str, A.ConfigSet]:
        return ("set", A.ConfigSet(str(ch[0]), ch[1], self.sp(meta)))

    def config_decl(self, meta: Any, ch: list[Any]) -> A.ConfigDecl:
        threads = depth = None
        threads_span: A.Span | None = None
        sets: list[A.ConfigSet] = []
        for kind, val in ch[1:]:
            if kind == "threads":
                threads, threads_span = val
            elif kind == "depth":
                depth = val
            else:
                sets.append(val)
        return A.ConfigDecl(str(ch[0]), threads, depth, tuple(sets), self.sp(meta), threads_span)

    def override_decl(self, meta: Any, ch: list[Any]) -> A.Override:
        return A.Override(ch[0], self.sp(meta))

    def override_step(self, meta: Any, ch: list[Any]) -> A.OverrideStep:
        return A.OverrideStep(str(ch[0]), str(ch[1]), ch[2], self.sp(meta))

    def drop_decl(self, meta: Any, ch: list[Any]) -> A.DropInvariant:
        return A.DropInvariant(str(ch[0]), self.sp(meta))

    # ---- types
    def bool_type(self, meta: Any, ch: list[Any]) -> A.BoolType:
        return A.BoolType(self.sp(meta))

    def int_type(self, meta: Any, ch: list[Any]) -> A.IntType:
        return A.IntType(self.sp(meta))

    def range_type(self, meta: Any, ch: list[Any]) -> A.RangeType:
        return A.RangeType(ch[0], ch[1], self.sp(meta))

    def option_type(self, meta: Any, ch: list[Any]) -> A.OptionType:
        return A.OptionType(ch[0], self.sp(meta))

    def set_type(self, meta: Any, ch: list[Any]) -> A.SetType:
        return A.SetType(ch[0], self.sp(meta))

    def list_type(self, meta: Any, ch: list[Any]) -> A.ListType:
        return A.ListType(ch[0], self.sp(meta))

    def map_type(self, meta: Any, ch: list[Any]) -> A.MapType:
        return A.MapType(ch[0], ch[1], self.sp(meta))

    def named_type(self, meta: Any, ch: list[Any]) -> A.NamedType:
        return A.NamedType(str(ch[0]), self.sp(meta))

    # ---- statements
    def local_decl(self, meta: Any, ch: list[Any]) -> A.LocalDecl:
        init = ch[2] if len(ch) > 2 else None
        return A.LocalDecl(str(ch[0]), ch[1], init, self.sp(meta))

    def block(self, meta: Any, ch: list[Any]) -> A.Block:
        locals_ = tuple(c for c in ch if isinstance(c, A.LocalDecl))
        stmts = tuple(c for c in ch if not isinstance(c, A.LocalDecl))
        return A.Block(locals_, stmts, self.sp(meta))

    def labelled(self, meta: Any, ch: list[Any]) -> A.Labelled:
        return A.Labelled(str(ch[0]), ch[1], self.sp(meta))

    def if_stmt(self, meta: Any, ch: list[Any]) -> A.If:
        else_ = ch[2] if len(ch) > 2 else None
        return A.If(ch[0], ch[1], else_, self.sp(meta))

    def else_part(self, meta: Any, ch: list[Any]) -> A.Block:
        it = ch[0]
        if isinstance(it, A.Block):
            return it
        return A.Block((), (it,), it.span)

    def while_stmt(self, meta: Any, ch: list[Any]) -> A.While:
        return A.While(ch[0], ch[1], self.sp(meta))

    def for_stmt(self, meta: Any, ch: list[Any]) -> A.For:
        return A.For(str(ch[0]), ch[1], ch[2], self.sp(meta))

    def either_stmt(self, meta: Any, ch: list[Any]) -> A.Either:
        return A.Either(tuple(ch), self.sp(meta))

    def lvalue(self, meta: Any, ch: list[Any]) -> A.LValue:
        return A.LValue(str(ch[0]), tuple(ch[1:]), self.sp(meta))

    def lv_index(self, meta: Any, ch: list[Any]) -> A.IndexSel:
        return A.IndexSel(ch[0], self.sp(meta))

    def lv_field(self, meta: Any, ch: list[Any]) -> A.FieldSel:
        return A.FieldSel(str(ch[0]), self.sp(meta))

    def assign(self, meta: Any, ch: list[Any]) -> A.Assign:
        return A.Assign(ch[0], ch[1], self.sp(meta))

    def call_stmt(self, meta: Any, ch: list[Any]) -> A.CallStmt:
        return A.CallStmt(ch[0], self.sp(meta))

    def await_stmt(self, meta: Any, ch: list[Any]) -> A.Await:
        return A.Await(ch[0], self.sp(meta))

    def assert_stmt(self, meta: Any, ch: list[Any]) -> A.Assert:
        msg = _unquote(ch[1]) if len(ch) > 1 else None
        return A.Assert(ch[0], msg, self.sp(meta))

    def lock_stmt(self, meta: Any, ch: list[Any]) -> A.LockStmt:
        return A.LockStmt(str(ch[0]), self.sp(meta))

    def unlock_stmt(self, meta: Any, ch: list[Any]) -> A.UnlockStmt:
        return A.UnlockStmt(str(ch[0]), self.sp(meta))

    def choose_stmt(self, meta: Any, ch: list[Any]) -> A.Choose:
        where = ch[2] if len(ch) > 2 else None
        return A.Choose(ch[0], ch[1], where, self.sp(meta))

    def return_stmt(self, meta: Any, ch: list[Any]) -> A.Return:
        return A.Return(ch[0] if ch else None, self.sp(meta))

    def skip_stmt(self, meta: Any, ch: list[Any]) -> A.Skip:
        return A.Skip(self.sp(meta))

    # ---- expressions
    def quant(self, meta: Any, ch: list[Any]) -> A.Quant:
        return A.Quant(str(ch[0]), str(ch[1]), ch[2], ch[3], self.sp(meta))

    def range_domain(self, meta: Any, ch: list[Any]) -> A.RangeDomain:
        return A.RangeDomain(ch[0], ch[1], self.sp(meta))

    def type_domain(self, meta: Any, ch: list[Any]) -> A.TypeDomain:
        return A.TypeDomain(str(ch[0]), self.sp(meta))

    def _bin(self, meta: Any, op: str, ch: list[Any]) -> A.Binary:
        return A.Binary(op, ch[0], ch[-1], self.sp(meta))

    def implies(self, meta: Any, ch: list[Any]) -> A.Binary:
        return self._bin(meta, "==>", ch)

    def or_(self, meta: Any, ch: list[Any]) -> A.Binary:
        return self._bin(meta, "||", ch)

    def and_(self, meta: Any, ch: list[Any]) -> A.Binary:
        return self._bin(meta, "&&", ch)

    def not_(self, meta: Any, ch: list[Any]) -> A.Unary:
        return A.Unary("!", ch[0], self.sp(meta))

    def neg(self, meta: Any, ch: list[Any]) -> A.Unary:
        return A.Unary("-", ch[0], self.sp(meta))

    def compare(self, meta: Any, ch: list[Any]) -> A.Binary:
        return self._bin(meta, str(ch[1]), ch)

    def member(self, meta: Any, ch: list[Any]) -> A.Binary:
        return self._bin(meta, "in", ch)

    def binop(self, meta: Any, ch: list[Any]) -> A.Binary:
        return self._bin(meta, str(ch[1]), ch)

    def index(self, meta: Any, ch: list[Any]) -> A.Index:
        return A.Index(ch[0], ch[1], self.sp(meta))

    def field(self, meta: Any, ch: list[Any]) -> A.Field:
        return A.Field(ch[0], str(ch[1]), self.sp(meta))

    def field_init(self, meta: Any, ch: list[Any]) -> A.FieldInit:
        return A.FieldInit(str(ch[0]), ch[1], self.sp(meta))

    def record_update(self, meta: Any, ch: list[Any]) -> A.RecordUpdate:
        return A.RecordUpdate(ch[0], tuple(ch[1:]), self.sp(meta))

    def map_update(self, meta: Any, ch: list[Any]) -> A.MapUpdate:
        return A.MapUpdate(ch[0], ch[1], ch[2], self.sp(meta))

    def int_lit(self, meta: Any, ch: list[Any]) -> A.IntLit:
        return A.IntLit(int(ch[0]), self.sp(meta))

    def true_lit(self, meta: Any, ch: list[Any]) -> A.BoolLit:
        return A.BoolLit(True, self.sp(meta))

    def false_lit(self, meta: Any, ch: list[Any]) -> A.BoolLit:
        return A.BoolLit(False, self.sp(meta))

    def none_lit(self, meta: Any, ch: list[Any]) -> A.NoneLit:
        return A.NoneLit(self.sp(meta))

    def self_lit(self, meta: Any, ch: list[Any]) -> A.SelfLit:
        return A.SelfLit(self.sp(meta))

    def name(self, meta: Any, ch: list[Any]) -> A.Name:
        return A.Name(str(ch[0]), self.sp(meta))

    def call_expr(self, meta: Any, ch: list[Any]) -> A.Call:
        args: tuple[A.Expr, ...] = tuple(ch[1]) if len(ch) > 1 else ()
        return A.Call(str(ch[0]), args, self.sp(meta), _tok_span(self.path, ch[0]))

    def args(self, meta: Any, ch: list[Any]) -> list[Any]:
        return ch

    def record_lit(self, meta: Any, ch: list[Any]) -> A.RecordLit:
        return A.RecordLit(str(ch[0]), tuple(ch[1:]), self.sp(meta))

    def set_lit(self, meta: Any, ch: list[Any]) -> A.SetLit:
        return A.SetLit(tuple(ch), self.sp(meta))

    def empty_list(self, meta: Any, ch: list[Any]) -> A.EmptyList:
        return A.EmptyList(self.sp(meta))

    def map_lit(self, meta: Any, ch: list[Any]) -> A.MapLit:
        return A.MapLit(ch[0], self.sp(meta))

    def cond_expr(self, meta: Any, ch: list[Any]) -> A.CondExpr:
        return A.CondExpr(ch[0], ch[1], ch[2], self.sp(meta))


def _describe(term: str) -> str:
    try:
        pat = _parser().get_terminal(term).pattern
    except KeyError:
        return term
    if isinstance(pat, lark.lexer.PatternStr):
        return f"`{pat.value}`"
    return {"NAME": "a name", "INT": "a number", "STRING": "a string", "QUANT": "a quantifier",
            "COMPOP": "a comparison", "ADDOP": "an operator", "MULOP": "an operator",
            "PROC_KW": "`proc`", "OP_KW": "`op`", "GHOST": "`ghost`"}.get(term, term)


def _expected(terms: set[str]) -> str:
    names = sorted({_describe(t) for t in terms if not t.startswith("$")})
    if not names:
        return "end of file"
    if len(names) > 8:
        return ", ".join(names[:8]) + ", ..."
    return ", ".join(names)


def _syntax_error(exc: UnexpectedInput, path: str) -> Diagnostic:
    line = getattr(exc, "line", 1) or 1
    col = getattr(exc, "column", 1) or 1
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        try:
            exact = exc.interactive_parser.accepts()  # type: ignore[no-untyped-call]
        except Exception:  # lark internals: fall back to the LALR lookahead set
            exact = set(exc.expected)
        if exact:
            exc.expected = exact
        if tok.type == "$END":
            span = A.Span(path, line if line > 0 else 1, col if col > 0 else 1, line, col)
            return error("ZB001", f"unexpected end of file; expected {_expected(exc.expected)}",
                         span)
        span = _tok_span(path, tok)
        return error("ZB001", f"unexpected `{tok}`; expected {_expected(exc.expected)}", span)
    if isinstance(exc, UnexpectedCharacters):
        ch = exc.char
        span = A.Span(path, line, col, line, col + 1)
        shown = ch if ch.isprintable() else repr(ch)[1:-1]
        return error("ZB002", f"unexpected character `{shown}`", span)
    if isinstance(exc, UnexpectedEOF):
        span = A.Span(path, line, col, line, col)
        return error("ZB001", f"unexpected end of file; expected {_expected(set(exc.expected))}",
                     span)
    span = A.Span(path, line, col, line, col)
    return error("ZB001", str(exc).splitlines()[0], span)


def parse(text: str, path: str) -> tuple[A.Module | None, list[Diagnostic]]:
    """Parse one file. A syntax error stops the pipeline for that file."""
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        return None, [_syntax_error(exc, path)]
    module = _Build(path).transform(tree)
    assert isinstance(module, A.Module)
    return module, []
