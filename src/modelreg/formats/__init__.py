"""The registry's file formats: names, strict YAML, the models and their schemas, snapshots."""
