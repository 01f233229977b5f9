"""The Files panel's vendor questions come from descriptor hooks: a made-up vendor with
remote ids and a queue gets them with no edit to controllers/ or ui/."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from dictation_app.controllers.jobs_controller import vendor_job_actions
from dictation_app.jobs.model import Job, JobOptions, JobState
from dictation_app.jobs.service import JobService
from dictation_app.services import registry
from dictation_app.services.descriptor import JobQueue, ServiceDescriptor
from dictation_app.services.descriptors.bahasakita_upload import PRIORITY_KEY, UUID_KEY


def job(provider: str, state: JobState = JobState.PROCESSING, **remote: str) -> Job:
    return Job(id=1, file=Path("memo.wav"), provider=provider, options=JobOptions(),
               state=state, progress=None, created=0.0, updated=0.0, remote=dict(remote))


def never_built(config: object) -> JobService:
    raise AssertionError("not built in these tests")


async def raise_ticket(service: JobService, ticket: str, priority: str) -> Mapping[str, str]:
    return {"urgent": "yes"}


ACME = ServiceDescriptor(
    id="acme", label="Acme", build=never_built,
    remote_id=lambda j: j.remote.get("ticket"),
    queue=JobQueue(can_raise=lambda j: j.remote.get("urgent") != "yes",
                   raise_priority=raise_ticket))
PLAIN = ServiceDescriptor(id="plain", label="Plain", build=never_built)


def test_a_new_vendor_with_remote_ids_and_a_queue_needs_only_its_descriptor() -> None:
    actions = vendor_job_actions((ACME, PLAIN))
    assert actions.remote_id(job("acme", ticket="T-7")) == "T-7"
    assert actions.offers_priority(job("acme", ticket="T-7"))
    assert actions.can_prioritise(job("acme", ticket="T-7"))
    assert not actions.can_prioritise(job("acme", ticket="T-7", urgent="yes"))
    assert ACME.queue is not None
    assert asyncio.run(ACME.queue.raise_priority(None, "T-7", "high")) == {  # type: ignore[arg-type]
        "urgent": "yes"}


def test_a_vendor_without_hooks_offers_nothing() -> None:
    actions = vendor_job_actions((ACME, PLAIN))
    plain = job("plain", ticket="T-7")
    assert actions.remote_id(plain) is None
    assert not actions.offers_priority(plain) and not actions.can_prioritise(plain)
    unknown = job("gone", ticket="T-7")  # a vendor no longer in the registry
    assert actions.remote_id(unknown) is None and not actions.offers_priority(unknown)


def test_of_the_registered_vendors_only_bahasakita_has_ids_and_a_queue() -> None:
    actions = vendor_job_actions(registry.DESCRIPTORS)
    upload = job("bahasakita", **{UUID_KEY: "abc"})
    assert actions.remote_id(upload) == "abc" and actions.offers_priority(upload)
    assert actions.can_prioritise(upload)
    assert not actions.can_prioritise(job("bahasakita", **{UUID_KEY: "abc",
                                                         PRIORITY_KEY: "high"}))
    for other in ("local", "botlhale", "nevisa"):
        assert actions.remote_id(job(other, **{UUID_KEY: "abc"})) is None
        assert not actions.offers_priority(job(other))
