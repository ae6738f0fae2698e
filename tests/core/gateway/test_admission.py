"""The admission gate alone: per-tier concurrency in arrival order, and the KV pool."""

import asyncio

import pytest

from tierdeck.core.gateway.admission import EngineGate, TooBig


def run(coro):
    return asyncio.run(coro)


def test_two_in_flight_third_waits_in_order():
    async def main():
        g = EngineGate(limits={"haiku": 2, "sonnet": 1})
        a = g.try_admit("haiku", 0)
        b = g.try_admit("haiku", 0)
        assert a and b and g.try_admit("haiku", 0) is None
        c = g.enqueue("haiku", 0)
        d = g.enqueue("haiku", 0)
        s = g.enqueue("sonnet", 0)  # another tier is not held back by haiku's limit
        assert s.admitted and not c.admitted and g.queued("haiku") == 2
        g.release(a)
        assert c.admitted and not d.admitted
        await g.wait(c)
        g.release(b)
        assert d.admitted and g.busy() == 3

    run(main())


def test_pool_never_overflows_and_big_is_not_starved():
    async def main():
        g = EngineGate(limits={"t": 8}, pool=100)
        a = g.try_admit("t", 60)
        assert a and g.try_admit("t", 50) is None
        big = g.enqueue("t", 90)
        small = g.enqueue("t", 10)  # would fit now, but the big one came first
        assert not big.admitted and not small.admitted
        g.release(a)
        assert big.admitted and small.admitted and g.used == 100
        with pytest.raises(TooBig):
            g.try_admit("t", 101)

    run(main())


def test_cancelled_waiter_leaves_the_queue():
    async def main():
        g = EngineGate(limits={"t": 1})
        a = g.try_admit("t", 0)
        w = g.enqueue("t", 0)
        task = asyncio.ensure_future(g.wait(w))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert g.queued() == 0
        g.release(a)
        assert g.busy() == 0

    run(main())
