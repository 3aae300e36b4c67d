---- MODULE Vals ----
\* Every kind of value TLC prints, including one that wraps over many lines.
EXTENDS Integers, Sequences, TLC
CONSTANTS M1, M2
VARIABLES f, g, big, nest, str, b, neg, mv, e, n
Init == /\ f = (1 :> "x" @@ 2 :> "y")
        /\ g = [i \in {M1, M2} |-> i = M1]
        /\ big = [i \in 1..40 |-> {i, i + 1000}]
        /\ nest = <<[a |-> {<<1, "a">>}, b |-> <<>>], {{}, {1}}, [x \in {"u", "v"} |-> 0]>>
        /\ str = "he said \"hi\"\\ok"
        /\ b = TRUE
        /\ neg = -5
        /\ mv = M1
        /\ e = [x \in {} |-> 1]
        /\ n = 0
Next == n < 1 /\ n' = n + 1 /\ f' = (3 :> 4 @@ 5 :> 6) /\ b' = FALSE
        /\ UNCHANGED <<g, big, nest, str, neg, mv, e>>
NotDone == n = 0
InitBad == b = FALSE
====
