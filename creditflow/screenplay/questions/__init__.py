"""What actors find out, as small classes grouped by subject: each has `answered_by(actor)`
(creditflow.screenplay.actors.Question), and changes nothing."""
