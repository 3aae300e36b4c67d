---- MODULE PcalErr ----
\* A PlusCal syntax error on line 9: "then" is missing after the if condition.
EXTENDS Naturals

(* --algorithm PcalErr
variables x = 0;
begin
  a:
    if x > 0 x := 1 end if;
end algorithm *)
====
