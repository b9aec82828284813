from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from pigeon.domain import transitions
from pigeon.domain.transitions import (
    CANCELABLE_MESSAGE_STATUSES,
    MESSAGE_TRANSITIONS,
    TERMINAL_MESSAGE_STATUSES,
    MessageStatus,
)
from pigeon.errors import IllegalTransition

M = MessageStatus
statuses = st.sampled_from(list(MessageStatus))


def test_every_status_has_a_row() -> None:
    assert set(MESSAGE_TRANSITIONS) == set(MessageStatus)


def test_design_paths_are_allowed() -> None:
    happy = [M.QUEUED, M.RELEASED, M.CLAIMED, M.SENT, M.DELIVERED, M.READ]
    for current, target in itertools.pairwise(happy):
        transitions.check(current, target)
    transitions.check(M.CLAIMED, M.QUEUED)  # retry
    transitions.check(M.CLAIMED, M.FAILED)
    transitions.check(M.CLAIMED, M.UNKNOWN)  # lease expired


def test_terminal_and_cancelable_sets() -> None:
    assert {M.READ, M.CANCELED, M.SUPPRESSED, M.EXPIRED} == TERMINAL_MESSAGE_STATUSES
    assert {M.QUEUED, M.RELEASED, M.UNKNOWN} == CANCELABLE_MESSAGE_STATUSES
    assert M.CLAIMED not in CANCELABLE_MESSAGE_STATUSES  # a device may be sending it


@given(statuses, statuses)
def test_check_agrees_with_the_table(current: MessageStatus, target: MessageStatus) -> None:
    if target in MESSAGE_TRANSITIONS[current]:
        transitions.check(current, target)
    else:
        with pytest.raises(IllegalTransition):
            transitions.check(current, target)


@given(statuses)
def test_sources_of_inverts_the_table(target: MessageStatus) -> None:
    for source in transitions.sources_of(target):
        assert transitions.can_move(source, target)


class MessageLifecycle(RuleBasedStateMachine):
    """Random walks through the machine never leave it and never revive a terminal state."""

    def __init__(self) -> None:
        super().__init__()
        self.status = M.QUEUED
        self.history = [M.QUEUED]

    @rule(wanted=statuses)
    def attempt(self, wanted: MessageStatus) -> None:
        if transitions.can_move(self.status, wanted):
            transitions.check(self.status, wanted)
            self.status = wanted
            self.history.append(wanted)
        else:
            with pytest.raises(IllegalTransition):
                transitions.check(self.status, wanted)

    @rule(wanted=statuses)
    def late_report(self, wanted: MessageStatus) -> None:
        """A report of the message's last claim holder, which exists only after a claim."""
        if M.CLAIMED in self.history and transitions.can_move(self.status, wanted, report=True):
            transitions.check(self.status, wanted, report=True)
            self.status = wanted
            self.history.append(wanted)

    @invariant()
    def terminal_is_final(self) -> None:
        for earlier in self.history[:-1]:
            assert earlier not in TERMINAL_MESSAGE_STATUSES

    @invariant()
    def sent_requires_a_claim(self) -> None:
        if M.SENT in self.history:
            first_sent = self.history.index(M.SENT)
            assert M.CLAIMED in self.history[:first_sent]


TestMessageLifecycle = MessageLifecycle.TestCase


def test_only_a_report_may_record_a_late_send() -> None:
    """A requeued or released message reaches `sent` by its last holder's report alone."""
    for current in (M.QUEUED, M.RELEASED, M.FAILED):
        with pytest.raises(IllegalTransition):
            transitions.check(current, M.SENT)
        transitions.check(current, M.SENT, report=True)
    for current in (M.CANCELED, M.READ):
        with pytest.raises(IllegalTransition):
            transitions.check(current, M.SENT, report=True)
