"""Checks request and response bodies against Discord's OpenAPI spec and its documented limits."""

from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).with_name("openapi.json")
SPEC_URI = "urn:discord-openapi"

# Fields discord.py legitimately sends that the spec does not list (strict mode ignores them).
KNOWN_EXTRAS = (
    "nsfw on application command bodies",
    "tts in UPDATE_MESSAGE callback data",
    "flags (always 0) in every embed (discord.Embed.to_dict)",
    "type (always 11) in forum post bodies and tts in their message (ForumChannel.create_thread)",
)

_SNOWFLAKE_INT: dict[str, Any] = {"type": "integer", "minimum": 0}


def _rewrite(node: Any, *, strict: bool) -> Any:
    if isinstance(node, list):
        return [_rewrite(item, strict=strict) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _rewrite(value, strict=strict) for key, value in node.items()}
    if out.get("format") == "snowflake":
        # The spec types snowflakes as strings; discord.py sends them as JSON integers.
        return {"anyOf": [out, _SNOWFLAKE_INT]}
    if (
        strict
        and "properties" in out
        and "additionalProperties" not in out
        and "unevaluatedProperties" not in out
    ):
        out["unevaluatedProperties"] = False
    return out


@functools.cache
def load_spec() -> dict[str, Any]:
    """The spec as shipped (loaded once per process)."""
    with SPEC_PATH.open(encoding="utf-8") as fh:
        spec: dict[str, Any] = json.load(fh)
    return spec


@functools.cache
def _registry(strict: bool) -> Registry[Any]:
    spec = load_spec()
    # Path-level schemas (inline request bodies) need the same adjustments as components.
    adjusted = {
        "paths": _rewrite(spec["paths"], strict=strict),
        "components": _rewrite(spec["components"], strict=strict),
    }
    # Field errors of a 400 Invalid Form Body carry string codes ("BASE_TYPE_MAX_LENGTH") on
    # real Discord, where the spec types Error.code as an integer.
    adjusted["components"]["schemas"]["Error"]["properties"]["code"]["type"] = ["integer", "string"]
    resource = Resource.from_contents(adjusted, default_specification=DRAFT202012)
    return Registry().with_resource(SPEC_URI, resource)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@functools.cache
def _path_patterns() -> list[tuple[re.Pattern[str], str]]:
    patterns = []
    for template in load_spec()["paths"]:
        regex = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        patterns.append((re.compile(regex), template))
    # Literal segments win over parameters: /messages/pins before /messages/{message_id}.
    patterns.sort(key=lambda item: item[1].count("{"))
    return patterns


def spec_template(path: str) -> str | None:
    """The spec's path template for a concrete path (``/api/v10`` prefix optional)."""
    path = re.sub(r"^/api/v\d+", "", path.split("?", 1)[0])
    for pattern, template in _path_patterns():
        if pattern.match(path):
            return template
    return None


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _message(error: ValidationError) -> str:
    value = error.validator_value
    instance = error.instance
    if error.validator in ("maxLength", "minLength") and isinstance(instance, str):
        return f"string of length {len(instance)} violates {error.validator} {value}"
    if error.validator in ("maxItems", "minItems") and isinstance(instance, list):
        return f"{len(instance)} items violate {error.validator} {value}"
    if error.validator == "type":
        return f"{_short(instance)} is not of type {value!r}"
    if error.validator in ("enum", "const"):
        return f"{_short(instance)} is not one of {_short(value, 120)}"
    if error.validator in ("maximum", "minimum"):
        return f"{_short(instance)} violates {error.validator} {value}"
    message = error.message
    return message if len(message) <= 300 else message[:297] + "..."


def _is_type_mismatch(errors: list[ValidationError]) -> bool:
    # A oneOf alternative whose "type" discriminator differs, or whose JSON type differs
    # (e.g. the "null" branch of an optional object), is not the one the sender meant.
    return any(
        (list(e.relative_path) == ["type"] and e.validator in ("enum", "const"))
        or (not e.relative_path and e.validator == "type")
        for e in errors
    )


