"""An approvals report as text (a terminal), Markdown (a PR's job summary) or GitHub annotations;
JSON is ``to_dict``."""

from __future__ import annotations

import re

from modelreg.approvals.rules import ApprovalReport, Received, RequirementOutcome
from modelreg.formats.text import escaped

# A handle in a job summary or PR comment would notify its owner; in a code span it does not.
_HANDLE = re.compile(r"(?<![\w`])@[A-Za-z0-9][A-Za-z0-9_.-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)?")


def text(report: ApprovalReport) -> str:
    lines = []
    for outcome in report.outcomes:
        lines.append(_line(outcome))
        lines += [f"    - {_one_line(note)}" for note in outcome.decision.notes]
    lines.append(summary(report))
    return "\n".join(lines)


def summary(report: ApprovalReport) -> str:
    head = f"head {report.head_sha[:7]}"
    if not report.outcomes:
        return f"✓ no alias move in this pull request needs approval ({head})"
    failed = sum(not o.ok for o in report.outcomes)
    total = len(report.outcomes)
    plural = "s" if total != 1 else ""
    if failed:
        return f"✗ {failed} of {total} approval requirement{plural} not met ({head})"
    return f"✓ {total} approval requirement{plural} met ({head})"


def markdown(report: ApprovalReport) -> str:
    out = [f"## modelreg approvals: {'passed' if report.passed else 'failed'}", "",
           _md(summary(report)), ""]
    if report.outcomes:
        out += ["| | model | alias | change | policy | required | received from | missing |",
                "| --- | --- | --- | --- | --- | --- | --- | ---: |"]
        for o in report.outcomes:
            r, d = o.requirement, o.decision
            received = ", ".join(_md_received(x) for x in d.received) or "—"
            out.append(f"| {'✅' if o.ok else '❌'} | {_md(r.model)} | {_md(r.alias)} | {_md(r.change)} | "
                       f"{_md(r.policy)} | {_md(r.rule.describe())} | {received} | {d.missing} |")
    noted = [o for o in report.outcomes if o.decision.notes]
    if noted:
        out += ["", "### Reviews that did not count", ""]
        for o in noted:
            out += [f"- **{_md(o.requirement.model)} {_md(o.requirement.alias)}**: {_md(note)}"
                    for note in o.decision.notes]
    return "\n".join(out) + "\n"


def github_annotations(report: ApprovalReport) -> list[str]:
    """A GitHub workflow command per unmet requirement: an error on the pull request's checks."""
    return [annotation(_line(o) + "".join(f"; {note}" for note in o.decision.notes))
            for o in report.outcomes if not o.ok]


def annotation(message: str) -> str:
    """``message`` as one ``::error`` workflow command of the approval check."""
    data = _one_line(message).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return f"::error title=modelreg approvals::{data}"


def failure_markdown(message: str) -> str:
    """The job summary when the approvals could not be checked: GitHub's API failed."""
    return ("## modelreg approvals: failed\n\n"
            f"✗ the approvals could not be checked, so the check fails: {_md(message)}\n")


def _line(outcome: RequirementOutcome) -> str:
    r, d = outcome.requirement, outcome.decision
    mark = "✓" if outcome.ok else "✗"
    got = f"{len(d.received)} of {d.required} approvals ({r.rule.describe()})"
    who = ", ".join(_received(x) for x in d.received)
    missing = f"; {d.missing} missing" if d.missing else ""
    return _one_line(f"{mark} {r.model} {r.alias} {r.change} (policy {r.policy}): {got}"
                     f"{': ' + who if who else ''}{missing}")


def _received(r: Received) -> str:
    return f"@{r.login} via {r.via}" + (f" at {r.at}" if r.at else "")


def _md_received(r: Received) -> str:
    return _md(_received(r))


def _one_line(value: str) -> str:
    # Logins and handles come from GitHub and pull requests: a newline could start a line of its
    # own in a CI log (a ::workflow-command), so every line stays one line.
    return " ".join(value.splitlines())


def _md(value: str) -> str:
    value = escaped(_one_line(value)).replace("`", "'").replace("|", "\\|")
    return _HANDLE.sub(lambda m: f"`{m.group(0)}`", value)
