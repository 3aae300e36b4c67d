---- MODULE Mutex ----
\* A broken lock in PlusCal: test and set are separate steps, so two processes
\* can both enter the critical section.
EXTENDS Naturals, FiniteSets

(* --algorithm Mutex
variables locked = FALSE, inside = {};

process proc \in {1, 2}
begin
  test:
    await ~locked;
  set:
    locked := TRUE;
  enter:
    inside := inside \cup {self};
  leave:
    inside := inside \ {self};
    locked := FALSE;
end process;
end algorithm *)

MutualExclusion == Cardinality(inside) <= 1
====
