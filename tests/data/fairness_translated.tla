---- MODULE m ----
EXTENDS Naturals
CONSTANT A1
\* BEGIN TRANSLATION
VARIABLES x, pc, own

vars == << x, pc, own >>

ProcSet == (A1)

Init == /\ x = 0
        /\ own = [self \in A1 |-> 0]
        /\ pc = [self \in ProcSet |-> "a1_wait"]

a1_wait(self) == /\ pc[self] = "a1_wait"
                 /\ x < 3
                 /\ \/ x > 1
                    \/ x = 0
                 /\ pc' = [pc EXCEPT ![self] = "a1_go"]
                 /\ UNCHANGED << x, own >>

a1_go(self) == /\ pc[self] = "a1_go"
               /\ own' = [own EXCEPT ![self] = 1]
               /\ x' = x + 1
               /\ pc' = [pc EXCEPT ![self] = "Done"]

A1Thread(self) == a1_wait(self) \/ a1_go(self)

Terminating == /\ \A self \in ProcSet: pc[self] = "Done"
               /\ UNCHANGED vars

Next == (\E self \in A1: A1Thread(self))
           \/ Terminating

Spec == /\ Init /\ [][Next]_vars
        /\ \A self \in A1 : WF_vars(A1Thread(self))

\* END TRANSLATION
AllDone == <>(\A t \in A1 : pc[t] = "Done")
SafetySpec == Init /\ [][Next]_vars
====
