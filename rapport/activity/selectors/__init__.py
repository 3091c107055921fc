"""Every non-trivial read of the activity area; each takes the actor."""
