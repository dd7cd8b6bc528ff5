"""The agenda (the heap under the event and task queues) and the environment built on it.

Both agendas must pop what ``heapq`` on tuples pops, in the same order, and keep their entries in
the layout ``heapq`` keeps; the environment must process a SimPy model's events in the order
SimPy's own environment does, with SimPy's behaviour at the edges (``run`` until a time or an
event, stopping part-way through an event's callbacks and resuming, a failed event)."""

from __future__ import annotations

import heapq
import random

import pytest
import simpy

from careos_sim.model.agenda import Agenda, TupleAgenda, new_agenda
from careos_sim.model.environment import Environment
from careos_sim.native import BUILD

AGENDAS = (Agenda, TupleAgenda)


def _keys(rng: random.Random) -> tuple[float, float]:
    # few distinct values, so that ties on the first and on both keys are common
    return float(rng.randrange(6)), float(rng.randrange(3))


@pytest.mark.parametrize("kind", AGENDAS)
def test_an_agenda_pops_and_lays_out_as_heapq_on_tuples(kind):
    rng = random.Random(5)
    agenda, tuples = kind(), []
    for seq in range(4000):
        if tuples and rng.random() < 0.45:
            want = heapq.heappop(tuples)
            got = agenda.pop()
            assert (got, agenda.first, agenda.extra) == (want[3], want[0], want[4])
        else:
            first, second = _keys(rng)
            entry = (first, second, seq, f"item{seq}", seq * 2)
            heapq.heappush(tuples, entry)
            agenda.push(first, second, seq, entry[3], entry[4])
        assert len(agenda) == len(tuples)
        assert agenda.peek() == (tuples[0][0] if tuples else float("inf"))
        assert agenda.items() == [t[3] for t in tuples]  # the same layout, entry for entry


@pytest.mark.parametrize("kind", AGENDAS)
def test_remove_if_takes_out_what_matches_in_key_order_and_keeps_the_order_of_the_rest(kind):
    rng = random.Random(9)
    agenda, tuples = kind(), []
    for seq in range(500):
        first, second = _keys(rng)
        heapq.heappush(tuples, (first, second, seq, seq, None))
        agenda.push(first, second, seq, seq, None)
    assert agenda.remove_if(lambda item: False) == [] and len(agenda) == 500
    removed = agenda.remove_if(lambda item: item % 3 == 0)
    assert removed == [t[3] for t in sorted(tuples) if t[3] % 3 == 0]
    rest = sorted(t for t in tuples if t[3] % 3)
    assert [agenda.pop() for _ in range(len(agenda))] == [t[3] for t in rest]


def test_the_build_chooses_its_agenda():
    assert type(new_agenda()) is (Agenda if BUILD.compiled else TupleAgenda)


# --------------------------------------------------------------------------- the environment


def _model(env, log: list, seed: int) -> None:
    """Processes with timeouts (many at the same instants), events succeeded by others, URGENT
    interrupts and conditions: ``log`` gets (time, what) in the order they happen."""
    rng = random.Random(seed)
    signals = [env.event() for _ in range(20)]

    def worker(i: int):
        for k in range(30):
            yield env.timeout(rng.choice((0, 0.5, 1.0, 1.0, 2.0)))
            log.append((env.now, "w", i, k))
            if k % 7 == 0 and not signals[(i + k) % 20].triggered:
                signals[(i + k) % 20].succeed((i, k))

    def waiter(j: int):
        try:
            value = yield signals[j] | env.timeout(40.0)
            log.append((env.now, "s", j, sorted(str(v) for v in value.values())))
            yield env.all_of([env.timeout(1.0), env.timeout(0.5)])
            log.append((env.now, "a", j))
        except simpy.Interrupt as stop:
            log.append((env.now, "i", j, stop.cause))

    waiters = [env.process(waiter(j)) for j in range(20)]
    for i in range(12):
        env.process(worker(i))

    def interrupter():
        yield env.timeout(3.0)
        for w in waiters[::4]:
            if w.is_alive:
                w.interrupt("stop")
    env.process(interrupter())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_environment_processes_a_simpy_model_in_simpys_order(seed):
    logs = []
    for env in (simpy.Environment(), Environment()):
        log: list = []
        _model(env, log, seed)
        env.run(until=25.0)
        assert env.now == 25.0
        env.run()  # and on to the end
        logs.append(log)
    assert logs[0] == logs[1] and len(logs[0]) > 300