def _leaf(error: ValidationError) -> ValidationError:
    """The most specific cause of an anyOf/oneOf failure: the closest alternative's first error."""
    while error.context:
        groups: dict[Any, list[ValidationError]] = defaultdict(list)
        for sub in error.context:
            groups[sub.relative_schema_path[0] if sub.relative_schema_path else None].append(sub)
        plausible = [g for g in groups.values() if not _is_type_mismatch(g)] or list(
            groups.values()
        )
        closest = min(plausible, key=len)
        # A direct error (e.g. a missing field) says more than a nested union failing.
        error = min(closest, key=lambda e: (bool(e.context), len(e.relative_path)))
    return error


def _pointer(error: ValidationError) -> str:
    return "/" + "/".join(_escape(str(p)) for p in error.absolute_path)


def _without_embed_flags(body: dict[str, Any]) -> dict[str, Any]:
    embeds = body.get("embeds")
    if not isinstance(embeds, list):
        return body
    stripped = [
        {k: v for k, v in e.items() if k != "flags"} if isinstance(e, dict) else e for e in embeds
    ]
    return {**body, "embeds": stripped}


def _strip_known_extras(template: str, body: Any) -> Any:
    """Drop the fields discord.py legitimately sends that the spec does not list."""
    if template.endswith("/commands") or template.endswith("/commands/{command_id}"):
        commands = body if isinstance(body, list) else [body]
        stripped = [
            {k: v for k, v in c.items() if k != "nsfw"} if isinstance(c, dict) else c
            for c in commands
        ]
        return stripped if isinstance(body, list) else stripped[0]
    if not isinstance(body, dict):
        return body
    if template == "/channels/{channel_id}/threads" and isinstance(body.get("message"), dict):
        forum_post = {k: v for k, v in body.items() if k != "type"}
        message = {k: v for k, v in body["message"].items() if k != "tts"}
        return {**forum_post, "message": _without_embed_flags(message)}
    if template.endswith("/callback") and isinstance(body.get("data"), dict):
        data = _without_embed_flags(body["data"])
        if body.get("type") in (6, 7):
            data = {k: v for k, v in data.items() if k != "tts"}
        return {**body, "data": data}
    return _without_embed_flags(body)


_VALIDATORS: dict[tuple[str, str, str | None, bool], Draft202012Validator | None] = {}


class SpecValidator:
    """Validators compiled lazily and cached per (method, route template, status)."""

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        # Shared by every simulator of the process: compiling is the expensive part.
        self._cache = _VALIDATORS

    def _operation(self, method: str, template: str) -> dict[str, Any] | None:
        item = load_spec()["paths"].get(template)
        if item is None:
            return None
        op = item.get(method.lower())
        return op if isinstance(op, dict) else None

    def _validator(
        self, method: str, template: str, status: str | None, strict: bool
    ) -> Draft202012Validator | None:
        key = (method, template, status, strict)
        if key in self._cache:
            return self._cache[key]
        validator = None
        op = self._operation(method, template)
        pointer: str | None = None
        if op is not None:
            base = f"/paths/{_escape(template)}/{method.lower()}"
            if status is None:
                if "application/json" in op.get("requestBody", {}).get("content", {}):
                    pointer = f"{base}/requestBody/content/application~1json/schema"
            else:
                responses = op.get("responses", {})
                code = status if status in responses else f"{status[0]}XX"
                response = responses.get(code)
                if response is not None:
                    if "$ref" in response:
                        base = response["$ref"].lstrip("#")
                        response = load_spec()["components"]["responses"][base.rsplit("/", 1)[1]]
                    else:
                        base = f"{base}/responses/{code}"
                    if "application/json" in (response.get("content") or {}):
                        pointer = f"{base}/content/application~1json/schema"
        if pointer is not None:
            validator = Draft202012Validator(
                {"$ref": f"{SPEC_URI}#{pointer}"}, registry=_registry(strict)
            )
        self._cache[key] = validator
        return validator

    def _errors(self, validator: Draft202012Validator, body: Any) -> Iterator[ValidationError]:
        yield from validator.iter_errors(body)

    def validate_request(self, method: str, template: str, path: str, body: Any) -> list[str]:
        """Readable violations of a request body (an empty list when it conforms)."""
        if self._operation(method, template) is None:
            return [f"{method} {path}: not an operation of the Discord API spec"]
        validator = self._validator(method, template, None, self.strict)
        if validator is None or body is None:
            return []
        if self.strict:
            body = _strip_known_extras(template, body)
        return [
            f"{method} {path} request {_pointer(leaf)}: {_message(leaf)}"
            for leaf in (_leaf(e) for e in self._errors(validator, body))
        ]

    def validate_response(
        self, method: str, template: str, path: str, status: int, body: Any
    ) -> list[str]:
        """Readable violations of one of the simulator's own answers."""
        validator = self._validator(method, template, str(status), False)
        if validator is None or body is None:
            return []
        return [
            f"{method} {path} response {status} {_pointer(leaf)}: {_message(leaf)}"
            for leaf in (_leaf(e) for e in self._errors(validator, body))
        ]


