---- MODULE Stut ----
\* No fairness: the behaviour may stutter at x = 0 forever (run with -deadlock);
\* without -deadlock, x = 2 is a deadlock.
EXTENDS Naturals
VARIABLES x
Init == x = 0
Next == x < 2 /\ x' = x + 1
Spec == Init /\ [][Next]_x
Reach == <>(x = 2)
====
