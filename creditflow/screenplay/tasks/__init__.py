"""What actors do, as small classes grouped by subject: each has `perform_as(actor)` (screenplay.actors.Task)."""