# -- Discord's documented limits (checked even where the spec also has them) -------------------

Issue = tuple[str, str]  # (json pointer, message)


def _text(value: Any) -> str:
    # Wrong types are the spec validator's business; limits only measure strings.
    return value if isinstance(value, str) else ""


def _too_long(value: Any, limit: int, pointer: str, what: str) -> Iterable[Issue]:
    if isinstance(value, str) and len(value) > limit:
        yield pointer, f"{what} is {len(value)} characters (limit {limit})"


def embed_issues(embeds: Any, base: str = "/embeds") -> list[Issue]:
    issues: list[Issue] = []
    if not isinstance(embeds, list):
        return issues
    if len(embeds) > 10:
        issues.append((base, f"{len(embeds)} embeds (limit 10)"))
    total = 0
    for i, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            continue
        at = f"{base}/{i}"
        title, description = _text(embed.get("title")), _text(embed.get("description"))
        issues += _too_long(title, 256, f"{at}/title", "embed title")
        issues += _too_long(description, 4096, f"{at}/description", "embed description")
        total += len(title) + len(description)
        fields = embed.get("fields") or []
        if len(fields) > 25:
            issues.append((f"{at}/fields", f"{len(fields)} embed fields (limit 25)"))
        for j, fld in enumerate(fields):
            if not isinstance(fld, dict):
                continue
            name, value = _text(fld.get("name")), _text(fld.get("value"))
            issues += _too_long(name, 256, f"{at}/fields/{j}/name", "field name")
            issues += _too_long(value, 1024, f"{at}/fields/{j}/value", "field value")
            total += len(name) + len(value)
        footer = (
            _text((embed.get("footer") or {}).get("text"))
            if isinstance(embed.get("footer"), dict)
            else ""
        )
        issues += _too_long(footer, 2048, f"{at}/footer/text", "footer text")
        author = (
            _text((embed.get("author") or {}).get("name"))
            if isinstance(embed.get("author"), dict)
            else ""
        )
        issues += _too_long(author, 256, f"{at}/author/name", "author name")
        total += len(footer) + len(author)
    if total > 6000:
        issues.append((base, f"embeds total {total} characters (limit 6000)"))
    return issues


def _component_issues(component: dict[str, Any], at: str, seen: set[str]) -> list[Issue]:
    issues: list[Issue] = []
    custom_id = component.get("custom_id")
    if isinstance(custom_id, str):
        issues += _too_long(custom_id, 100, f"{at}/custom_id", "custom_id")
        if custom_id in seen:
            issues.append((f"{at}/custom_id", f"duplicate custom_id {custom_id!r}"))
        seen.add(custom_id)
    ctype = component.get("type")
    if ctype == 2:
        issues += _too_long(component.get("label"), 80, f"{at}/label", "button label")
        is_link = component.get("style") == 5
        if is_link and not component.get("url"):
            issues.append((at, "link button without url"))
        if not is_link and component.get("style") != 6 and not custom_id:
            issues.append((at, "button without custom_id"))
    elif ctype in (3, 5, 6, 7, 8):
        issues += _too_long(component.get("placeholder"), 150, f"{at}/placeholder", "placeholder")
        options = component.get("options") or []
        if len(options) > 25:
            issues.append((f"{at}/options", f"{len(options)} select options (limit 25)"))
        for k, option in enumerate(options):
            for key in ("label", "value", "description"):
                issues += _too_long(
                    option.get(key), 100, f"{at}/options/{k}/{key}", f"option {key}"
                )
    for key in ("components", "items"):
        for k, child in enumerate(component.get(key) or []):
            if isinstance(child, dict):
                issues += _component_issues(child, f"{at}/{key}/{k}", seen)
    for key in ("component", "accessory"):
        child = component.get(key)
        if isinstance(child, dict):
            issues += _component_issues(child, f"{at}/{key}", seen)
    return issues


