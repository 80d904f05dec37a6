"""The run: the composition root that opens a run the same way for behave, the scripts and the tests
(`composition`), one scenario as behave runs it (`scenario`), what a run killed half-way left (`leftovers`), and
make acceptance's whole run, kept for make test (`kept`)."""
