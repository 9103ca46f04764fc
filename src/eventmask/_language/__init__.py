"""The mask language: text -> `Mask`, its canonical form, matching and algebra.

Modules, leaf first: `items` (the AST items), `algebra` and `matching` (the
semantics), `mask` (`Mask`), `grammar` and `syntax` (the Lark grammar and its
errors in words), `analysis` (names, filters, whole-mask lints), `fast` (the
clean-mask path) and `parser` (`parse`, `lint`).  Nothing here imports the
router, the inbox or the receiver.
"""
