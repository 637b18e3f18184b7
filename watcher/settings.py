"""Config and rules files -> validated, frozen settings, or every problem with its file and line.

Validation collects all problems before failing, so ``watcher check`` shows a user everything to
fix in one go. Shapes are checked by pydantic; what pydantic cannot know (queries, aliases,
channel names, environment variables, apprise URLs) is checked here.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from watcher.durations import parse_duration
from watcher.errors import ConfigError, Problem, QuerySyntaxError
from watcher.models import DeliveryPolicy, Digest, FeedSpec, Noise, QuietHours, StoryPolicy
from watcher.noise import parse_digest, parse_quiet_hours
from watcher.rules.ruleset import (
    AliasTable,
    CompiledRule,
    RuleSet,
    RuleSpec,
    compile_aliases,
    compile_rule,
    cycle_collection_paused,
    same_table,
)
from watcher.yamlfile import LineDict, LineList, line_of, load

DEFAULT_CONFIG = Path("config/watcher.yaml")
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _seconds(value: Any) -> float:
    return parse_duration(value)


Duration = Annotated[float, BeforeValidator(_seconds)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)

    @model_validator(mode="before")
    @classmethod
    def _empty_sections(cls, data: Any) -> Any:
        """A section left with only commented-out entries (``channels:``) means empty."""
        if isinstance(data, dict):
            for name, fld in cls.model_fields.items():
                if data.get(name, 0) is None and isinstance(fld.default, list | dict):
                    data = {**data, name: type(fld.default)()}
        return data


class _Defaults(_Strict):
    interval: Duration = 300.0
    backlog: Literal["alert", "skip"] = "alert"
    host_concurrency: int = Field(default=2, ge=1, le=100)
    timeout: Duration = Field(default=30.0, gt=0)
    alert_after: Duration = Field(default=6 * 3600.0, gt=0)


def _str_list(value: Any) -> Any:
    """A single string where a list is expected means a list of one: ``lang: es``."""
    return [value] if isinstance(value, str) else value


StrList = Annotated[list[str], BeforeValidator(_str_list)]


class _Feed(_Strict):
    url: str = Field(min_length=1)
    name: str | None = None
    interval: Duration | None = None
    backlog: Literal["alert", "skip"] | None = None
    tags: StrList = []
    enabled: bool = True


class _Delivery(_Strict):
    max_attempts: int = Field(default=DeliveryPolicy.max_attempts, ge=1)
    permanent_attempts: int = Field(default=DeliveryPolicy.permanent_attempts, ge=1)
    lease: Duration = Field(default=DeliveryPolicy.lease, gt=0)


class _TemplateFiles(_Strict):
    alert: str | None = None  # one article
    batch: str | None = None  # a digest, or an hour's alerts over a rule's limit


class _Templates(_Strict):
    """Template overrides by channel kind (see ``notify.render``)."""

    slack: _TemplateFiles | None = None
    email: _TemplateFiles | None = None
    text: _TemplateFiles | None = None  # every service but Slack and email


def _hold(value: Any) -> float:
    """A duration, or zero (``0``, ``0s``, ``0m``): no hold."""
    if isinstance(value, int | float | str) and re.fullmatch(
        r"0+(\.0*)?[smhdw]?", str(value).strip().lower()
    ):
        return 0.0
    return parse_duration(value)


class _Stories(_Strict):
    enabled: bool = StoryPolicy.enabled
    window: Duration = StoryPolicy.window
    hold: Annotated[float, BeforeValidator(_hold)] = StoryPolicy.hold


class _Channel(_Strict):
    """A channel written as a mapping: its URL and the noise control for every alert to it."""

    url: str | None = None
    digest: str | None = None
    max_per_hour: int | None = Field(default=None, ge=1)
    quiet_hours: str | None = None


class _Config(_Strict):
    database: str = "sqlite:///watcher.db"
    defaults: _Defaults = _Defaults()
    delivery: _Delivery = _Delivery()
    stories: _Stories = _Stories()
    timezone: str = "UTC"
    feeds: list[Any] = []  # each validated on its own, so one bad feed hides no other problem
    channels: dict[str, Any] = {}  # name -> URL, or a _Channel mapping; each checked on its own
    rules: str = "rules/"
    operator_channel: str | None = None
    templates: _Templates = _Templates()


class _Rule(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    title: str | None = None
    query: str = Field(min_length=1)
    notify: StrList = []
    enabled: bool = True
    lang: StrList = []
    digest: str | None = None
    max_per_hour: int | None = Field(default=None, ge=1)
    quiet_hours: str | None = None
    severity: Literal["normal", "urgent"] = "normal"


class _Alias(_Strict):
    spellings: StrList
    exclude: StrList = []


class _RulesFile(_Strict):
    # an alias is a list of spellings, or {spellings: [...], exclude: [...]}
    aliases: dict[str, StrList | _Alias] = {}
    rules: list[Any] = []  # each validated on its own


@dataclass(frozen=True)
class Settings:
    """Everything the daemon needs, validated. ``channels`` hold secrets: never log them."""

    config_path: Path
    database_url: str
    feeds: tuple[FeedSpec, ...]
    channels: Mapping[str, str]
    rules: RuleSet
    rules_path: Path | None = None
    rule_files: tuple[Path, ...] = field(default=())
    host_concurrency: int = 2  # requests in flight per host
    timeout: float = 30.0  # seconds for a whole fetch
    alert_after: float = 6 * 3600.0  # seconds a feed may fail before the operator is alerted
    operator_channel: str | None = None  # the channel told about feeds failing, silent, gone
    delivery: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    timezone: tzinfo = UTC  # the clock of digests, quiet hours and hourly limits
    # kind (slack, email, text) -> role (alert, batch) -> the user's template replacing ours
    templates: Mapping[str, Mapping[str, Path]] = field(default_factory=dict)
    template_files: tuple[Path, ...] = ()  # watched for changes, like the rules files
    stories: StoryPolicy = field(default_factory=StoryPolicy)  # story grouping
    # channel name -> the noise control its config entry sets (only channels that set some)
    channel_noise: Mapping[str, Noise] = field(default_factory=dict)


def config_path_from(cli_value: str | None) -> Path:
    """``--config``, else ``$WATCHER_CONFIG``, else ``./config/watcher.yaml``."""
    return Path(cli_value or os.environ.get("WATCHER_CONFIG") or DEFAULT_CONFIG)


def _message(err: Mapping[str, Any], allowed: Callable[[tuple[Any, ...]], list[str]]) -> str:
    loc = tuple(err["loc"])
    where = ".".join(str(p) for p in loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        name = str(loc[-1])
        close = difflib.get_close_matches(name, allowed(loc[:-1]), n=1)
        hint = (
            f'; did you mean "{close[0]}"?'
            if close
            else f"; allowed: {', '.join(allowed(loc[:-1]))}"
        )
        return f'unknown key "{name}"{hint}'
    if kind == "missing":
        return f'"{where}" is required'
    msg = str(err["msg"])
    if kind in ("dict_type", "model_type"):
        return f"{where}: expected a mapping of keys to values (key: value)"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind == "string_pattern_mismatch" and loc[-1] == "id":
        msg = "a rule id is letters, digits, and . _ : - (no spaces)"
    return f"{where}: {msg}"


def _model_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed at ``loc`` in ``model`` (for 'did you mean' hints)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fld = current.model_fields.get(part) if hasattr(current, "model_fields") else None
        if fld is None:
            return []
        ann = fld.annotation
        args = getattr(ann, "__args__", ())
        current = next(
            (a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None
        )
        if current is None:
            return []
    return list(current.model_fields) if current is not None else []


def _problems(
    exc: ValidationError, model: type[BaseModel], data: Any, display: str, fallback: int
) -> list[Problem]:
    return [
        Problem(
            display,
            line_of(data, tuple(err["loc"]), fallback),
            _message(err, lambda p: _model_keys(model, p)),
        )
        for err in exc.errors()
    ]


def _validate(
    model: type[BaseModel], data: Any, display: str, line: int = 1, shape: str = ""
) -> tuple[Any, list[Problem]]:
    """Validate ``data``, reporting every invalid key.

    Returns the model built from the keys that are valid (defaults for the rest), or None when
    that is impossible (not a mapping, or a required key missing).
    """
    if data is None:
        data = LineDict()
        data.line, data.key_lines = line, {}
    if not isinstance(data, dict):
        what = "a list" if isinstance(data, list) else f"the value {str(data)[:40]!r}"
        what += f"; write it as {shape}" if shape else ""
        return None, [
            Problem(
                display,
                getattr(data, "line", line),
                f"expected a mapping of keys to values (key: value) here, not {what}",
            )
        ]
    fallback = getattr(data, "line", line)
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        problems = _problems(exc, model, data, display, fallback)
        bad = {err["loc"][0] for err in exc.errors() if err["loc"]}
    # Go on with the valid keys (defaults for the rest), so later checks still run.
    try:
        return model.model_validate({k: v for k, v in data.items() if k not in bad}), problems
    except ValidationError:
        return None, problems


def _items(data: Any, key: str) -> list[tuple[Any, int]]:
    """The items of the list at ``data[key]`` with their lines."""
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, LineList):
        return []
    return list(zip(items, items.item_lines, strict=True))


def _substitute_env(value: str, display: str, line: int, what: str, problems: list[Problem]) -> str:
    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in os.environ:
            problems.append(
                Problem(display, line, f"{what}: environment variable {name} is not set")
            )
            return ""
        return os.environ[name]

    return _ENV_RE.sub(repl, value)


def _database_url(raw: str, base: Path, display: str, line: int, problems: list[Problem]) -> str:
    value = os.environ.get("WATCHER_DATABASE_URL") or _substitute_env(
        raw, display, line, "database", problems
    )
    try:
        url = make_url(value)
    except ArgumentError:
        problems.append(
            Problem(
                display,
                line,
                "database: not a SQLAlchemy URL; "
                "write e.g. sqlite:///watcher.db or postgresql://host/db",
            )
        )
        return value
    if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
        path = Path(url.database)
        if not path.is_absolute():
            url = url.set(database=str((base / path).resolve()))
    return url.render_as_string(hide_password=False)


def _feed_specs(
    cfg: _Config, data: Any, base: Path, display: str, problems: list[Problem]
) -> tuple[FeedSpec, ...]:
    specs: list[FeedSpec] = []
    seen: dict[str, int] = {}
    for raw, item_line in _items(data, "feeds"):
        feed, found = _validate(_Feed, raw, display, item_line, "- url: https://...")
        problems.extend(found)
        if feed is None:
            continue
        line = line_of(raw, ("url",), item_line)
        url = feed.url.strip()
        if re.match(r"^[a-z][a-z0-9+.-]*://", url, re.IGNORECASE):
            if not url.lower().startswith(("http://", "https://")):
                problems.append(
                    Problem(
                        display,
                        line,
                        f"feed url {url!r}: only http(s) URLs or file paths are supported",
                    )
                )
                continue
        else:
            path = (base / url).resolve()
            if not path.is_file():
                problems.append(Problem(display, line, f"feed file not found: {path}"))
                continue
            url = str(path)
        if url in seen:
            problems.append(
                Problem(display, line, f"feed {url} is listed twice (first on line {seen[url]})")
            )
            continue
        seen[url] = line
        specs.append(
            FeedSpec(
                url=url,
                name=feed.name,
                interval=feed.interval or cfg.defaults.interval,
                backlog=feed.backlog or cfg.defaults.backlog,
                tags=tuple(feed.tags),
                enabled=feed.enabled,
            )
        )
    return tuple(specs)


def _channel_noise(
    name: str, raw: Any, line: int, display: str, problems: list[Problem]
) -> tuple[str | None, int, Noise | None]:
    """A channel's URL (before ``${ENV}``) with its line, and its noise control (None when it
    sets none). Never quotes the value it was given: a URL may hold a secret."""
    if raw is None or isinstance(raw, str):
        return raw, line, None
    if not isinstance(raw, dict):
        problems.append(
            Problem(
                display,
                line,
                f'channel "{name}": write an apprise URL, or a mapping: '
                "{url: ..., digest: ..., max_per_hour: ..., quiet_hours: ...}",
            )
        )
        return None, line, None
    model, found = _validate(_Channel, raw, display, line)
    problems.extend(Problem(p.path, p.line, f'channel "{name}": {p.message}') for p in found)
    if model is None:
        return None, line, None
    who = f'channel "{name}"'
    digest, quiet = _noise_values(
        model.digest, model.quiet_hours, raw, line, display, who, problems
    )
    noise = Noise(digest, model.max_per_hour, quiet)
    url_line = line_of(raw, ("url",), line)
    return model.url, url_line, (noise if noise != Noise() else None)


def _channels(
    cfg: _Config,
    data: Any,
    display: str,
    problems: list[Problem],
    check_url: Callable[[str], str | None],
) -> tuple[dict[str, str], dict[str, Noise]]:
    """Each channel's URL (``${ENV}`` substituted, checked by apprise) and noise control."""
    channels: dict[str, str] = {}
    noises: dict[str, Noise] = {}
    for name, entry in cfg.channels.items():
        line = line_of(data, ("channels", name))
        before = len(problems)
        raw, line, noise = _channel_noise(name, entry, line, display, problems)
        if len(problems) > before:
            continue
        if not raw:
            problems.append(Problem(display, line, f'channel "{name}": give it an apprise URL'))
            continue
        url = _substitute_env(raw, display, line, f'channel "{name}"', problems)
        if len(problems) > before:
            continue
        problem = check_url(url)
        if problem:
            problems.append(Problem(display, line, f'channel "{name}": {problem}'))
            continue
        channels[name] = url
        if noise is not None:
            noises[name] = noise
    return channels, noises


