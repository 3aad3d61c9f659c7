"""What each person is told: in the app (a list with an unread count) and, when SMTP is set, by e-mail.

Notifications are derived from the audit log (`flows/notifications.py` follows it), never written
by the domains themselves: every event worth telling someone about is already appended there, in
the same transaction as the change it records, so following the log tells exactly what happened
— nothing the domains forgot to announce, nothing announced that then rolled back.
"""
