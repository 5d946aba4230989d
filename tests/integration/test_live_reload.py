"""Live policy reload through the running gateway: the next message, broken edits, in flight.

Two gateways, each on its own copy of the default policies: one reloaded by
`decisions.reload()` (what SIGHUP calls), one by its file watch (0.2 s).
Each test starts from the unedited copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.policy.loader import Policy
from tests.fixtures.documents import message, to_bytes
from tests.support.live import (
    Client,
    Live,
    Outcome,
    arrivals,
    copy_policies,
    header_block,
    live_gateway,
    live_settings,
    metric,
    rule_hits,
    send,
    started_sink,
)

SENDER = "van.a@thuathienhue.gov.vn"
RECIPIENT = "phong.b@sotttt.thuathienhue.gov.vn"
EDIT = "zz-reload-drill.yaml"
DRILL_RULE = """
rules:
  - name: live-reload-drill
    description: added by the reload tests; refuses the drill messages
    when:
      header: {name: Subject, matches: 'QUARTERLY-DRILL'}
    action: reject
    message_vi: "Diễn tập: thư bị từ chối."
    message_en: "Drill: message refused."
"""
BROKEN_RULE = """
rules:
  - name: live-reload-broken
    when:
      header: {name: Subject, matches: 'QUARTERLY-DRILL'}
    action: explode
"""
REFUSED = (550, "5.7.1 Dien tap: thu bi tu choi.\n5.7.1 Drill: message refused.")
DRILL = to_bytes(message(sender=SENDER, to=RECIPIENT, subject="QUARTERLY-DRILL 4",
                         body="Diễn tập chuyển thư.\n"))


def start(tmp: Path, watch_interval: float, watch: bool) -> Iterator[Live]:
    policies = copy_policies(tmp / "policies")
    with started_sink() as sink:
        settings = live_settings(sink.address, tmp, policies=policies,
                                 watch_interval=watch_interval, watch=watch)
        with live_gateway(sink, settings) as live:
            yield live


@pytest.fixture(scope="module")
def manual(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    yield from start(tmp_path_factory.mktemp("reload-manual"), watch_interval=0.2, watch=False)


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    yield from start(tmp_path_factory.mktemp("reload-watched"), watch_interval=0.2, watch=True)


def edit(live: Live) -> Path:
    return Path(live.settings.policies) / EDIT


def policy_of(live: Live) -> Policy:
    assert live.gateway.decisions is not None
    return live.gateway.decisions.policies.current


def generation(live: Live) -> int:
    assert live.gateway.decisions is not None
    return live.gateway.decisions.policies.loaded.generation


def reload(live: Live) -> None:
    """What SIGHUP does."""
    assert live.gateway.decisions is not None
    live.gateway.decisions.reload()


@pytest.fixture
def pristine(manual: Live) -> Iterator[Live]:
    """The manual gateway on the unedited policy; the edit is undone afterwards."""
    yield manual
    edit(manual).unlink(missing_ok=True)
    reload(manual)


def drill(live: Live) -> Outcome:
    return send(live, SENDER, [RECIPIENT], DRILL)


def policy_header(live: Live, before: int) -> str:
    """The X-TTH-Policy header of the one message relayed since `before`."""
    (got,) = arrivals(live.sink, before, 1)
    policy_line = [line for line in header_block(got).splitlines()
                   if line.startswith("X-TTH-Policy: ")]
    assert len(policy_line) == 1
    return policy_line[0]


def test_reload_changes_the_outcome_of_the_next_message(pristine: Live) -> None:
    live = pristine
    before = len(live.sink.messages)
    old = policy_of(live).generation.short
    assert drill(live).final[0] == 250
    assert f"policy={old}" in policy_header(live, before)

    generation_before = generation(live)
    edit(live).write_text(DRILL_RULE, "utf-8")
    reload(live)
    assert generation(live) == generation_before + 1
    assert metric("tth_policy_generation") == generation_before + 1
    assert policy_of(live).generation.short != old
    hits = rule_hits("live-reload-drill", "enforce", "reject")
    before = len(live.sink.messages)
    assert drill(live).final == REFUSED
    assert len(live.sink.messages) == before
    assert live.last_audit()["rules"][0]["name"] == "live-reload-drill"
    assert rule_hits("live-reload-drill", "enforce", "reject") == hits + 1

    edit(live).unlink()
    reload(live)
    before = len(live.sink.messages)
    assert drill(live).final[0] == 250
    assert f"policy={old}" in policy_header(live, before)


def test_a_saved_edit_is_not_live_until_reloaded_when_watch_is_off(pristine: Live) -> None:
    """`analysis.watch` is off by default: a half-finished edit must not go live."""
    live = pristine
    generation_before = generation(live)
    edit(live).write_text(DRILL_RULE, "utf-8")
    time.sleep(1.5)  # many watch intervals (0.2 s) of the manual gateway
    assert generation(live) == generation_before
    assert drill(live).final[0] == 250
    reload(live)
    assert drill(live).final == REFUSED


def test_broken_edit_keeps_the_last_good_policy_and_is_counted(pristine: Live) -> None:
    live = pristine
    edit(live).write_text(DRILL_RULE, "utf-8")
    reload(live)
    good = generation(live)
    errors_before = metric("tth_policy_reload_errors_total")

    edit(live).write_text(BROKEN_RULE, "utf-8")
    assert live.gateway.decisions is not None
    errors = live.gateway.decisions.policies.reload()
    assert len(errors) == 1
    assert errors[0].startswith(f"{edit(live)}:6:5: rule 'live-reload-broken': action: ")
    assert metric("tth_policy_reload_errors_total") == errors_before + 1
    assert generation(live) == good
    assert drill(live).final == REFUSED


def test_transaction_started_before_a_reload_finishes_under_its_policy(pristine: Live) -> None:
    live = pristine
    old = policy_of(live).generation.short
    before = len(live.sink.messages)
    with Client(live.address) as client:
        assert client.mail(SENDER)[0] == 250
        assert client.rcpt(RECIPIENT)[0] == 250
        edit(live).write_text(DRILL_RULE, "utf-8")
        reload(live)
        assert policy_of(live).generation.short != old
        assert client.data(DRILL)[0] == 250
    assert f"policy={old}" in policy_header(live, before)
    assert drill(live).final == REFUSED

    with Client(live.address) as client:
        assert client.mail(SENDER)[0] == 250
        assert client.rcpt(RECIPIENT)[0] == 250
        edit(live).unlink()
        reload(live)
        assert client.data(DRILL) == REFUSED
    before = len(live.sink.messages)
    assert drill(live).final[0] == 250
    assert "policy=" in policy_header(live, before)


def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def test_file_watch_reloads_and_keeps_the_last_good_policy(watched: Live) -> None:
    live = watched
    path = edit(live)
    start_generation = generation(live)
    path.write_text(DRILL_RULE, "utf-8")
    assert wait_until(lambda: generation(live) == start_generation + 1)
    assert drill(live).final == REFUSED

    errors_before = metric("tth_policy_reload_errors_total")
    path.write_text(BROKEN_RULE, "utf-8")
    assert wait_until(lambda: metric("tth_policy_reload_errors_total") == errors_before + 1)
    time.sleep(0.6)
    assert metric("tth_policy_reload_errors_total") == errors_before + 1
    assert generation(live) == start_generation + 1
    assert drill(live).final == REFUSED

    path.unlink()
    assert wait_until(lambda: generation(live) == start_generation + 2)
    before = len(live.sink.messages)
    assert drill(live).final[0] == 250
    assert "policy=" in policy_header(live, before)
