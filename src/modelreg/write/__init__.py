"""Changes to a registry: register, init, desired-state transitions, CODEOWNERS, workflows."""
