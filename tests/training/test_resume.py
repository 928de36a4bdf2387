"""A run stopped anywhere resumes to exactly the weights of a run never stopped.

A step applied twice (or lost) would show as a difference from the reference:
batches follow (seed, epoch) and the momentum is checkpointed, so the only
way to match is to add every sync's delta exactly once.
"""

import pytest

from loader.client import Couch, Unreachable
from loader.runs import Run, RunError
from loader.session import Session, Settings
from loader.sync import NeuronStore, SyncError

SETTINGS = {"dataset": "xor", "epochs": 30, "sync_every": 3, "batch_size": 2}
CRASH_AT = 4


class Crash(Exception):
    """Stands for the process dying at that point."""


def trained(couch, layered_network, read_weights) -> dict:
    layered_network(couch, [2, 8, 1])
    Session.start(couch, Settings(**SETTINGS)).train()
    return read_weights(couch)


def crash_on_call(monkeypatch, owner, name, number, before=None):
    """Make the `number`-th call of owner.name die; `before` runs first."""
    original = getattr(owner, name)
    calls = []

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == number:
            if before:
                before(original, *args, **kwargs)
            raise Crash
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, dying)


def interrupt_after(epoch: int):
    """An epoch callback that stops the run as Ctrl-C would, after `epoch`."""

    def interrupt(report):
        if report.epoch == epoch:
            raise KeyboardInterrupt

    return interrupt


def send_half(original, couch, docs):
    original(couch, docs[: len(docs) // 2])


def send_all(original, couch, docs):
    original(couch, docs)


CRASHES = {
    "before the checkpoint": (Run, "save", None),
    "after the checkpoint": (NeuronStore, "write", None),
    "with half the neurons written": (Couch, "bulk_docs", send_half),
    "with the reply lost": (Couch, "bulk_docs", send_all),
}


@pytest.mark.parametrize("where", CRASHES)
def test_a_crashed_run_resumes_without_a_step_twice(
    where, new_couch, layered_network, read_weights, monkeypatch
):
    reference = trained(new_couch(), layered_network, read_weights)
    couch = new_couch()
    layered_network(couch, [2, 8, 1])
    session = Session.start(couch, Settings(**SETTINGS))
    owner, name, before = CRASHES[where]
    crash_on_call(monkeypatch, owner, name, CRASH_AT, before)

    with pytest.raises(Crash):
        session.train()
    monkeypatch.undo()
    assert Run.load(couch, session.run.id).doc["state"] == "running"
    assert read_weights(couch) != reference

    result = Session.resume(couch, session.run.id).train()

    assert read_weights(couch) == pytest.approx(reference, abs=1e-12)
    doc = Run.load(couch, session.run.id).doc
    assert doc["state"] == "finished"
    assert doc["resumed"] == 1
    assert [entry["epoch"] for entry in doc["epochs"]] == list(range(1, 31))
    assert result.epochs == 30


def test_an_interrupted_run_resumes_from_its_last_sync(
    new_couch, layered_network, read_weights
):
    reference = trained(new_couch(), layered_network, read_weights)
    couch = new_couch()
    layered_network(couch, [2, 8, 1])
    session = Session.start(couch, Settings(**SETTINGS))

    with pytest.raises(KeyboardInterrupt):
        session.train(interrupt_after(10))
    doc = Run.load(couch, session.run.id).doc
    assert doc["state"] == "interrupted"
    assert len(doc["epochs"]) == 9  # epoch 10 was not synced yet

    Session.resume(couch, session.run.id).train()

    assert read_weights(couch) == pytest.approx(reference, abs=1e-12)


def test_a_finished_run_trains_further_only_when_asked(
    couch, layered_network, read_weights
):
    layered_network(couch, [2, 8, 1])
    session = Session.start(couch, Settings(**SETTINGS))
    session.train()
    with pytest.raises(Exception, match="finished its 30 epochs"):
        Session.resume(couch, session.run.id)

    result = Session.resume(couch, session.run.id, epochs=32).train()

    assert result.epochs == 32
    assert couch.get("output_0")["trained"][session.run.id] == session.sync + 2


def test_a_run_taken_over_stops_its_old_writer(couch, layered_network):
    layered_network(couch, [2, 8, 1])
    first = Session.start(couch, Settings(**SETTINGS))
    Session.resume(couch, first.run.id)

    with pytest.raises(RunError, match="taken over by another process"):
        first.train()


def test_resume_refuses_to_shorten_a_run(couch, layered_network):
    layered_network(couch, [2, 8, 1])
    session = Session.start(couch, Settings(**SETTINGS))

    with pytest.raises(KeyboardInterrupt):
        session.train(interrupt_after(6))
    with pytest.raises(RunError, match="has done 4 epochs already"):
        Session.resume(couch, session.run.id, epochs=3)


def test_a_failure_is_recorded_and_a_lost_connection_resumes(
    new_couch, layered_network, read_weights, monkeypatch
):
    reference = trained(new_couch(), layered_network, read_weights)
    couch = new_couch()
    layered_network(couch, [2, 8, 1])
    session = Session.start(couch, Settings(**SETTINGS))
    refused = SyncError("neuron 'output_0' changed its inputs while training")
    crash_on_call(monkeypatch, NeuronStore, "write", CRASH_AT, before=raiser(refused))

    with pytest.raises(SyncError):
        session.train()
    monkeypatch.undo()
    doc = Run.load(couch, session.run.id).doc
    assert doc["state"] == "failed" and "changed its inputs" in doc["error"]

    lost = Unreachable(0, "unreachable", "connection refused")
    session = Session.resume(couch, session.run.id)
    crash_on_call(monkeypatch, Couch, "request", 3, before=raiser(lost))
    monkeypatch.setattr(Couch, "request", always_after(Couch.request, lost))
    with pytest.raises(Unreachable):
        session.train()
    monkeypatch.undo()
    assert Run.load(couch, session.run.id).doc["state"] == "running"

    Session.resume(couch, session.run.id).train()
    assert read_weights(couch) == pytest.approx(reference, abs=1e-12)


def raiser(error):
    def fail(*args, **kwargs):
        raise error

    return fail


def always_after(dying, error):
    """Once `dying` has raised, every later call fails too: the server is gone."""
    gone = []

    def request(*args, **kwargs):
        if gone:
            raise error
        try:
            return dying(*args, **kwargs)
        except Exception:
            gone.append(1)
            raise

    return request
