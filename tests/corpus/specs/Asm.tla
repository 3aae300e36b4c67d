---- MODULE Asm ----
\* ASSUME N > 3 is false for N = 2.
EXTENDS Naturals
CONSTANT N
ASSUME N > 3
VARIABLES x
Init == x = 0
Next == UNCHANGED x
====
