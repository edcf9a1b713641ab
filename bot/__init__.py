"""Mutuals Assistant: the running system around Rasa (README "Where things live";
docs/architecture.md for the data path, the patches of Rasa and the import rules).

A regular package, not a namespace one, so ``bot`` is this folder only: another copy of the tree
on the path can never lend it modules, and the import rules (import-linter) read this one."""
