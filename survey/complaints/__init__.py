"""Anonymous complaints: the policy, the form, receipts and follow-up, and the investigators' side."""
