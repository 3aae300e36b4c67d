---- MODULE Oom ----
\* One huge initial state; run with a tiny heap (-Xmx24m) to make TLC run out of memory.
EXTENDS Naturals
VARIABLES x
Init == x = [i \in 1..3000000 |-> i]
Next == UNCHANGED x
====
