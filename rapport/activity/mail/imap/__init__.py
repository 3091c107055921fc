"""IMAP mailbox sync: each user connects their own mailboxes, and a background duty
brings new mail from the chosen folders into the one mail intake.

- ``passwords``: the mailbox passwords, encrypted at rest with a key from the environment.
- ``connection``: opening a session, and every way that fails, in words.
- ``services``: adding, changing, removing and testing mailboxes; asking for a sync.
- ``sync``: the sync itself, resumable per folder, with the reconcile step.
- ``tasks``: the periodic duty and the background task.
- ``commands``: what ``rapport mail sync [MAILBOX]`` runs.
"""
