"""The fuzzer (make fuzz): Schemathesis against the deployment's OpenAPI document, then the money check."""
