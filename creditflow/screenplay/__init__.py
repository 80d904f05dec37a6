"""The screenplay: actors with abilities (`actors`) perform tasks (`tasks/`) and ask questions (`questions/`) on
a scene (`scene`) that the run's services equip (`services`); `phrases` turns the Gherkin's words into them."""
