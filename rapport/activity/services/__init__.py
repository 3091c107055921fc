"""Every write of the activity area: interactions, participants, tasks, notifications."""