def _rule_files(target: Path) -> list[Path]:
    if target.is_dir():
        return sorted(p for p in target.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    return [target]


def _display(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@cycle_collection_paused()  # 100,000 rules compile in half the time
def _load_rules(
    target: Path, config_channels: set[str] | None, problems: list[Problem]
) -> tuple[RuleSet, tuple[Path, ...]]:
    files = _rule_files(target)
    parsed: list[tuple[Path, str, Any, _RulesFile]] = []
    alias_src: dict[str, tuple[str, int]] = {}
    aliases: dict[str, list[str]] = {}
    excludes: dict[str, list[str]] = {}
    for path in files:
        display = _display(path)
        data, found = load(path, display)
        problems.extend(found)
        if found and data is None:
            continue
        model, found = _validate(_RulesFile, data, display)
        problems.extend(found)
        if model is None:
            continue
        parsed.append((path, display, data, model))
        for name, definition in model.aliases.items():
            line = line_of(data, ("aliases", name))
            spellings = definition.spellings if isinstance(definition, _Alias) else definition
            if name in alias_src:
                first = alias_src[name]
                problems.append(
                    Problem(
                        display, line, f'alias "{name}" is already defined at {first[0]}:{first[1]}'
                    )
                )
                continue
            if not spellings:
                problems.append(Problem(display, line, f'alias "{name}" lists no spellings'))
            alias_src[name] = (display, line)
            aliases[name] = spellings
            if isinstance(definition, _Alias):
                excludes[name] = definition.exclude
    compiled_aliases = AliasTable()
    for name, spellings in aliases.items():
        try:
            compiled_aliases.update(compile_aliases({name: spellings}, excludes))
        except QuerySyntaxError as exc:
            display, line = alias_src[name]
            problems.append(Problem(display, line, str(exc)))
    # a reload with the same aliases reuses the last load's table (see ``same_table``)
    compiled_aliases = same_table(compiled_aliases)
    rules: list[CompiledRule] = []
    ids: dict[str, str] = {}
    for _path, display, data, _model in parsed:
        for item, line in _items(data, "rules"):
            raw, found = _validate(_Rule, item, display, line, "- id: ...  query: ...")
            problems.extend(found)
            if raw is None:
                continue
            if raw.id in ids:
                problems.append(
                    Problem(
                        display,
                        line,
                        f'rule id "{raw.id}" is already used at {ids[raw.id]}; ids must be unique',
                    )
                )
                continue
            ids[raw.id] = f"{display}:{line}"
            unknown = [c for c in raw.notify if c not in (config_channels or set())]
            if unknown and config_channels is not None:
                known = ", ".join(sorted(config_channels)) or "none are configured"
                problems.append(
                    Problem(
                        display,
                        line_of(item, ("notify",), line),
                        f'rule "{raw.id}": unknown channel '
                        f"{', '.join(repr(c) for c in unknown)} (channels: {known})",
                    )
                )
            langs = tuple(code.strip().lower() for code in raw.lang)
            noise = _noise(raw, item, line, display, problems)
            spec = RuleSpec(
                raw.id, raw.title or raw.id, raw.query, tuple(raw.notify), raw.enabled, langs, noise
            )
            try:
                rules.append(compile_rule(spec, compiled_aliases))
            except QuerySyntaxError as exc:
                problems.append(
                    Problem(
                        display,
                        line_of(item, ("query",), line),
                        f'rule "{raw.id}": query: {exc}',
                    )
                )
            except KeyError:
                pass  # an alias that failed to compile; already reported at its definition
    return RuleSet(rules), tuple(files)


def _noise_values(
    digest_text: str | None,
    quiet_text: str | None,
    item: Any,
    line: int,
    display: str,
    who: str,
    problems: list[Problem],
) -> tuple[Digest | None, QuietHours | None]:
    """A rule's or channel's digest and quiet hours; each unreadable one is a problem at its
    own line."""
    digest = quiet = None
    if digest_text is not None:
        try:
            digest = parse_digest(digest_text)
        except ValueError as exc:
            where = line_of(item, ("digest",), line)
            problems.append(Problem(display, where, f"{who}: digest: {exc}"))
    if quiet_text is not None:
        try:
            quiet = parse_quiet_hours(quiet_text)
        except ValueError as exc:
            where = line_of(item, ("quiet_hours",), line)
            problems.append(Problem(display, where, f"{who}: quiet_hours: {exc}"))
    return digest, quiet


def _noise(raw: _Rule, item: Any, line: int, display: str, problems: list[Problem]) -> Noise:
    """The rule's noise control."""
    who = f'rule "{raw.id}"'
    digest, quiet = _noise_values(raw.digest, raw.quiet_hours, item, line, display, who, problems)
    return Noise(digest, raw.max_per_hour, quiet, raw.severity == "urgent")


def _timezone(name: str, display: str, line: int, problems: list[Problem]) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(name, sorted(available_timezones()), n=1)
        hint = f'; did you mean "{close[0]}"?' if close else " (e.g. Europe/Madrid, UTC)"
        problems.append(
            Problem(display, line, f'timezone: "{name}" is not a known time zone name{hint}')
        )
        return UTC


# Checks one template override: (path, kind, role) -> (line or None, message) problems.
TemplateCheck = Callable[[Path, str, str], list[tuple[int | None, str]]]


def _templates(
    cfg: _Config,
    data: Any,
    base: Path,
    display: str,
    problems: list[Problem],
    check_template: TemplateCheck | None,
) -> dict[str, dict[str, Path]]:
    """The template overrides, each found and (by ``check_template``) compiled and tried; a
    problem inside a template is reported at its own file and line."""
    found: dict[str, dict[str, Path]] = {}
    for kind in ("slack", "email", "text"):
        files: _TemplateFiles | None = getattr(cfg.templates, kind)
        for role in ("alert", "batch"):
            value = getattr(files, role) if files is not None else None
            if not value:
                continue
            line = line_of(data, ("templates", kind, role))
            what = f"templates.{kind}.{role}"
            path = (base / value).resolve()
            if not path.is_file():
                problems.append(Problem(display, line, f"{what}: template file not found: {path}"))
                continue
            found_problems = check_template(path, kind, role) if check_template else []
            for at, message in found_problems:
                if at is None:
                    problems.append(Problem(display, line, f"{what}: {path}: {message}"))
                else:
                    problems.append(Problem(_display(path), at, f"{what}: {message}"))
            if not found_problems:
                found.setdefault(kind, {})[role] = path
    return found


def load_settings(
    config_path: Path,
    check_url: Callable[[str], str | None],
    check_template: TemplateCheck | None = None,
) -> Settings:
    """Load and validate the config and its rules; raise ``ConfigError`` with every problem.

    ``check_url`` says what is wrong with an apprise URL, or None, and ``check_template`` what
    is wrong with a template override; they are passed in so that this module does not depend
    on the notification layer (without ``check_template`` a template need only exist).
    """
    display = _display(config_path)
    base = config_path.resolve().parent
    data, problems = load(config_path, display)
    if data is None and problems:
        if problems[0].message == "file not found":
            problems = [
                Problem(
                    display, 1, "config file not found; pass --config PATH or set WATCHER_CONFIG"
                )
            ]
        raise ConfigError(problems)
    cfg, found = _validate(_Config, data, display)
    problems.extend(found)
    if cfg is None:
        raise ConfigError(problems)
    database = _database_url(cfg.database, base, display, line_of(data, ("database",)), problems)
    feeds = _feed_specs(cfg, data, base, display, problems)
    channels, channel_noise = _channels(cfg, data, display, problems, check_url)
    # Rules may name a channel whose URL has a problem: that is reported once, at the channel.
    raw_channels = data.get("channels") if isinstance(data, dict) else None
    names: set[str] | None = set(raw_channels) if isinstance(raw_channels, dict) else set()
    if found:  # e.g. "chanels:" misspelt: don't also flag every rule's channels as unknown
        names = None
    target = base / cfg.rules
    if target.exists():
        ruleset, files = _load_rules(target, names, problems)
    else:
        ruleset, files = RuleSet([]), ()
        problems.append(
            Problem(display, line_of(data, ("rules",)), f"rules path not found: {target}")
        )
    if cfg.operator_channel is not None and names is not None and cfg.operator_channel not in names:
        known = ", ".join(sorted(names)) or "none are configured"
        problems.append(
            Problem(
                display,
                line_of(data, ("operator_channel",)),
                f'operator_channel: no channel named "{cfg.operator_channel}" '
                f"(channels: {known}); name one of the channels above",
            )
        )
    timezone = _timezone(cfg.timezone, display, line_of(data, ("timezone",)), problems)
    templates = _templates(cfg, data, base, display, problems, check_template)
    if problems:
        raise ConfigError(problems)
    delivery = DeliveryPolicy(
        cfg.delivery.max_attempts, cfg.delivery.permanent_attempts, cfg.delivery.lease
    )
    return Settings(
        config_path.resolve(),
        database,
        feeds,
        channels,
        ruleset,
        base / cfg.rules,
        files,
        host_concurrency=cfg.defaults.host_concurrency,
        timeout=cfg.defaults.timeout,
        alert_after=cfg.defaults.alert_after,
        operator_channel=cfg.operator_channel,
        delivery=delivery,
        timezone=timezone,
        templates=templates,
        template_files=tuple(p for files in templates.values() for p in files.values()),
        stories=StoryPolicy(cfg.stories.enabled, cfg.stories.window, cfg.stories.hold),
        channel_noise=channel_noise,
    )


__all__ = ["Settings", "config_path_from", "load_settings"]
