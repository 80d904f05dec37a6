"""The run: the composition root that opens a run the same way for behave, the scripts and the tests
(`composition`), one scenario as behave runs it (`scenario`), and what a run killed half-way left (`leftovers`)."""
