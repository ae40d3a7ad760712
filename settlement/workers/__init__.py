"""Settlement work as tasks: Celery workers over Redis at scale, an in-process runner by default.

Every step of a payment (approve, verify and complete, mint, release) and of a payout is a task
that takes ids, reloads its rows and is safe to run twice or to be killed mid-way: the database
row in its status is the durable record of pending work, the queue only a hint of when to do it,
and a periodic sweep re-enqueues whatever a lost message or a dead worker left behind.
"""