def component_issues(components: Any, *, v2: bool, base: str = "/components") -> list[Issue]:
    issues: list[Issue] = []
    if not isinstance(components, list):
        return issues
    if not v2 and len(components) > 5:
        issues.append((base, f"{len(components)} action rows (limit 5)"))
    seen: set[str] = set()
    for i, row in enumerate(components):
        if not isinstance(row, dict):
            continue
        at = f"{base}/{i}"
        if not v2:
            if row.get("type") != 1:
                issues.append((at, "top-level component is not an action row"))
            children = row.get("components") or []
            if len(children) > 5:
                issues.append(
                    (f"{at}/components", f"{len(children)} components in a row (limit 5)")
                )
            if any(c.get("type") != 2 for c in children) and len(children) > 1:
                issues.append((f"{at}/components", "a select menu must be alone in its row"))
        issues += _component_issues(row, at, seen)
    return issues


def message_issues(body: Any, *, creating: bool, has_files: bool = False) -> list[Issue]:
    """Limits Discord enforces on message bodies (content, embeds, components)."""
    if not isinstance(body, dict):
        return []
    issues: list[Issue] = list(_too_long(body.get("content"), 2000, "/content", "content"))
    issues += embed_issues(body.get("embeds"))
    v2 = bool(int(body.get("flags") or 0) & (1 << 15))
    issues += component_issues(body.get("components"), v2=v2)
    if creating and not (
        body.get("content")
        or body.get("embeds")
        or body.get("components")
        or body.get("attachments")
        or body.get("poll")
        or body.get("sticker_ids")
        or has_files
    ):
        issues.append(("", "Cannot send an empty message"))
    return issues


def autocomplete_issues(data: Any) -> list[Issue]:
    issues: list[Issue] = []
    choices = (data or {}).get("choices") or []
    if len(choices) > 25:
        issues.append(("/data/choices", f"{len(choices)} choices (limit 25)"))
    for i, choice in enumerate(choices):
        name = choice.get("name") if isinstance(choice, dict) else None
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            issues.append((f"/data/choices/{i}/name", "choice name must be 1-100 characters"))
        value = choice.get("value") if isinstance(choice, dict) else None
        issues += _too_long(value, 100, f"/data/choices/{i}/value", "choice value")
    return issues


def modal_issues(data: Any) -> list[Issue]:
    issues: list[Issue] = []
    if not isinstance(data, dict):
        return [("/data", "modal without data")]
    title = data.get("title")
    if not isinstance(title, str) or not 1 <= len(title) <= 45:
        issues.append(("/data/title", f"modal title must be 1-45 characters, got {_short(title)}"))
    issues += _too_long(data.get("custom_id"), 100, "/data/custom_id", "custom_id")
    components = data.get("components") or []
    if not 1 <= len(components) <= 5:
        issues.append(("/data/components", f"{len(components)} modal components (need 1-5)"))
    seen: set[str] = set()
    for i, component in enumerate(components):
        at = f"/data/components/{i}"
        inner = (
            [component.get("component")]
            if component.get("type") == 18
            else component.get("components") or []
        )
        if component.get("type") == 18:
            issues += _too_long(component.get("label"), 45, f"{at}/label", "label")
        for child in inner:
            if isinstance(child, dict) and child.get("type") == 4:
                issues += _too_long(child.get("label"), 45, f"{at}/label", "text input label")
                issues += _too_long(
                    child.get("placeholder"), 100, f"{at}/placeholder", "placeholder"
                )
                issues += _too_long(child.get("value"), 4000, f"{at}/value", "text input value")
        issues += _component_issues(component, at, seen)
    return issues


def callback_issues(body: Any) -> list[Issue]:
    """Limits on an interaction callback body, by callback type."""
    if not isinstance(body, dict):
        return []
    kind = body.get("type")
    data = body.get("data")
    if kind in (4, 7) and isinstance(data, dict):
        return [("/data" + p, m) for p, m in message_issues(data, creating=kind == 4)]
    if kind == 8:
        return autocomplete_issues(data)
    if kind == 9:
        return modal_issues(data)
    return []
