---- MODULE Ev ----
\* An evaluation error: a sequence applied outside its domain.
EXTENDS Naturals
VARIABLES x
Init == x = <<1, 2>>
Next == x' = <<x[3], 1>>
====
