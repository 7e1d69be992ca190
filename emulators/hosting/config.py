"""firebase.json's `hosting` section as Firebase Hosting applies it.

Only what this project's config uses and what a single-page app needs is modelled: `public`,
`ignore`, `redirects`, `rewrites` (to a `destination` or to a `function`), `headers`,
`cleanUrls` is not (it would change which URL a static file answers), nor `i18n` or Cloud Run
rewrites — a config that names them is refused at start rather than half-applied.

Patterns are Hosting's globs (`source`) or RE2 regular expressions (`regex`). The glob dialect
is that of the `glob`/minimatch family Hosting documents: `**` spans path segments (and, as a
whole trailing or leading segment, matches none), `*` and `?` stay within one segment, `{a,b}`
and `@(a|b)` are alternations.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_REGION = "us-central1"
_SUPPORTED_KEYS = frozenset(
    {"public", "ignore", "rewrites", "redirects", "headers", "site", "target", "predeploy"}
)


class HostingConfigError(ValueError):
    """firebase.json's hosting section names something this server does not apply."""


def glob_to_regex(glob: str) -> re.Pattern[str]:
    """A Hosting glob as an anchored regular expression on the URL path."""
    out: list[str] = []
    i = 0
    n = len(glob)
    while i < n:
        char = glob[i]
        if glob.startswith("/**/", i):
            out.append("/(?:.*/)?")
            i += 4
        elif glob.startswith("/**", i) and i + 3 == n:
            out.append("(?:/.*)?")
            i += 3
        elif glob.startswith("**/", i) and i == 0:
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "{":
            end = glob.index("}", i)
            options = glob[i + 1 : end].split(",")
            out.append("(?:" + "|".join(re.escape(o) for o in options) + ")")
            i = end + 1
        elif glob.startswith("@(", i):
            end = glob.index(")", i)
            options = glob[i + 2 : end].split("|")
            out.append("(?:" + "|".join(re.escape(o) for o in options) + ")")
            i = end + 1
        else:
            out.append(re.escape(char))
            i += 1
    return re.compile("^" + "".join(out) + "$")


def _pattern(entry: dict[str, Any], what: str) -> re.Pattern[str]:
    if "source" in entry:
        source = str(entry["source"])
        return glob_to_regex(source if source.startswith("/") else "/" + source)
    if "regex" in entry:
        return re.compile("^" + str(entry["regex"]) + "$")
    raise HostingConfigError(f"a hosting {what} needs a 'source' glob or a 'regex': {entry}")


@dataclass(frozen=True)
class Rewrite:
    pattern: re.Pattern[str]
    destination: str | None = None
    function: str | None = None
    region: str = DEFAULT_REGION

    def matches(self, path: str) -> bool:
        return self.pattern.match(path) is not None


@dataclass(frozen=True)
class Redirect:
    pattern: re.Pattern[str]
    destination: str
    status: int = 301


@dataclass(frozen=True)
class HeaderRule:
    pattern: re.Pattern[str]
    headers: tuple[tuple[str, str], ...]


def _rewrite(entry: dict[str, Any]) -> Rewrite:
    pattern = _pattern(entry, "rewrite")
    if "destination" in entry:
        return Rewrite(pattern, destination=str(entry["destination"]))
    function = entry.get("function")
    if isinstance(function, str):
        return Rewrite(pattern, function=function)
    if isinstance(function, dict) and "functionId" in function:
        region = str(function.get("region", DEFAULT_REGION))
        return Rewrite(pattern, function=str(function["functionId"]), region=region)
    raise HostingConfigError(f"unsupported hosting rewrite (destination or function): {entry}")


@dataclass(frozen=True)
class HostingConfig:
    public: Path
    ignore: tuple[re.Pattern[str], ...] = ()
    rewrites: tuple[Rewrite, ...] = ()
    redirects: tuple[Redirect, ...] = ()
    headers: tuple[HeaderRule, ...] = ()

    @classmethod
    def from_firebase_json(cls, path: Path) -> HostingConfig:
        """The single hosting site of `path` (a firebase.json); `public` relative to it."""
        document = json.loads(path.read_text(encoding="utf-8"))
        hosting = document.get("hosting")
        if isinstance(hosting, list):
            if len(hosting) != 1:
                raise HostingConfigError("firebase.json: exactly one hosting site is supported")
            hosting = hosting[0]
        if not isinstance(hosting, dict) or "public" not in hosting:
            raise HostingConfigError(f"{path}: no hosting section with a 'public' directory")
        return cls.from_section(hosting, path.parent)

    @classmethod
    def from_section(cls, hosting: dict[str, Any], base: Path) -> HostingConfig:
        unknown = sorted(set(hosting) - _SUPPORTED_KEYS)
        if unknown:
            raise HostingConfigError(f"hosting keys not applied by this server: {unknown}")
        return cls(
            public=(base / str(hosting["public"])).resolve(),
            ignore=tuple(_ignore_patterns(hosting.get("ignore", []))),
            rewrites=tuple(_rewrite(e) for e in hosting.get("rewrites", [])),
            redirects=tuple(
                Redirect(_pattern(e, "redirect"), str(e["destination"]), int(e.get("type", 301)))
                for e in hosting.get("redirects", [])
            ),
            headers=tuple(
                HeaderRule(
                    _pattern(e, "headers entry"),
                    tuple((str(h["key"]), str(h["value"])) for h in e.get("headers", [])),
                )
                for e in hosting.get("headers", [])
            ),
        )

    def rewrite_for(self, path: str) -> Rewrite | None:
        """The first rewrite whose pattern matches `path` (Hosting applies the first match)."""
        return next((r for r in self.rewrites if r.matches(path)), None)

    def redirect_for(self, path: str) -> Redirect | None:
        return next((r for r in self.redirects if r.pattern.match(path)), None)

    def headers_for(self, path: str) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for rule in self.headers:
            if rule.pattern.match(path):
                found.extend(rule.headers)
        return found

    def is_ignored(self, relative: str) -> bool:
        """Whether a file of `public` (path relative to it, no leading slash) is not deployed."""
        return any(p.match(relative) for p in self.ignore)

    def functions(self) -> set[str]:
        return {r.function for r in self.rewrites if r.function is not None}


def _ignore_patterns(globs: Iterable[str]) -> Iterable[re.Pattern[str]]:
    # Ignore globs are relative to `public` (firebase-tools matches them with minimatch on the
    # relative path, dot files included).
    for glob in globs:
        yield glob_to_regex(str(glob).lstrip("/"))
