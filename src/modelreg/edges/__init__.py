"""The bottom layer: every process, service and file modelreg reaches outside Python."""
