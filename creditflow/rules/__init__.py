"""What the contract's rules mean, apart from any deployment: money conservation from the payment (`money`), the
API-call quota's period (`quota`), and what makes a stored key encrypted (`keys_at_rest`)."""
