"""Merchant users of the portal: roles per merchant, invitations, passwords, sessions, second factor.

The domain the merchant portal's pages stand on; the pages themselves only call
:class:`accounts.service.AccountService` and never see a password hash, a session id in clear
after it was handed out, a TOTP secret after enrolment, or a recovery code after it was shown once.
"""