@pytest.mark.parametrize("seed", [4, 5])
def test_events_scheduled_far_ahead_come_up_in_simpys_order(seed):
    """Delays from none to a week, many equal (ties broken by priority and event id), far events
    scheduled before and after nearer ones: SimPy's order."""
    rng = random.Random(seed)
    delays = (0.0, 1.0, 360.0, 361.0, 500.0, 500.0, 2000.0, 7 * 1440.0)
    logs = []
    for env in (simpy.Environment(), Environment()):
        log: list = []
        rng.seed(seed)

        def proc(i: int):
            for k in range(25):
                yield env.timeout(rng.choice(delays))
                log.append((env.now, i, k))
                if k % 5 == 0:  # an urgent event at the same instant, and a far one behind it
                    signal = env.event()
                    signal.callbacks.append(lambda e, i=i, k=k: log.append((env.now, "signal", i, k)))
                    signal.succeed()
                    env.timeout(rng.choice(delays[2:])).callbacks.append(
                        lambda e, i=i, k=k: log.append((env.now, "far", i, k)))

        for i in range(15):
            env.process(proc(i))
        env.run(until=20 * 1440.0)
        env.run()
        logs.append(log)
    assert logs[0] == logs[1] and len(logs[0]) > 400


def test_call_later_takes_the_place_a_timeout_would_take():
    """Callbacks and timeouts made at the same instants, for the same times, interleave as timeouts alone do."""
    orders = []
    for use_call_later in (False, True):
        env, order = Environment(), []
        for i in range(30):
            delay = (0.0, 1.0, 2.0, 361.0, 1080.0)[i % 5]
            if use_call_later and i % 2:
                env.call_later(delay, lambda i=i: order.append((env.now, i)))
            else:
                env.timeout(delay).callbacks.append(lambda event, i=i: order.append((env.now, i)))
        env.run()
        orders.append(order)
    assert orders[0] == orders[1] and [t for t, _ in orders[0]] == sorted(t for t, _ in orders[0])
    with pytest.raises(ValueError, match="Negative delay"):
        Environment().call_later(-1.0, lambda: None)


def test_run_until_an_event_step_peek_and_resuming_a_stopped_run():
    env = Environment()
    assert env.peek() == float("inf") and env.now == 0.0 and isinstance(env.now, float)
    done = env.timeout(5.0, value="five")
    seen: list = []
    done.callbacks.append(lambda e: seen.append(("first", env.now)))
    env.timeout(5.0).callbacks.append(lambda e: seen.append(("other", env.now)))
    assert env.peek() == 5.0
    # the run stops at the event, before its later callbacks; they run when it resumes
    until = env.timeout(5.0)
    until.callbacks.append(lambda e: seen.append(("after stop", env.now)))
    assert env.run(until=done) == "five" and seen == [("first", 5.0)]
    assert env.run(until=done) == "five"  # already processed: its value at once
    env.run()
    assert seen == [("first", 5.0), ("other", 5.0), ("after stop", 5.0)]
    with pytest.raises(ValueError, match="must be greater"):
        env.run(until=5.0)
    with pytest.raises(simpy.core.EmptySchedule):
        env.step()
    never = env.event()
    with pytest.raises(RuntimeError, match="No scheduled events left"):
        env.run(until=never)


def test_a_failed_event_nobody_defused_crashes_the_run_as_in_simpy():
    for env in (simpy.Environment(), Environment()):
        failing = env.event()
        failing.fail(KeyError("lost"))
        with pytest.raises(KeyError, match="lost"):
            env.run()
        defused = env.event()
        defused.fail(KeyError("handled"))
        defused.defused = True
        env.run()  # a defused failure does not crash


def test_callbacks_left_when_a_run_stops_run_first_when_it_resumes_as_in_simpy():
    seen_by = []
    for env in (simpy.Environment(), Environment()):
        seen: list = []
        target = env.timeout(1.0)
        env.timeout(1.0).callbacks.append(lambda e: seen.append(("same time", env.now)))
        # after run() has put its stop on the target, something adds a callback behind it
        env.timeout(0.5).callbacks.append(lambda e: target.callbacks.append(lambda e: seen.append(("late", env.now))))
        env.run(until=target)
        assert seen == []
        env.run()
        seen_by.append(seen)
    assert seen_by[0] == seen_by[1] == [("late", 1.0), ("same time", 1.0)]
