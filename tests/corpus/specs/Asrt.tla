---- MODULE Asrt ----
\* A failing Assert: TLC 2.15 reports it as an evaluation error (exit 75), no trace.
EXTENDS Naturals, TLC
VARIABLES x
Init == x = 0
Next == /\ x' = x + 1
        /\ Assert(x < 2, "x got too big")
====
