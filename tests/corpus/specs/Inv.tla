---- MODULE Inv ----
\* Invariant Small is violated after two steps; values of every kind in the trace.
EXTENDS Naturals, Sequences
VARIABLES x, s, r, q
Init == x = 0 /\ s = {} /\ r = [a |-> 1, b |-> "q"] /\ q = <<>>
Next == x < 3 /\ x' = x + 1 /\ s' = s \cup {x} /\ r' = [r EXCEPT !.a = x] /\ q' = Append(q, x)
Small == x < 2
====
