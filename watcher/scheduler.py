"""The daemon: APScheduler runs one job per feed at its interval; a delivery task drains the
outbox; a watcher of the config files reloads rules and feeds without a restart.

Stopping (SIGTERM/SIGINT) pauses the scheduler, lets in-flight polls finish, makes a last
delivery pass, and returns: nothing that was fetched is left half-stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field
from datetime import UTC

import aiohttp
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from watcher.app import App, load, tune_rules
from watcher.errors import ConfigError
from watcher.fetcher import new_session
from watcher.health import HealthPolicy
from watcher.models import FeedSpec
from watcher.notify import Channels, deliver_due
from watcher.notify.deliver import (
    DeliveryReport,
    deliver_channel,
    deliver_operator_alerts,
    park_unconfigured,
)
from watcher.pipeline import Pipeline, PollReport, RoundWriter, parse_pool, utcnow
from watcher.settings import Settings

log = logging.getLogger(__name__)

DELIVER_EVERY = 10.0  # seconds between outbox passes when no poll has queued anything
MIN_DELIVER_WAIT = 0.2  # a due alert whose channel is busy must not spin the loop
RELOAD_CHECK_EVERY = 2.0
DRAIN_TIMEOUT = 60.0
POOL_FROM = 50  # ``run --once`` parses in a process pool when more feeds than this are due


@dataclass
class OnceReport:
    polls: list[PollReport] = field(default_factory=list)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)


def _signature(settings: Settings) -> tuple[tuple[str, int, int], ...]:
    """mtime and size of every file that shapes the settings, and the rules folder's listing."""
    paths = [settings.config_path, *settings.rule_files, *settings.template_files]
    if settings.rules_path is not None and settings.rules_path.is_dir():
        paths.extend(p for p in settings.rules_path.iterdir() if p.suffix in (".yaml", ".yml"))
    sig = []
    for p in sorted(set(paths)):
        try:
            st = p.stat()
            sig.append((str(p), st.st_mtime_ns, st.st_size))
        except OSError:
            sig.append((str(p), -1, -1))
    return tuple(sig)


