"""The model's policy, honoured by serve: ``artifact.code_execution`` (``policies/weights.py``).

``--trust-pickle`` is the user's word that they trust whoever produced a pickle; a policy
that refuses code execution outranks it, and one that asks for a scan has the very bytes
about to be loaded scanned first (a version registered before the rule was set is caught here).
"""

from __future__ import annotations

from modelreg.api import Registry
from modelreg.errors import InputError, ModelregError
from modelreg.policies.weights import SAFE_FORMATS, Rule, at, judge
from modelreg.read.catalog import ModelVersion
from modelreg.serve.loaders import RUNS_CODE


def rule_for(reg: Registry, mv: ModelVersion) -> Rule:
    """The code rule of the policy that governs ``mv``'s model in the registry now."""
    return at(reg.catalog.snapshot, mv.model, mv.data)


def check_format(rule: Rule, fmt: str, what: str) -> None:
    """Refuse, before a byte is read, a format that runs code where the policy refuses it."""
    if rule.mode == "refuse" and fmt in RUNS_CODE:
        raise InputError(f"{what} is a {fmt} file, which runs code when loaded, and {rule.named()} "
                         "refuses that (--trust-pickle does not override a policy)",
                         fix=f"register the model as {SAFE_FORMATS}")


def check_bytes(rule: Rule, data: bytes, name: str, what: str) -> None:
    """Under ``scan``, the bytes about to be loaded are scanned; any problem refuses them."""
    if not rule.scans:
        return
    from modelreg.edges import weights  # picklescan, only when a policy asks

    try:
        found = weights.inspect_bytes(data, name, scan=True)
    except weights.ScannerMissing:
        raise ModelregError(f"{what}: {rule.named()} needs picklescan to scan the artifact before it is "
                            "loaded, and it is not installed", fix=weights.EXTRA) from None
    problems = judge(rule, found)
    if problems:
        raise InputError(f"{what}: {problems[0].message}; it was not loaded", fix=problems[0].fix)
