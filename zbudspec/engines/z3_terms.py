"""Term constructors for the encoders' hot paths, through z3's C API.

z3's Python `And`, `Or`, `If` and `is_true` check and coerce their arguments on every call;
building a transition template makes tens of thousands of them, and those checks were most
of its time. These do the same with one C call each, for arguments that are already z3
terms of the right sorts (which is all the encoders ever pass).
"""

from __future__ import annotations

from typing import Any

import z3
from z3.z3 import _to_expr_ref

_CTX = z3.main_ctx()
_TRUE = z3.BoolVal(True)
_FALSE = z3.BoolVal(False)


def is_true(x: Any) -> bool:
    if isinstance(x, bool):
        return x
    return bool(z3.Z3_get_bool_value(_CTX.ref(), x.as_ast()) == z3.Z3_L_TRUE)


def is_false(x: Any) -> bool:
    if isinstance(x, bool):
        return not x
    return bool(z3.Z3_get_bool_value(_CTX.ref(), x.as_ast()) == z3.Z3_L_FALSE)


def _args(xs: list[Any]) -> Any:
    arr = (z3.Ast * len(xs))()
    for i, x in enumerate(xs):
        arr[i] = x.as_ast()
    return arr


def and_(*xs: Any) -> Any:
    """The conjunction, with `True`s dropped and `False` absorbing."""
    parts = []
    for x in xs:
        if isinstance(x, bool):
            x = _TRUE if x else _FALSE
        v = z3.Z3_get_bool_value(_CTX.ref(), x.as_ast())
        if v == z3.Z3_L_FALSE:
            return _FALSE
        if v != z3.Z3_L_TRUE:
            parts.append(x)
    if not parts:
        return _TRUE
    if len(parts) == 1:
        return parts[0]
    return z3.BoolRef(z3.Z3_mk_and(_CTX.ref(), len(parts), _args(parts)), _CTX)


def or_(*xs: Any) -> Any:
    """The disjunction, with `False`s dropped and `True` absorbing."""
    parts = []
    for x in xs:
        if isinstance(x, bool):
            x = _TRUE if x else _FALSE
        v = z3.Z3_get_bool_value(_CTX.ref(), x.as_ast())
        if v == z3.Z3_L_TRUE:
            return _TRUE
        if v != z3.Z3_L_FALSE:
            parts.append(x)
    if not parts:
        return _FALSE
    if len(parts) == 1:
        return parts[0]
    return z3.BoolRef(z3.Z3_mk_or(_CTX.ref(), len(parts), _args(parts)), _CTX)


def if_(c: Any, a: Any, b: Any) -> Any:
    """`If(c, a, b)` for terms of one sort; a constant `c` picks its side."""
    v = z3.Z3_get_bool_value(_CTX.ref(), c.as_ast())
    if v == z3.Z3_L_TRUE:
        return a
    if v == z3.Z3_L_FALSE:
        return b
    if not isinstance(a, z3.ExprRef) or not isinstance(b, z3.ExprRef):
        return z3.If(c, a, b)  # a Python number: z3 gives it the other side's sort
    if a.eq(b):
        return a
    return _to_expr_ref(z3.Z3_mk_ite(_CTX.ref(), c.as_ast(), a.as_ast(), b.as_ast()), _CTX)


__all__ = ["and_", "if_", "is_false", "is_true", "or_"]
