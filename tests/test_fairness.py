"""gen.fairness reads a translation into cheap fairness (docs/termination.md, "Cheap
fairness"): the leading guards of each label, the variables a thread writes at its own
index, FairSpec; anything it does not read gives None, never a guess.  The runs that show
FairSpec is Spec, and the fallback when it is not, are in test_fairness_java.py."""
from __future__ import annotations

from pathlib import Path

from gen.fairness import cheap_fairness, with_cheap_fairness

TRANSLATED = (Path(__file__).parent / "data" / "fairness_translated.tla").read_text()


def test_guards_blocked_moved_and_fair_spec_are_read_from_the_translation() -> None:
    block = cheap_fairness(TRANSLATED, [("A1", "A1Thread")])
    assert block is not None
    # both leading guards, the second over two lines, alignment kept
    assert "Guard_a1_wait(self) ==\n  /\\ x < 3\n  /\\ \\/ x > 1\n     \\/ x = 0\n" in block
    assert 'Blocked_A1(self) ==\n  \\/ pc[self] = "Done"\n' \
           '  \\/ pc[self] = "a1_wait" /\\ ~Guard_a1_wait(self)\n' in block
    assert "Guard_a1_go" not in block  # a1_go starts with a step, not a guard
    assert "Moved_A1(self) ==\n  \\/ pc'[self] # pc[self]\n  \\/ own'[self] # own[self]\n" in block
    assert "x'[self]" not in block  # x is shared: not the thread's own
    assert ("/\\ \\A self \\in A1 : ([]<>Blocked_A1(self) \\/ []<><<Moved_A1(self)>>_vars)"
            in block)
    assert "Blocked_A1(self) <=> ~ENABLED <<A1Thread(self)>>_vars" in block
    assert "MovedExact == [][(\\A self \\in A1 : Moved_A1(self) <=> <<A1Thread(self)>>_vars)]_vars" \
        in block


def test_the_definitions_go_before_the_closing_line() -> None:
    text = with_cheap_fairness(TRANSLATED, [("A1", "A1Thread")])
    assert text is not None and text.startswith(TRANSLATED[:TRANSLATED.rindex("====")])
    assert text.rstrip().endswith("====")
    assert text.index("FairSpec ==") > text.index("\\* END TRANSLATION")


def test_what_it_does_not_read_gives_none() -> None:
    procs = [("A1", "A1Thread")]
    strong = TRANSLATED.replace("WF_vars(A1Thread(self))", "SF_vars(A1Thread(self))")
    assert cheap_fairness(strong, procs) is None  # strong fairness: not WF
    assert cheap_fairness(TRANSLATED, [("A1", "B1Thread")]) is None  # another process's WF
    odd = TRANSLATED.replace('a1_wait(self) == /\\ pc[self] = "a1_wait"',
                             'a1_wait(self) == /\\ x = 0 /\\ pc[self] = "a1_wait"')
    assert cheap_fairness(odd, procs) is None  # no pc test first
    assert cheap_fairness(TRANSLATED.replace("Spec == ", "Spek == "), procs) is None
    assert with_cheap_fairness(TRANSLATED.replace("====", "----"), procs) is None
