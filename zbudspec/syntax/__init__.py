"""Concrete syntax: the grammar, the AST and the parser (the only lark importer)."""
