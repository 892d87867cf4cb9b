"""The numbers of a z3 encoding: unbounded Ints, or signed bit-vectors of one width.

Every integer of a spec (ranges, enum positions, list positions, lock holders, labels) is one
z3 term of the encoding's numeric sort. Bit-vectors let z3 decide a query by bit-blasting
(`SolverFor("QF_FD")`), which on our models is an order of magnitude faster than arithmetic;
they are only sound when no value of the spec, intermediate ones included, leaves the width.
`z3_width.required_width` proves a width safe by interval analysis; without one the encoding
stays with Ints.

The sort is a property of one encoding, set for its duration with `use(Num(...))`; the z3
modules read it through the functions below, never z3.Int/IntVal directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import z3


@dataclass(frozen=True)
class Num:
    """The numeric sort: `width` bits two's complement, or unbounded Ints when None."""

    width: int | None = None

    @property
    def bv(self) -> bool:
        return self.width is not None

    def __str__(self) -> str:
        return f"{self.width}-bit bit-vectors" if self.width else "integers"


_current = Num()


def current() -> Num:
    return _current


@contextmanager
def use(num: Num) -> Iterator[Num]:
    """Encode with `num` inside the block (the encodings of one check share one sort)."""
    global _current
    saved = _current
    _current = num
    try:
        yield num
    finally:
        _current = saved


def val(v: int) -> Any:
    w = _current.width
    return z3.IntVal(v) if w is None else z3.BitVecVal(v, w)


def var(name: str, lo: int | None = None, hi: int | None = None) -> Any:
    """A fresh number. With bit-vectors and known bounds `lo..hi`, the variable itself is
    only as wide as the range needs (`atom` gives it back) and the term is its zero
    extension plus `lo`: what a state or a pick stores costs its own bits, not the
    encoding's width, in every multiplexer and equality the bit-blaster builds."""
    w = _current.width
    if w is None:
        return z3.Int(name)
    if lo is None or hi is None:
        return z3.BitVec(name, w)
    n = max((hi - lo).bit_length(), 1)
    if n >= w - 1:
        return z3.BitVec(name, w)
    e = z3.ZeroExt(w - n, z3.BitVec(name, n))
    return e if lo == 0 else e + z3.BitVecVal(lo, w)


def atom(t: Any) -> Any:
    """The variable a term made by `var` is built on (itself when it is a variable)."""
    if z3.is_app_of(t, z3.Z3_OP_BADD):
        t = t.arg(0)
    if z3.is_app_of(t, z3.Z3_OP_ZERO_EXT):
        t = t.arg(0)
    assert z3.is_const(t) and not z3.is_bv_value(t) and not z3.is_int_value(t), t
    return t


def is_val(t: Any) -> bool:
    return bool(z3.is_int_value(t) or z3.is_bv_value(t))


def as_int(t: Any) -> int:
    """The integer a numeral denotes (signed for bit-vectors)."""
    if z3.is_bv_value(t):
        return int(t.as_signed_long())
    return int(t.as_long())


def count(conds: list[Any]) -> Any:
    """How many of the Bool terms hold."""
    if not conds:
        return val(0)
    return z3.Sum(*[z3.If(c, val(1), val(0)) for c in conds])


def div(a: Any, b: Any) -> Any:
    """Division truncating toward zero (C, and `evaluate._cdiv`); b != 0 is a fault."""
    if _current.bv:
        return a / b  # bvsdiv truncates toward zero
    q = z3.If(z3.Or(a >= 0, b == 0), 1, -1) * z3.If(b >= 0, 1, -1) * \
        (z3.If(a >= 0, a, -a) / z3.If(b >= 0, b, -b))
    return q


def mod(a: Any, b: Any) -> Any:
    """The remainder with the dividend's sign (`evaluate._cmod`)."""
    if _current.bv:
        return z3.SRem(a, b)
    return a - b * div(a, b)


def shift(op: str, a: Any, b: Any) -> Any | None:
    """`a << b` or `a >> b` (arithmetic, as Python's); None when Ints need a constant `b`."""
    if _current.bv:
        return a << b if op == "<<" else a >> b
    k = z3.simplify(b)
    if not z3.is_int_value(k):
        return None
    n = k.as_long()
    return a * (1 << n) if op == "<<" else a / (1 << n)


def bitwise(op: str, a: Any, b: Any) -> Any | None:
    """`&`, `|`, `^` (bit-vectors only; None for Ints)."""
    if not _current.bv:
        return None
    return {"&": lambda: a & b, "|": lambda: a | b, "^": lambda: a ^ b}[op]()


__all__ = ["Num", "as_int", "atom", "bitwise", "count", "current", "div", "is_val", "mod", "shift",
           "use", "val", "var"]
