"""Settings of merchant accounts (``MSC_ACCOUNTS_*``): session lifetimes, throttling, password hashing.

The defaults follow OWASP ASVS chapter 3 (sessions) and RFC 9106's second recommended argon2id
profile (t=3, 64 MiB, p=4: what argon2-cffi ships as ``RFC_9106_LOW_MEMORY``). Raising the hash
parameters is safe at any time: a stored hash made with older ones is re-made at the user's next
successful sign-in.
"""

from __future__ import annotations

from pydantic import Field

from common.settings import EnvSettings


class AccountSettings(EnvSettings):
    """How merchant users sign in and how long they stay signed in.

    Attributes:
        session_absolute_seconds: A session ends this long after sign-in, whatever its use.
        session_idle_seconds: A session ends after this long without a request.
        invitation_seconds: How long an invitation can be accepted.
        min_password_length: Shortest password accepted (NIST SP 800-63B asks at least 8).
        free_failures: Failed sign-ins of one account allowed before any wait.
        address_free_failures: Failed sign-ins from one client address before any wait.
        backoff_base_seconds: First wait; each further failure doubles it.
        backoff_max_seconds: Longest wait of the backoff.
        lockout_failures: Failures of one account after which it is locked.
        address_lockout_failures: Failures from one client address after which it is locked.
        lockout_seconds: How long a lockout lasts.
        argon2_time_cost, argon2_memory_kib, argon2_parallelism: argon2id parameters.
        recovery_codes: How many recovery codes an enrolment gives.
    """

    env_prefix = "MSC_ACCOUNTS_"

    session_absolute_seconds: int = Field(default=12 * 3600, gt=0)
    session_idle_seconds: int = Field(default=30 * 60, gt=0)
    invitation_seconds: int = Field(default=7 * 86400, gt=0)
    min_password_length: int = Field(default=10, ge=8)
    free_failures: int = Field(default=3, ge=1)
    address_free_failures: int = Field(default=10, ge=1)
    backoff_base_seconds: int = Field(default=1, gt=0)
    backoff_max_seconds: int = Field(default=15 * 60, gt=0)
    lockout_failures: int = Field(default=10, ge=2)
    address_lockout_failures: int = Field(default=50, ge=2)
    lockout_seconds: int = Field(default=3600, gt=0)
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)
    recovery_codes: int = Field(default=10, ge=1, le=20)
