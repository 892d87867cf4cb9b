"""Diagnostics as data: stable codes, a span, a message, an optional hint.

Every stage returns diagnostics as values; only the CLI renders them. `render` produces
`file:line:col: error[ZB012]: message`, the source line and a caret under the span.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from zbudspec.syntax.ast import Span


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"


# code -> one-line description. Stable: never renumber, only add.
CODES: dict[str, str] = {
    "ZB001": "syntax error: unexpected token",
    "ZB002": "syntax error: unexpected character",
    "ZB003": "cannot read a spec file (missing, unreadable, or an import cycle)",
    "ZB004": "bad -D parameter override or configuration",
    "ZB010": "unknown name",
    "ZB011": "name declared twice",
    "ZB012": "type mismatch",
    "ZB013": "wrong number of arguments",
    "ZB014": "assignment to a constant, parameter or non-assignable name",
    "ZB015": "unknown record field",
    "ZB016": "not a finite domain",
    "ZB017": "constant expression expected",
    "ZB018": "empty or invalid range",
    "ZB019": "duplicate label",
    "ZB020": "unreachable step",
    "ZB021": "unused name",
    "ZB022": "procedure call in the wrong place",
    "ZB023": "multi-step construct inside an atomic region",
    "ZB024": "a loop whose iteration need not pass a label",
    "ZB025": "operation or procedure must start with a label",
    "ZB026": "statement after a multi-step call must be labelled",
    "ZB027": "unknown lock",
    "ZB028": "missing return value or result type",
    "ZB029": "bad override (nothing to override, or a change of kind)",
    "ZB030": "bad client or config declaration",
    "ZB031": "thread-local state read outside an invariant",
    "ZB032": "missing record field",
    "ZB999": "internal checker error",
}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: Span
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def error(code: str, message: str, span: Span, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, span, hint)


def warning(code: str, message: str, span: Span, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, Severity.WARNING, message, span, hint)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


def render(diag: Diagnostic, sources: dict[str, str]) -> str:
    """Render one diagnostic with its source line and a caret under the span."""
    sp = diag.span
    head = f"{sp.file}:{sp.line}:{sp.col}: {diag.severity.value}[{diag.code}]: {diag.message}"
    lines = [head]
    text = sources.get(sp.file)
    if text is not None and sp.line >= 1:
        src_lines = text.split("\n")
        if sp.line <= len(src_lines):
            src = src_lines[sp.line - 1].rstrip("\r").expandtabs(1)
            width = 1
            if sp.end_line == sp.line and sp.end_col > sp.col:
                width = sp.end_col - sp.col
            width = max(1, min(width, len(src) - sp.col + 1))
            gutter = f"{sp.line:>5} | "
            lines.append(gutter + src)
            lines.append(" " * (len(gutter) + sp.col - 1) + "^" * width)
    if diag.hint:
        lines.append(f"  hint: {diag.hint}")
    return "\n".join(lines)
