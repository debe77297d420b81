"""fewer_threads: one intra-op thread inside the block for small work, the old setting restored afterwards."""
from __future__ import annotations

import threading

import pytest
import torch

from kanwidget import KAN, create_dataset
from kanwidget.core.numerics.threads import SMALL_ELEMENTS, fewer_threads


@pytest.fixture
def two_threads():
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(old)


def test_small_work_runs_single_threaded_and_restores(two_threads) -> None:
    with fewer_threads(1000):
        assert torch.get_num_threads() == 1
        with fewer_threads(10):                      # nested: still one, and the outer exit restores
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_large_work_keeps_the_threads(two_threads) -> None:
    with fewer_threads(SMALL_ELEMENTS + 1):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == 2


def test_an_error_inside_restores(two_threads) -> None:
    with pytest.raises(ZeroDivisionError):
        with fewer_threads(1):
            1 / 0
    assert torch.get_num_threads() == 2


def test_overlapping_blocks_in_two_threads_each_restore_their_own(two_threads) -> None:
    inside, leave = threading.Event(), threading.Event()
    seen: list[int] = []

    def other() -> None:
        before = torch.get_num_threads()
        with fewer_threads(1):
            seen.append(torch.get_num_threads())
            inside.set()
            leave.wait(5)
        seen.append(torch.get_num_threads() - before)

    t = threading.Thread(target=other)
    with fewer_threads(1):
        t.start()
        assert inside.wait(5)
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2        # this thread's setting is back while the other still runs
    leave.set()
    t.join(5)
    assert seen == [1, 0]
    assert torch.get_num_threads() == 2


def test_a_small_fit_leaves_the_setting_as_it_was(two_threads) -> None:
    ds = create_dataset(lambda x: x[:, :1] ** 2, n_var=1, train_num=50, test_num=20, seed=0)
    KAN(width=[1, 2, 1], grid=3, seed=0).fit(ds, steps=2, verbose=False)
    assert torch.get_num_threads() == 2
