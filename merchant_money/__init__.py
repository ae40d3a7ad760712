"""A merchant's money outside the payments themselves: the bank account its Rupiah payouts go to
(with every change kept), notices to its owners, what it holds (in escrow and released), and the
portal's ways to take MSC out of a platform-managed wallet (redeem, export, rotate).

Domain code only: the portal's pages (``portal/pages/money.py``) and the API call into it.
"""
