"""Trigger point injection reimbursement estimator: Medicare PFS, ASP, OPPS/ASC and payer contracts."""

__version__ = "0.1.0"
