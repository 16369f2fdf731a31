"""The ATS intake: signed webhooks from applicant tracking systems (generic, Greenhouse, Lever)
turned into `ApplicationStatusChanged` events, and the applications that matched no referral."""