class Daemon:
    def __init__(self, app: App) -> None:
        self.app = app
        self.settings = app.settings
        self.channels = app.channels
        self.pipeline = Pipeline(
            app.store,
            lambda: self.settings.rules,
            policy=lambda: HealthPolicy(alert_after=self.settings.alert_after),
            timezone=lambda: self.settings.timezone,
            stories=lambda: self.settings.stories,
            channel_noise=lambda: self.settings.channel_noise,
        )
        self.feed_ids: dict[str, int] = {}
        self.specs: dict[str, FeedSpec] = {}
        self._session: aiohttp.ClientSession | None = None
        self._writer: RoundWriter | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._kick = asyncio.Event()
        self._stopping = asyncio.Event()
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._signature = _signature(self.settings)

    # -- one-shot ------------------------------------------------------------------------------

    async def run_once(self) -> OnceReport:
        """Poll every feed that is due now, store what it finds, deliver alerts, return.

        A failure to reach a server is judged once every fetch is done, so that "is our
        network down?" is answered from every host of this round."""
        store = self.app.store
        states = await asyncio.to_thread(store.sync_feeds, self.settings.feeds)
        due = await asyncio.to_thread(store.due_feed_ids, utcnow())
        specs = [s for s in self.settings.feeds if s.enabled and states[s.url].id in due]
        report = OnceReport()
        with contextlib.ExitStack() as stack:
            # Worth its start-up (~0.5 s) only for a big round.
            pool = (
                stack.enter_context(parse_pool(self.pipeline.rules()))
                if len(specs) > POOL_FROM
                else None
            )
            async with self._new_session() as session:
                report.polls = await self.pipeline.poll_round(
                    session, [(s, states[s.url].id) for s in specs], pool=pool
                )
        report.delivery = await asyncio.to_thread(
            deliver_due,
            store,
            self.channels,
            utcnow(),
            self.settings.delivery,
            self.settings.operator_channel,
        )
        return report

    def _new_session(self) -> aiohttp.ClientSession:
        return new_session(self.settings.host_concurrency, self.settings.timeout)

    # -- daemon --------------------------------------------------------------------------------

    async def run_forever(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload()))
        self._session = self._new_session()
        # Polls that fall due together (all of them at start) commit in batches, each whole.
        self._writer = RoundWriter(self.app.store)
        await self._writer.__aenter__()
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        await self._apply_feeds(self.settings.feeds)
        self._scheduler.add_job(
            self._check_reload, IntervalTrigger(seconds=RELOAD_CHECK_EVERY), id="reload"
        )
        self._scheduler.start()
        deliverer = asyncio.create_task(self._delivery_loop())
        log.info(
            "watcher running: %d feeds, %d rules, %d channels; stop with Ctrl-C or SIGTERM",
            len(self.settings.feeds),
            len(self.settings.rules),
            len(self.settings.channels),
        )
        try:
            await self._stopping.wait()
        finally:
            log.info("stopping: finishing in-flight polls")
            self._scheduler.pause()
            try:
                await asyncio.wait_for(self._idle.wait(), DRAIN_TIMEOUT)
            except TimeoutError:
                log.warning("in-flight polls did not finish within %gs", DRAIN_TIMEOUT)
            await self._writer.__aexit__(None, None, None)  # commits what the polls left
            self._kick.set()
            await deliverer
            self._scheduler.shutdown(wait=False)
            await self._session.close()
            log.info("stopped")

    def stop(self) -> None:
        self._stopping.set()
        self._kick.set()

    async def _apply_feeds(self, specs: tuple[FeedSpec, ...]) -> None:
        """Add, reschedule or remove feed jobs to match the configured feeds."""
        assert self._scheduler is not None
        states = await asyncio.to_thread(self.app.store.sync_feeds, specs)
        now = utcnow()
        wanted = {s.url: s for s in specs if s.enabled}
        for url in list(self.specs):
            if url not in wanted:
                self._scheduler.remove_job(self._job_id(url))
                del self.specs[url], self.feed_ids[url]
                log.info("feed removed: %s", url)
        for url, spec in wanted.items():
            old = self.specs.get(url)
            self.specs[url] = spec
            self.feed_ids[url] = states[url].id
            if old is None:
                next_poll = states[url].next_poll
                first = max(now, next_poll) if next_poll else now
                self._scheduler.add_job(
                    self._poll,
                    IntervalTrigger(seconds=spec.interval),
                    args=[url],
                    id=self._job_id(url),
                    next_run_time=first,
                )
            elif old.interval != spec.interval:
                self._scheduler.reschedule_job(
                    self._job_id(url), trigger=IntervalTrigger(seconds=spec.interval)
                )

    @staticmethod
    def _job_id(url: str) -> str:
        return f"feed:{url}"

    async def _poll(self, url: str) -> None:
        if self._stopping.is_set() or url not in self.specs or self._session is None:
            return
        self._active += 1
        self._idle.clear()
        try:
            report = await self.pipeline.poll(
                self._session, self.specs[url], self.feed_ids[url], self._writer
            )
            if report.alerts or report.error:
                self._kick.set()  # news alerts, or perhaps an operator alert, to send
            if report.next_poll is not None and self._scheduler is not None:
                # The trigger only keeps the job alive; when it runs next is the feed's own
                # cadence (ttl, caching headers, Retry-After, backoff), decided by the poll.
                with contextlib.suppress(JobLookupError):  # removed by a reload meanwhile
                    self._scheduler.modify_job(self._job_id(url), next_run_time=report.next_poll)
        except Exception:
            log.exception("unexpected error polling %s; the next poll will try again", url)
        finally:
            self._active -= 1
            if self._active == 0:
                self._idle.set()

    async def _delivery_loop(self) -> None:
        """Each channel drains in its own task, so a slow or down receiver delays only itself;
        a channel still busy from the last pass is left to finish (never two senders). The
        operator alerts drain in a task of their own, so a slow operator channel delays no
        news alert and a slow news channel no operator alert."""
        tasks: dict[str, asyncio.Task[None]] = {}
        operator: asyncio.Task[None] | None = None
        wait = 0.0  # a first pass at once: alerts queued before a restart go out now
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), wait)
            self._kick.clear()
            try:
                await asyncio.to_thread(
                    park_unconfigured,
                    self.app.store,
                    self.channels,
                    utcnow(),
                    self.settings.delivery,
                )
            except Exception:
                log.exception("delivery pass failed; alerts stay queued for the next pass")
            for name in self.channels.names:
                task = tasks.get(name)
                if task is None or task.done():
                    tasks[name] = asyncio.create_task(self._deliver(name))
            if operator is None or operator.done():
                operator = asyncio.create_task(self._deliver_operator())
            if self._stopping.is_set():
                await asyncio.gather(*tasks.values(), operator)
                await self._deliver_operator()  # for alerts given up in the last pass
                return
            wait = await self._until_next_due()

    async def _until_next_due(self) -> float:
        """Seconds until the earliest queued alert is due (a retry, a lease that ends), capped
        at DELIVER_EVERY; a busy channel's own task picks up what is due meanwhile."""
        try:
            due = await asyncio.to_thread(self.app.store.next_attempt_at)
        except Exception:
            log.exception("cannot read the outbox; looking again in %gs", DELIVER_EVERY)
            return DELIVER_EVERY
        if due is None:
            return DELIVER_EVERY
        return min(DELIVER_EVERY, max(MIN_DELIVER_WAIT, (due - utcnow()).total_seconds()))

    async def _deliver(self, name: str) -> None:
        channels, policy = self.channels, self.settings.delivery
        try:
            report = await asyncio.to_thread(
                deliver_channel, self.app.store, channels, name, utcnow, policy
            )
        except Exception:
            log.exception("delivery to %s failed; its alerts stay queued for the next pass", name)
            return
        if (report.sent or report.gave_up) and not self._stopping.is_set():
            # more may have been queued while this channel was busy; an alert given up has
            # queued an operator alert
            self._kick.set()

    async def _deliver_operator(self) -> None:
        try:
            await asyncio.to_thread(
                deliver_operator_alerts,
                self.app.store,
                self.channels,
                utcnow(),
                self.settings.operator_channel,
                self.settings.delivery,
            )
        except Exception:
            log.exception("operator alert delivery failed; they stay queued for the next pass")

    # -- reload --------------------------------------------------------------------------------

    async def _check_reload(self) -> None:
        if _signature(self.settings) != self._signature:
            await self.reload()

    async def reload(self) -> None:
        """Load the changed config; on any problem keep running on the last good one."""
        self._signature = _signature(self.settings)
        try:
            new = await asyncio.to_thread(load, self.settings.config_path)
            await asyncio.to_thread(tune_rules, new, self.app.store)
            channels = Channels(new.channels, new.templates)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("%s", problem)
            log.error(
                "config not reloaded: fix the problems above; still running on the last "
                "good config (%d rules)",
                len(self.settings.rules),
            )
            return
        if new.database_url != self.settings.database_url:
            log.warning("database changed in the config: restart watcher to use it")
        if (new.host_concurrency, new.timeout) != (
            self.settings.host_concurrency,
            self.settings.timeout,
        ):
            log.warning("host_concurrency or timeout changed: restart watcher to apply them")
        self.settings = new
        self.channels = channels
        self._signature = _signature(new)
        await self._apply_feeds(new.feeds)
        log.info(
            "config reloaded: %d feeds, %d rules, %d channels",
            len(new.feeds),
            len(new.rules),
            len(new.channels),
        )
        self._kick.set()
