"""A check report as text (a terminal), Markdown (a PR's job summary), JSON, or GitHub annotations."""

from __future__ import annotations

import json

from modelreg.checks import CheckReport
from modelreg.checks.results import Comparison, Finding, one_line
from modelreg.formats.text import escaped


def text(report: CheckReport) -> str:
    lines = [str(f) for f in report.findings]
    lines += [one_line(f"verified: {line}") for line in report.verified]
    lines += [one_line(f"note: {note}") for note in report.notes]
    lines.append(_summary(report))
    return "\n".join(lines)


def as_json(report: CheckReport) -> str:
    return json.dumps(report.to_dict(), indent=2, default=str)


def _summary(report: CheckReport) -> str:
    failed = [name for name, r in report.results.items() if r.findings]
    base = f"base {report.base_ref} at {(report.base_commit or '')[:12]}"
    scope = ", ".join([*(f"{m} v{n}" for m, n in report.new_versions),
                       *(f"{m} (model.yaml)" for m in report.changed_models)]) or "no registry change"
    if failed:
        count = len(report.findings)
        plural = "s" if count != 1 else ""
        return f"✗ {count} finding{plural} in {', '.join(failed)} ({scope}; {base})"
    return f"✓ all {len(report.results)} gates passed ({scope}; {base})"


def markdown(report: CheckReport) -> str:
    out = [f"## modelreg check: {'passed' if report.passed else 'failed'}", "", _summary(report), "",
           "| gate | result | findings |", "| --- | --- | --- |"]
    for name, result in report.results.items():
        out.append(f"| {name} | {'✅ pass' if not result.findings else '❌ fail'} | {len(result.findings)} |")
    if report.findings:
        out += ["", "### Findings", ""]
        out += [f"- {_md_finding(f)}" for f in report.findings]
    if report.verified:
        out += ["", "### Verified", ""]
        out += [f"- {_escape(line)}" for line in report.verified]
    if report.notes:
        out += ["", "### Not checked", ""]
        out += [f"- {_escape(note)}" for note in report.notes]
    for comparison in report.comparisons:
        out += ["", *_md_comparison(comparison)]
    return "\n".join(out) + "\n"


def _md_finding(f: Finding) -> str:
    where = f"`{_escape(f.file)}{f':{f.line}' if f.line else ''}`" if f.file else ""
    field = f" `{_escape(f.field)}`" if f.field else ""
    fix = f" — {f.fix}" if f.fix else ""
    return f"**{f.gate}** {where}{field}: {_escape(f.message)}{_escape(fix)}"


def _md_comparison(c: Comparison) -> list[str]:
    current = f"{c.against} (v{c.current})" if c.current is not None else f"{c.against} (none yet)"
    policy = f" — policy `{c.policy}`" if c.policy else ""
    head = [f"### {c.model} v{c.version} vs {_escape(current)}{policy}", "",
            f"| metric | {current} | candidate v{c.version} | delta | threshold | verdict |",
            "| --- | ---: | ---: | ---: | --- | --- |"]
    for row in c.rows:
        verdict = "—" if row.ok is None else ("✅" if row.ok else "❌")
        delta = f"{row.delta:+.4g}" if row.delta is not None else "—"
        head.append(f"| {_escape(row.metric)} | {_num(row.current)} | {_num(row.candidate)} | {delta} | "
                    f"{_escape(row.rule)} | {verdict} |")
    return head


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


def _escape(text: str) -> str:
    return escaped(one_line(text)).replace("|", "\\|").replace("`", "'")


def github_annotations(report: CheckReport) -> list[str]:
    """GitHub workflow commands that put each finding on the PR's diff."""
    out = []
    for f in report.findings:
        props = ",".join(p for p in (f"file={_prop(f.file)}" if f.file else "",
                                     f"line={f.line}" if f.line else "",
                                     f"title=modelreg {f.gate}") if p)
        message = f"{f.field + ': ' if f.field else ''}{f.message}{'; ' + f.fix if f.fix else ''}"
        out.append(f"::error {props}::{_data(message)}")
    return out


def _data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(value: str) -> str:
    return _data(value).replace(":", "%3A").replace(",", "%2C")
