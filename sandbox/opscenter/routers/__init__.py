"""One router per resource of docs/contract.md; each turns HTTP into calls of the business classes."""
