"""What a scenario's result means: its verdict from the first failed step (`judge`), the books after it
(`invariants`), failures grouped by cause (`findings`), and a deployment's known results (`expectations`)."""
