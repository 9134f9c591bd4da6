"""One hierarchy of errors; the CLI maps them to exit codes in one place.

Every error renders as one line. Errors about a file name the file, the line
when known, the field, and the fix, so a user can act without reading code.
"""

from __future__ import annotations

from typing import Any


class ModelregError(Exception):
    """Base of every error modelreg raises on purpose (exit code 1)."""

    exit_code = 1

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message}; {self.fix}" if self.fix else self.message


class InputError(ModelregError, ValueError):
    """A file or argument is malformed: wrong type, bad name, hostile YAML."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        fix: str | None = None,
    ) -> None:
        where = ""
        if file:
            where = f"{file}:{line}: " if line else f"{file}: "
        what = f"{field}: " if field else ""
        super().__init__(f"{where}{what}{message}", fix=fix)
        self.detail = message
        self.file = file
        self.line = line
        self.field = field


class NotFoundError(ModelregError, LookupError):
    """A model, version, alias, revision or file does not exist."""


class NotARegistryError(NotFoundError):
    """The directory is not a modelreg registry."""


class GitError(ModelregError):
    """A git command failed; the message carries the command and its stderr."""


class IntegrityError(ModelregError):
    """An artifact's bytes do not match the hashes its manifest records."""


class ConflictError(ModelregError):
    """The work tree is not in a state the command can act on."""


class ServiceError(ModelregError):
    """A service modelreg depends on failed or could not be reached: GitHub's API, the DVC remote
    (exit code 4); never treated as a pass."""

    exit_code = 4


class RemoteError(ServiceError):
    """The DVC remote could not be reached, or refused a transfer (exit code 4). An object missing
    from a remote that answered is a :class:`NotFoundError` (exit code 1)."""


class GateError(ModelregError):
    """A change was refused by the gates CI would run; nothing was written (exit code 1)."""

    def __init__(self, findings: list[Any]) -> None:
        count = len(findings)
        first = str(findings[0]) if findings else ""
        more = f" (and {count - 1} more finding{'s' if count > 2 else ''})" if count > 1 else ""
        super().__init__(f"refused by the gates: {first}{more}", fix="nothing was written")
        self.findings = findings
