"""Credit for UMKM (issue #15): who consented to what (:mod:`city.credit.consent`), and the
score and health report built only for merchants who did."""
