"""Load a spec file with its imports and its `variant of` base into one flat list of decls.

Imports are merged once each, in order (a file's imports come before its own decls).
A variant starts from its base's decls and applies `override`, `override step` and
`drop invariant`; its other decls are added. Errors are returned as diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from zbudspec.diagnostics import Diagnostic, did_you_mean, error
from zbudspec.syntax import ast as A
from zbudspec.syntax.parser import parse
from zbudspec.syntax.walk import statements


@dataclass
class Loaded:
    root: str
    decls: list[A.Decl] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def _decl_name(d: A.Decl) -> str | None:
    if isinstance(d, A.Override):
        return d.decl.name
    return getattr(d, "name", None)


_KINDS = {A.FnDecl: "fn", A.VarDecl: "var", A.ConfigDecl: "config", A.TypeDecl: "type",
          A.EnumDecl: "enum", A.RecordDecl: "record", A.LockDecl: "lock",
          A.InvariantDecl: "invariant", A.ClientDecl: "client"}


def _kind(d: A.Decl) -> str:
    if isinstance(d, A.ConstDecl):
        return "param" if d.is_param else "const"
    if isinstance(d, A.ProcDecl):
        return "op" if d.is_op else "proc"
    return _KINDS.get(type(d), "declaration")


class _Loader:
    def __init__(self, out: Loaded) -> None:
        self.out = out
        self.seen: set[str] = set()
        self.active: list[str] = []
        self.active_names: list[str] = []

    def read(self, path: Path, at: A.Span | None) -> A.Module | None:
        key = str(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            span = at or A.Span(key, 1, 1, 1, 1)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.out.diagnostics.append(error("ZB003", f"cannot read `{key}`: {reason}", span))
            return None
        self.out.sources[key] = text
        module, diags = parse(text, key)
        self.out.diagnostics.extend(diags)
        return module

    def load(self, path: Path, at: A.Span | None) -> list[A.Decl]:
        key = _identity(path)
        if key in self.active:
            cycle = " -> ".join([*self.active_names, str(path)])
            span = at or A.Span(key, 1, 1, 1, 1)
            self.out.diagnostics.append(error("ZB003", f"import cycle: {cycle}", span))
            return []
        if key in self.seen:
            return []
        self.seen.add(key)
        module = self.read(path, at)
        if module is None:
            return []
        self.active.append(key)
        self.active_names.append(str(path))
        try:
            return self.expand(module, path)
        finally:
            self.active.pop()
            self.active_names.pop()

    def expand(self, module: A.Module, path: Path) -> list[A.Decl]:
        decls: list[A.Decl] = []
        if module.variant_of is not None:
            base = (path.parent / module.variant_of)
            decls = self.load(base, module.variant_span)
        for d in module.decls:
            if isinstance(d, A.Import):
                decls.extend(self.load(path.parent / d.path, d.span))
            elif isinstance(d, A.Override):
                self.override(decls, d)
            elif isinstance(d, A.OverrideStep):
                self.override_step(decls, d)
            elif isinstance(d, A.DropInvariant):
                self.drop(decls, d)
            else:
                decls.append(d)
        return decls

    def override(self, decls: list[A.Decl], ov: A.Override) -> None:
        new = ov.decl
        for i, d in enumerate(decls):
            if _decl_name(d) == new.name:
                if _kind(d) != _kind(new):
                    self.out.diagnostics.append(error(
                        "ZB029", f"`override {_kind(new)} {new.name}` replaces a declaration "
                        f"of another kind: `{_kind(d)} {new.name}`", ov.span,
                        f"write `override {_kind(d)} {new.name}`"))
                    return
                decls[i] = new
                return
        names = [n for n in (_decl_name(d) for d in decls) if n]
        self.out.diagnostics.append(error(
            "ZB029", f"nothing named `{new.name}` to override", ov.span,
            did_you_mean(new.name, names)))

    def override_step(self, decls: list[A.Decl], ov: A.OverrideStep) -> None:
        for i, d in enumerate(decls):
            if isinstance(d, A.ProcDecl) and d.name == ov.proc:
                body, found = _replace_label(d.body, ov.label, ov.body)
                if not found:
                    self.out.diagnostics.append(error(
                        "ZB029", f"`{ov.proc}` has no step labelled `{ov.label}`", ov.span,
                        did_you_mean(ov.label, labels_of(d.body))))
                    return
                decls[i] = replace(d, body=body)
                return
        procs = [d.name for d in decls if isinstance(d, A.ProcDecl)]
        self.out.diagnostics.append(error(
            "ZB029", f"no procedure or operation `{ov.proc}` to override a step of", ov.span,
            did_you_mean(ov.proc, procs)))

    def drop(self, decls: list[A.Decl], dr: A.DropInvariant) -> None:
        for i, d in enumerate(decls):
            if isinstance(d, A.InvariantDecl) and d.name == dr.name:
                del decls[i]
                return
        invs = [d.name for d in decls if isinstance(d, A.InvariantDecl)]
        self.out.diagnostics.append(error(
            "ZB029", f"no invariant `{dr.name}` to drop", dr.span, did_you_mean(dr.name, invs)))


def labels_of(block: A.Block) -> list[str]:
    """The labels of a procedure body, in source order."""
    return [s.label for s in statements(block) if isinstance(s, A.Labelled)]


def _replace_label(block: A.Block, label: str, new: A.Block) -> tuple[A.Block, bool]:
    found = False

    def stmt(s: A.Stmt) -> A.Stmt:
        nonlocal found
        if isinstance(s, A.Labelled):
            if s.label == label:
                found = True
                return A.Labelled(label, new, s.span)
            return A.Labelled(s.label, stmt(s.stmt), s.span)
        if isinstance(s, A.Block):
            return blk(s)
        if isinstance(s, A.If):
            return A.If(s.cond, blk(s.then), blk(s.else_) if s.else_ else None, s.span)
        if isinstance(s, A.While):
            return A.While(s.cond, blk(s.body), s.span)
        if isinstance(s, A.For):
            return A.For(s.var, s.domain, blk(s.body), s.span)
        if isinstance(s, A.Either):
            return A.Either(tuple(blk(b) for b in s.branches), s.span)
        return s

    def blk(b: A.Block) -> A.Block:
        return A.Block(b.locals, tuple(stmt(s) for s in b.stmts), b.span)

    return blk(block), found


def _identity(path: Path) -> str:
    """One key per file however it is spelled (`d/../d/x.zspec`, symlinks)."""
    try:
        return str(path.resolve())
    except OSError:
        return str(path.absolute())


def load(path: str | Path) -> Loaded:
    """Load `path` and everything it imports or varies."""
    p = Path(path)
    out = Loaded(str(p))
    out.decls = _Loader(out).load(p, None)
    return out


def load_many(paths: list[str]) -> list[Loaded]:
    return [load(p) for p in paths]
