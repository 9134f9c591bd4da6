"""Notifications: alias moves and deployment outcomes, told to webhooks and Slack.

``modelreg.yaml``::

    notify:
      - {type: webhook, url: "https://hooks.example.com/modelreg", secret_env: MODELREG_NOTIFY_SECRET}
      - {type: slack, url: "https://hooks.slack.com/services/T0/B0/XXXX"}

An event is a JSON object with an ``event`` name; the deploy job sends
``modelreg.move`` (an alias moved: ``model``, ``alias``, ``before``, ``after``,
``commit``, ``pr``, ``approvers``) and ``modelreg.deployment`` (its outcome in
an environment: the same keys plus ``environment``, ``outcome``, ``message``,
``targets``), the ledger's records as they are.

- ``type: webhook`` POSTs the event as it is, with the webhook target's headers
  and signature (:func:`modelreg.deploy.targets.webhook.deliver`).
- ``type: slack`` POSTs ``{"text": ...}``, a one-line summary in Slack's
  incoming-webhook format (Mattermost and Rocket.Chat read it too); signed as
  well when ``secret_env`` is set.

Each delivery ends within :data:`TIMEOUT` per attempt and :data:`TOTAL` in all,
however slowly the receiver answers. A notification that fails never fails a
deployment: :func:`notify` returns every delivery's :class:`TargetOutcome`,
failures included, for the record, and raises nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelreg.deploy.targets import TargetOutcome
from modelreg.deploy.targets.webhook import BASE_DELAY, deliver, display_url
from modelreg.formats import models

#: fewer and shorter than a target's: a dead chat service must not hold up the deploy job
RETRIES = 2
TIMEOUT = 10.0
#: every attempt and wait of one notification together
TOTAL = 30.0
_ICONS = {"succeeded": ":white_check_mark:", "failed": ":x:", "refused": ":no_entry:",
          "unchanged": ":heavy_minus_sign:"}


def notify(notifications: list[models.Notification], event: Mapping[str, Any], *,
           base_delay: float = BASE_DELAY) -> list[TargetOutcome]:
    """Deliver ``event`` to every notification; one TargetOutcome each, in order."""
    outcomes = []
    name = str(event.get("event") or "modelreg.event")
    for notification in notifications:
        target = f"notify {notification.type} {display_url(notification.url)}"
        payload = {"text": slack_text(event)} if notification.type == "slack" else event
        try:
            outcome = deliver(notification.url, payload, target=target, event=name,
                              secret_env=notification.secret_env, retries=RETRIES, timeout=TIMEOUT,
                              total=TOTAL, base_delay=base_delay)
        except Exception as exc:  # a bug here must still not fail a deployment already live
            outcome = TargetOutcome(False, target, f"internal error: {type(exc).__name__}: {exc}")
        outcomes.append(outcome)
    return outcomes


def slack_text(event: Mapping[str, Any]) -> str:
    """A one-line summary of ``event`` in Slack's markup (``&``, ``<``, ``>`` escaped)."""
    kind = str(event.get("event") or "").removeprefix("modelreg.")
    model, alias = event.get("model", "?"), event.get("alias")
    before, after = event.get("before"), event.get("after")
    if kind == "move":
        if after is None:
            change = f"removed (was v{before})"
        else:
            change = f"v{before} → v{after}" if before is not None else f"set to v{after}"
        text = f"*{model}*: `{alias}` {change}"
    elif kind == "deployment":
        outcome = str(event.get("outcome") or "?")
        where = event.get("environment") or alias
        version = f"v{after}" if after is not None else "(alias removed)"
        text = f"{_ICONS.get(outcome, '')} *{model}* {version} in `{where}` ({alias}): {outcome}".lstrip()
        if event.get("message"):
            text += f" — {event['message']}"
    else:
        version = event.get("version", after)
        text = f"{event.get('event', 'modelreg')}: *{model}*"
        if version is not None:
            text += f" v{version}"
        if alias:
            text += f" ({alias})"
    extras = []
    if event.get("pr"):
        extras.append(f"PR #{event['pr']}")
    if isinstance(event.get("commit"), str) and event["commit"]:
        extras.append(f"commit {event['commit'][:7]}")
    if extras:
        text += f" [{', '.join(extras)}]"
    return _escape(text)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
