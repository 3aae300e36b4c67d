---- MODULE ParseErr ----
\* A syntax error: the definition of Next has no right-hand side.
EXTENDS Naturals
VARIABLES x
Init == x = 0
Next ==
====
