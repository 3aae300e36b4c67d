---- MODULE SemErr ----
\* A semantic error: an undefined operator.
EXTENDS Naturals
VARIABLES x
Init == x = 0
Next == x' = Frob(x)
====
