---- MODULE Live ----
\* A lasso: x cycles 0 -> 1 -> 2 -> 0 and never reaches 5.
EXTENDS Naturals
VARIABLES x
Init == x = 0
Next == x' = (x + 1) % 3
Spec == Init /\ [][Next]_x /\ WF_x(Next)
Reach == <>(x = 5)
====
