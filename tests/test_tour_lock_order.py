"""The tour's "lock-order" scene (chapter 7) shows what it claims."""

from __future__ import annotations

import pytest

from threadkit import _tour, diagnostics

pytestmark = pytest.mark.timeout(60)


def test_lock_order_scene(capsys: pytest.CaptureFixture[str]) -> None:
    _tour.run(_tour.select(["lock-order"]))
    out = " ".join(capsys.readouterr().out.split())
    stdlib, threadkit_part = out.split("stdlib:", 1)[1].split("threadkit:", 1)
    assert "no error, no warning" in stdlib
    assert "acquire(timeout=0.2) gives up (False) and lets audit through (True)" in stdlib
    assert "'lock order inversion (a potential deadlock)' at once" in threadkit_part
    assert "audit() at line" in threadkit_part
    assert "transfer() at line" in threadkit_part
    assert "gets DeadlockError: deadlock: '" in threadkit_part
    assert "(a cycle: none of them can go on); the other goes on" in threadkit_part
    assert not diagnostics.enabled()  # the scene turned its detector off again
    assert diagnostics.inversions() == []
