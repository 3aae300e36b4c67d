---- MODULE Ok ----
\* Passes: a bounded counter with a type invariant.
EXTENDS Naturals
VARIABLES x, y
Init == x = 0 /\ y = 0
Next == \/ x < 4 /\ x' = x + 1 /\ UNCHANGED y
        \/ y < 3 /\ y' = y + 1 /\ UNCHANGED x
        \/ x = 4 /\ y = 3 /\ UNCHANGED <<x, y>>
TypeOK == x \in 0..4 /\ y \in 0..3
====
